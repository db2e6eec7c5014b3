//go:build !windows

package service

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	"testing"
	"time"
)

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
