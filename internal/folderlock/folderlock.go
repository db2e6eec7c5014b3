// Package folderlock keeps a second DataFileDownloadDirectory off an output
// folder that one is already using: two programs sharing the state folder
// would each finish, journal and publish the other's files. The lock is
// the operating system's (flock on Linux, LockFileEx on Windows) on a file
// in the state folder, so a crashed or killed program holds it no longer.
package folderlock

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/openmsi/datafiledownloaddirectory/internal/about"
)

// FileName is the lock file in the state folder. It stays after the
// program ends: removing it would let a third program lock a new file
// while a second still waits on the old one.
const FileName = "lock"

// timeLayout is how the holder's start time is written and shown.
const timeLayout = "2006-01-02 15:04:05 -0700"

// errLocked is what lockFile returns when another open file holds the lock.
var errLocked = errors.New("locked")

// Lock is held from Acquire until Release or the end of the process.
type Lock struct {
	f *os.File
}

// InUseError says that another program holds the folder.
type InUseError struct {
	OutputDir string
	// PID and Started come from the lock file; PID is 0 when the holder
	// had not written them yet.
	PID     int
	Started time.Time
}

func (e *InUseError) Error() string {
	if e.PID == 0 {
		return fmt.Sprintf("another %s is using %s (it has only just started); stop it first, or give this one another output folder", about.Name, e.OutputDir)
	}
	return fmt.Sprintf("another %s (pid %d, started %s) is using %s; stop it first, or give this one another output folder",
		about.Name, e.PID, e.Started.Format(timeLayout), e.OutputDir)
}

// Acquire locks stateDir (created if missing) for this process, or returns
// an *InUseError naming the program that holds it. outputDir is only for
// the message.
func Acquire(stateDir, outputDir string) (*Lock, error) {
	if err := os.MkdirAll(stateDir, 0o755); err != nil {
		return nil, fmt.Errorf("cannot create the state folder: %w", err)
	}
	path := filepath.Join(stateDir, FileName)
	// Read-only, though it is locked for the whole run: Linux refuses to
	// remount a filesystem read-only while a file on it is open for
	// writing, and a lab may need to (the disk tests do). The lock needs
	// no write access. It is created through a handle of its own: Go on
	// Windows opens for writing whatever it opens with O_CREATE.
	cf, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("cannot open the lock file: %w", err)
	}
	cf.Close()
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot open the lock file: %w", err)
	}
	if err := lockFile(f); err != nil {
		defer f.Close()
		if errors.Is(err, errLocked) {
			return nil, holder(f, outputDir)
		}
		return nil, fmt.Errorf("cannot lock %s: %w", path, err)
	}
	// Who holds the lock, for the next program's message, written through
	// a handle of its own that is closed at once. A failed write leaves
	// the lock held all the same; that message is only poorer.
	info := fmt.Sprintf("pid %d\nstarted %s\n", os.Getpid(), time.Now().Format(timeLayout))
	_ = os.WriteFile(path, []byte(info), 0o644)
	return &Lock{f: f}, nil
}

// holder reads who holds the lock from the lock file.
func holder(f *os.File, outputDir string) *InUseError {
	e := &InUseError{OutputDir: outputDir}
	b := make([]byte, 256)
	n, _ := f.ReadAt(b, 0)
	for _, line := range strings.Split(string(b[:n]), "\n") {
		key, value, _ := strings.Cut(line, " ")
		switch key {
		case "pid":
			e.PID, _ = strconv.Atoi(value)
		case "started":
			e.Started, _ = time.Parse(timeLayout, value)
		}
	}
	if e.Started.IsZero() {
		e.PID = 0
	}
	return e
}

// Release gives the folder up.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := unlockFile(l.f)
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	l.f = nil
	return err
}
