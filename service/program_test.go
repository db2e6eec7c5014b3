package service

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/openmsi/datafiledownloaddirectory/download"
)

func quietLog() *logrus.Entry {
	l := logrus.New()
	l.Out = io.Discard
	return logrus.NewEntry(l)
}

func TestStopCancelsAndWaits(t *testing.T) {
	cleaned := make(chan struct{})
	p := NewProgram(func(ctx context.Context) error {
		<-ctx.Done()
		time.Sleep(50 * time.Millisecond) // a commit on the way out
		close(cleaned)
		return nil
	}, 5*time.Second, quietLog())
	if err := p.Stop(nil); err != nil {
		t.Fatalf("stop before start: %v", err)
	}
	if err := p.Start(nil); err != nil {
		t.Fatal(err)
	}
	if err := p.Start(nil); err == nil {
		t.Error("a second start was accepted")
	}
	if err := p.Stop(nil); err != nil {
		t.Fatal(err)
	}
	select {
	case <-cleaned:
	default:
		t.Fatal("Stop returned before the job finished")
	}
	if err := p.Stop(nil); err != nil {
		t.Errorf("second stop: %v", err)
	}
	if p.endedAlone() {
		t.Error("a stopped job counts as ended alone")
	}
}

func TestStopIsBounded(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	p := NewProgram(func(context.Context) error { <-release; return nil }, 100*time.Millisecond, quietLog())
	_ = p.Start(nil)
	start := time.Now()
	if err := p.Stop(nil); !errors.Is(err, ErrStopTimeout) {
		t.Errorf("stop of a stuck job: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("stop took %v", d)
	}
}

// TestRunEndsWhenJobFails: a job that fails by itself ends Run with its
// error, so that the process exits non-zero and the service manager
// restarts it.
func TestRunEndsWhenJobFails(t *testing.T) {
	boom := errors.New("broker config rejected")
	p := NewProgram(func(context.Context) error { return boom }, time.Second, quietLog())
	done := make(chan error, 1)
	go func() { done <- Run(Config{Name: "dfdd-test"}, p) }()
	select {
	case err := <-done:
		if !errors.Is(err, boom) {
			t.Errorf("Run returned %v, want the job's error", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not end after the job failed")
	}

	p = NewProgram(func(context.Context) error { return nil }, time.Second, quietLog())
	if err := Run(Config{Name: "dfdd-test"}, p); err == nil {
		t.Error("a job that ended alone without an error gave a clean Run")
	}
}

func TestStatusFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), StatusFileName)
	if _, err := ReadStatusFile(path); !IsNotExist(err) {
		t.Errorf("missing file: %v", err)
	}
	n := int64(0)
	status := func() download.Status {
		n++
		return download.Status{MessagesRead: n, InProgress: []download.FileProgress{{Path: "a/b.dat", ChunksReceived: 1, ChunksTotal: 3}}}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	var reports []error
	go func() {
		defer close(done)
		KeepStatusFile(ctx, path, "labdl", 10*time.Millisecond, status, func(err error) { reports = append(reports, err) })
	}()
	deadline := time.Now().Add(5 * time.Second)
	for {
		r, err := ReadStatusFile(path)
		if err == nil && r.Status.MessagesRead >= 3 {
			if r.Service != "labdl" || r.PID != os.Getpid() || r.Stopped || len(r.Status.InProgress) != 1 {
				t.Errorf("status file: %+v", r)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("status file not refreshed: %+v, %v", r, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	r, err := ReadStatusFile(path)
	if err != nil || !r.Stopped {
		t.Errorf("final status file: %+v, %v", r, err)
	}
	if len(reports) != 0 {
		t.Errorf("failures reported: %v", reports)
	}

	// A folder that cannot take the file: one report, not one per refresh.
	bad := filepath.Join(t.TempDir(), "missing", StatusFileName)
	ctx, cancel = context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	reports = nil
	KeepStatusFile(ctx, bad, "labdl", 5*time.Millisecond, status, func(err error) { reports = append(reports, err) })
	if len(reports) != 1 || reports[0] == nil {
		t.Errorf("reports for an unwritable status file: %v", reports)
	}
}

// TestStatusFileWhileRead: on Windows a reader holding the status file
// (the status verb, which reads as Go opens files: without
// FILE_SHARE_DELETE) makes replacing it fail; the writer waits the moment
// out instead of reporting the status file unwritable.
func TestStatusFileWhileRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), StatusFileName)
	if err := WriteStatusFile(path, StatusReport{Service: "labdl"}); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	time.AfterFunc(200*time.Millisecond, func() { f.Close() })
	if err := WriteStatusFile(path, StatusReport{Service: "labdl", PID: 7}); err != nil {
		t.Fatalf("replacing the status file while it was read: %v", err)
	}
	if r, err := ReadStatusFile(path); err != nil || r.PID != 7 {
		t.Fatalf("status file %+v, %v", r, err)
	}
}
