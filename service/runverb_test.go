package service

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/openmsi/datafiledownloaddirectory/download"
	"github.com/openmsi/datafiledownloaddirectory/internal/about"
	"github.com/openmsi/datafiledownloaddirectory/options"
	"github.com/openmsi/datafiledownloaddirectory/session"
	"github.com/openmsi/datafiledownloaddirectory/test/testkit"
)

// fakeDownloader stands for *download.Downloader: job decides how Run
// behaves; started is closed when Run begins.
type fakeDownloader struct {
	job     func(ctx context.Context) error
	started chan struct{}
}

func (f *fakeDownloader) Run(ctx context.Context) error {
	close(f.started)
	return f.job(ctx)
}

func (f *fakeDownloader) Status() download.Status {
	return download.Status{Start: time.Now(), MessagesRead: 7, MessagesProcessed: 6, FilesCompleted: 1}
}

// runHarness drives the run verb as a service manager would: start, then a
// stop request, with a fake downloader.
type runHarness struct {
	t       *testing.T
	dir     string
	config  string
	fake    *fakeDownloader
	stdout  *testkit.LockedBuffer
	env     RunEnv
	stopReq chan struct{}
}

func newRunHarness(t *testing.T, job func(context.Context) error) *runHarness {
	dir := t.TempDir()
	// The run verb moves into the output folder, as a service should; the
	// test's working folder comes back before the folder is removed,
	// which Windows refuses for a process's working folder.
	t.Chdir(".")
	h := &runHarness{
		t:       t,
		dir:     dir,
		config:  filepath.Join(dir, "lab.config"),
		fake:    &fakeDownloader{job: job, started: make(chan struct{})},
		stdout:  &testkit.LockedBuffer{},
		stopReq: make(chan struct{}),
	}
	if err := os.WriteFile(h.config, []byte("[broker]\nbootstrap.servers = localhost:9092\n[consumer]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	h.env = RunEnv{
		Session: session.Env{
			NewDownloader: func(download.Config, *logrus.Entry) (session.Downloader, error) { return h.fake, nil },
			LookupEnv:     func(string) (string, bool) { return "", false },
			// No broker listens: the last telemetry is given up at once.
			ShutdownTimeout:       5 * time.Second,
			TelemetryFlushTimeout: 100 * time.Millisecond,
		},
		RunService: func(_ Config, p *Program) error {
			if err := p.Start(nil); err != nil {
				return err
			}
			select {
			case <-h.stopReq:
				return p.Stop(nil)
			case <-p.Done():
				return p.Err()
			}
		},
	}
	return h
}

func (h *runHarness) out() string { return filepath.Join(h.dir, "out") }

func (h *runHarness) start(args ...string) <-chan int {
	code := make(chan int, 1)
	go func() { code <- RunVerb(args, h.stdout, h.stdout, h.env) }()
	return code
}

func (h *runHarness) wait(code <-chan int) int {
	h.t.Helper()
	select {
	case c := <-code:
		return c
	case <-time.After(10 * time.Second):
		h.t.Fatalf("the run verb did not return\n%s", h.stdout)
		return -1
	}
}

func TestRunVerbServiceMode(t *testing.T) {
	h := newRunHarness(t, func(ctx context.Context) error { <-ctx.Done(); return nil })
	logDir := filepath.Join(h.dir, "logs")
	if err := os.Mkdir(logDir, 0o755); err != nil {
		t.Fatal(err)
	}
	code := h.start(h.out(), "--config", h.config, "--topic_name", "test", "--service_name", "labdl", "--update_seconds", "1", "--logger_file_path", logDir)
	select {
	case <-h.fake.started:
	case <-time.After(10 * time.Second):
		t.Fatalf("the downloader was not started\n%s", h.stdout)
	}
	statusPath := filepath.Join(h.out(), download.StateDirName, StatusFileName)
	testkit.WaitUntil(t, 10*time.Second, "the status file is written", func() bool { _, err := ReadStatusFile(statusPath); return err == nil })
	// No dots are printed: nobody is there.
	time.Sleep(1500 * time.Millisecond)
	select {
	case c := <-code:
		t.Fatalf("the service stopped on its own (exit %d)\n%s", c, h.stdout)
	default:
	}
	close(h.stopReq)
	if c := h.wait(code); c != options.ExitOK {
		t.Fatalf("exit %d\n%s", c, h.stdout)
	}
	out := h.stdout.String()
	if strings.Contains(out, "Ctrl+C") {
		t.Errorf("a service stop mentions Ctrl+C:\n%s", out)
	}
	if strings.Contains(out, "\n.\n") || strings.HasPrefix(out, ".") {
		t.Errorf("dots printed in service mode:\n%s", out)
	}
	for _, want := range []string{"Running as service labdl", "] Stop requested by the service manager: stopping\n", "shut down", "7 total messages were consumed"} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout (the journal) lacks %q:\n%s", want, out)
		}
	}
	logged, err := os.ReadFile(filepath.Join(logDir, about.Name+".log"))
	if err != nil || !strings.Contains(string(logged), "INFO: Running as service labdl") {
		t.Errorf("log file at info level by default in service mode: %v\n%s", err, logged)
	}
	r, err := ReadStatusFile(statusPath)
	if err != nil || !r.Stopped || r.Status.MessagesRead != 7 || r.Service != "labdl" {
		t.Errorf("final status file %+v: %v", r, err)
	}
}

func TestRunVerbFailureExits1(t *testing.T) {
	h := newRunHarness(t, func(context.Context) error { return errors.New("topic t does not exist") })
	code := h.wait(h.start(h.out(), "--config", h.config, "--topic_name", "test", "--logger_file_path", filepath.Join(h.dir, "x.log")))
	if code != options.ExitFailure || !strings.Contains(h.stdout.String(), "topic t does not exist") {
		t.Errorf("exit %d\n%s", code, h.stdout)
	}
}
