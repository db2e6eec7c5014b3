// Package testkit holds the helpers that tests of several packages share,
// so that none of them is written twice: a buffer that goroutines write
// while the test reads it, and waiting for a condition with a bound.
package testkit

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"testing"
	"time"
)

// LockedBuffer is written by the program's goroutines and read by the
// test.
type LockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *LockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *LockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Reset empties the buffer.
func (l *LockedBuffer) Reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.Reset()
}

// WaitUntil polls cond until it holds, and fails the test when it does not
// within timeout.
func WaitUntil(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting until %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Symlink makes a symbolic link, or skips the test with the reason where
// the system makes none (see MakeSymlink).
func Symlink(t testing.TB, target, link string) {
	t.Helper()
	if err := MakeSymlink(target, link); err != nil {
		t.Skip(err)
	}
}

// MakeSymlink makes a symbolic link and checks that it is there: Windows
// makes none without the right to (developer mode or an administrator),
// and wine's CreateSymbolicLinkW reports success and makes none.
func MakeSymlink(target, link string) error {
	if err := os.Symlink(target, link); err != nil {
		return fmt.Errorf("this system cannot make symbolic links here: %w", err)
	}
	if st, err := os.Lstat(link); err != nil || st.Mode()&fs.ModeSymlink == 0 {
		return fmt.Errorf("the system reported a symbolic link made, but there is none at %s (wine makes none)", link)
	}
	return nil
}
