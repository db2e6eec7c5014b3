package download

// Helpers for the tests in this package that run a whole Downloader
// against the real broker and read its log.

import (
	"context"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/openmsi/datafiledownloaddirectory/download/storage"
	"github.com/openmsi/datafiledownloaddirectory/test/kafkatest"
	"github.com/openmsi/datafiledownloaddirectory/test/testkit"
)

// loggedRun is a Downloader running in the background of a test, its log
// kept at debug level for the test to read and shown if the test fails.
type loggedRun struct {
	d      *Downloader
	logged *testkit.LockedBuffer
	done   chan struct{} // closed when Run has returned err
	err    error
	stop   context.CancelFunc
}

// startLogged runs a Downloader with one consumer on topic and group,
// writing to out, until the test ends; Run must then return within 30 s.
func startLogged(t *testing.T, out, topic, group string, static bool) *loggedRun {
	t.Helper()
	return startLoggedFS(t, out, topic, group, static, nil)
}

// startLoggedFS is startLogged with the storage engine's file operations
// wrapped (storage.Faults).
func startLoggedFS(t *testing.T, out, topic, group string, static bool, wrap func(storage.FS) storage.FS) *loggedRun {
	t.Helper()
	r := &loggedRun{logged: &testkit.LockedBuffer{}, done: make(chan struct{})}
	logger := logrus.New()
	logger.SetLevel(logrus.DebugLevel)
	logger.SetOutput(r.logged)
	var err error
	r.d, err = New(Config{
		OutputDir:        out,
		Topic:            topic,
		Consumers:        1,
		GroupID:          group,
		StaticMembership: static,
		Kafka: map[string]string{
			"bootstrap.servers":  kafkatest.Bootstrap(),
			"auto.offset.reset":  "earliest",
			"session.timeout.ms": "6000",
		},
		CommitInterval: 200 * time.Millisecond,
		wrapFS:         wrap,
	}, logrus.NewEntry(logger))
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	r.stop = stop
	go func() {
		r.err = r.d.Run(ctx)
		close(r.done)
	}()
	t.Cleanup(func() {
		stop()
		select {
		case <-r.done:
		case <-time.After(30 * time.Second):
			t.Error("Run did not return within 30 s of cancellation")
		}
		if t.Failed() {
			t.Logf("downloader log:\n%s", r.logged.String())
		}
	})
	return r
}

// running fails the test if Run has returned.
func (r *loggedRun) running(t *testing.T) {
	t.Helper()
	select {
	case <-r.done:
		t.Fatalf("the downloader stopped: %v", r.err)
	default:
	}
}

// WaitFor polls until cond holds or the deadline passes. Exported for the
// package's external tests, in a test file only.
func WaitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
