package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/openmsi/datafiledownloaddirectory/download"
)

// StatusFileName is the file, in the output folder's state folder, where a
// running service keeps its progress for the status verb: a service has no
// console to type "check" into.
const StatusFileName = "status.json"

// StatusInterval is how often a running service refreshes its status file.
const StatusInterval = 5 * time.Second

// StatusReport is the content of the status file.
type StatusReport struct {
	Service string          `json:"service"`
	PID     int             `json:"pid"`
	Updated time.Time       `json:"updated"`
	Stopped bool            `json:"stopped"` // written once at a clean stop
	Status  download.Status `json:"status"`
}

// WriteStatusFile replaces the status file atomically, so that a reader
// never sees half of it.
func WriteStatusFile(path string, r StatusReport) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encode status: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".status-*.tmp")
	if err != nil {
		return fmt.Errorf("write status file: %w", err)
	}
	_, err = tmp.Write(b)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		// Readable by an operator without privileges, like the log: it
		// holds counts and file names, no secrets.
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err == nil {
		err = replace(tmp.Name(), path)
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("write status file %s: %w", path, err)
	}
	return nil
}

// replace renames tmp over path. On Windows a reader that has path open
// (the status verb; Go opens files without FILE_SHARE_DELETE) makes the
// rename fail with "Access denied" for as long as it reads, a moment: try
// again for a while before calling it a failure.
func replace(tmp, path string) error {
	err := os.Rename(tmp, path)
	for i := 0; err != nil && runtime.GOOS == "windows" && errors.Is(err, fs.ErrPermission) && i < 50; i++ {
		time.Sleep(20 * time.Millisecond)
		err = os.Rename(tmp, path)
	}
	return err
}

// ReadStatusFile reads a status file; a missing one gives an error that
// wraps fs.ErrNotExist.
func ReadStatusFile(path string) (StatusReport, error) {
	var r StatusReport
	b, err := os.ReadFile(path)
	if err != nil {
		return r, err
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return r, fmt.Errorf("status file %s is damaged: %w", path, err)
	}
	return r, nil
}

// KeepStatusFile writes status() to path every interval until ctx is
// cancelled, then once more marked as stopped. Failures are reported
// through report only when they change, so a full disk gives one line.
func KeepStatusFile(ctx context.Context, path, name string, interval time.Duration, status func() download.Status, report func(error)) {
	var lastErr error
	write := func(stopped bool) {
		err := WriteStatusFile(path, StatusReport{
			Service: name, PID: os.Getpid(), Updated: time.Now(), Stopped: stopped, Status: status(),
		})
		if (err == nil) != (lastErr == nil) {
			report(err)
		}
		lastErr = err
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		write(false)
		select {
		case <-ctx.Done():
			write(true)
			return
		case <-t.C:
		}
	}
}

// IsNotExist tells whether err means a missing status file.
func IsNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }
