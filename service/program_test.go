package service

import (
	"context"
	"errors"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
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

// TestRunStopsOnSIGTERM drives Run as systemd or a supervisor does: SIGTERM
// is the stop request, and Run returns nil after the job's clean stop.
func TestRunStopsOnSIGTERM(t *testing.T) {
	// Caught here too, so that a signal sent before Run listens cannot kill
	// the test binary; it is sent again until Run ends.
	guard := make(chan os.Signal, 16)
	signal.Notify(guard, syscall.SIGTERM)
	defer signal.Stop(guard)

	started := make(chan struct{})
	stopped := false
	p := NewProgram(func(ctx context.Context) error {
		close(started)
		<-ctx.Done()
		stopped = true
		return nil
	}, 5*time.Second, quietLog())
	done := make(chan error, 1)
	go func() { done <- Run(Config{Name: "dfdd-test"}, p) }()
	<-started
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(10 * time.Second)
	for {
		if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run after SIGTERM: %v", err)
			}
			if !stopped {
				t.Error("the job's context was not cancelled")
			}
			return
		case <-tick.C:
		case <-deadline:
			t.Fatal("Run did not end on SIGTERM")
		}
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
