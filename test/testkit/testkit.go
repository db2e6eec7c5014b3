// Package testkit holds the helpers that tests of several packages share,
// so that none of them is written twice: a buffer that goroutines write
// while the test reads it, waiting for a condition with a bound, skipping
// for a missing prerequisite (or failing under DFDD_REQUIRE_ALL=1), and
// the program under test. The Kafka broker's helpers are in
// test/kafkatest.
package testkit

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
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

// RequireAllEnv names the variable that turns every skip for a missing
// prerequisite (root, a tool, the broker, Python's OpenMSIStream) into a
// failure. `make test` sets it, so that CI cannot stay green by skipping.
const RequireAllEnv = "DFDD_REQUIRE_ALL"

// Need skips t because of what is missing, or fails it when
// DFDD_REQUIRE_ALL=1.
func Need(t testing.TB, missing string) {
	t.Helper()
	if os.Getenv(RequireAllEnv) == "1" {
		t.Fatalf("%s, and %s=1 does not allow skipping", missing, RequireAllEnv)
	}
	t.Skip(missing)
}

// FindRepoRoot is the folder holding go.mod, found from the working
// folder (which go test sets to the package's own).
func FindRepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working folder")
		}
		dir = parent
	}
}

// RepoRoot is FindRepoRoot for a test, which fails without one.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := FindRepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// Binary returns the program under test: $DFDD_BINARY (which `make test`
// sets to the program it built), or one built once per test binary.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		if p := os.Getenv("DFDD_BINARY"); p != "" {
			binPath = p
			return
		}
		dir, err := os.MkdirTemp("", "dfdd-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "DataFileDownloadDirectory")
		if runtime.GOOS == "windows" {
			binPath += ".exe" // or exec would not find it
		}
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/DataFileDownloadDirectory")
		cmd.Dir = RepoRoot(t)
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
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
