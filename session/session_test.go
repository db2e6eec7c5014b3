package session

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/openmsi/datafiledownloaddirectory/download"
	"github.com/openmsi/datafiledownloaddirectory/logsetup"
	"github.com/openmsi/datafiledownloaddirectory/options"
	"github.com/openmsi/datafiledownloaddirectory/test/testkit"
)

// fakeDownloader stands for *download.Downloader. run decides how Run
// behaves once started; started is closed when Run begins.
type fakeDownloader struct {
	cfg     download.Config
	run     func(ctx context.Context) error
	started chan struct{}
}

func (f *fakeDownloader) Run(ctx context.Context) error {
	close(f.started)
	return f.run(ctx)
}

func (f *fakeDownloader) Status() download.Status {
	return download.Status{
		Start:             time.Date(2026, 4, 8, 17, 37, 45, 0, time.Local),
		MessagesRead:      7,
		MessagesProcessed: 6,
		FilesCompleted:    1,
		RecentlyCompleted: []string{"sub/a.dat"},
	}
}

// cleanStop is a downloader that stops as soon as it is asked to.
func cleanStop(ctx context.Context) error {
	<-ctx.Done()
	return nil
}

type harness struct {
	t       *testing.T
	dir     string
	config  string
	sigs    chan os.Signal
	fake    *fakeDownloader
	stdout  *testkit.LockedBuffer
	stderr  *testkit.LockedBuffer
	env     Env
	newErr  error
	created bool
}

func newHarness(t *testing.T, run func(context.Context) error) *harness {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "lab.config")
	if err := os.WriteFile(cfg, []byte("[broker]\nbootstrap.servers = localhost:9092\n[consumer]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	h := &harness{
		t:      t,
		dir:    dir,
		config: cfg,
		sigs:   make(chan os.Signal, 2),
		fake:   &fakeDownloader{run: run, started: make(chan struct{})},
		stdout: &testkit.LockedBuffer{},
		stderr: &testkit.LockedBuffer{},
	}
	h.env = Env{
		Notify: func() (<-chan os.Signal, func()) { return h.sigs, func() {} },
		NewDownloader: func(cfg download.Config, _ *logrus.Entry) (Downloader, error) {
			if h.newErr != nil {
				return nil, h.newErr
			}
			h.created = true
			h.fake.cfg = cfg
			return h.fake, nil
		},
		LookupEnv:       func(string) (string, bool) { return "", false },
		ShutdownTimeout: 5 * time.Second,
		// No broker listens: the last messages are given up at once.
		TelemetryFlushTimeout: 100 * time.Millisecond,
	}
	return h
}

// start runs the program in the background and returns its exit status
// channel.
func (h *harness) start(stdin io.Reader, args ...string) <-chan int {
	code := make(chan int, 1)
	go func() {
		code <- Console(context.Background(), args, stdin, h.stdout, h.stderr, h.env)
	}()
	return code
}

func (h *harness) wait(code <-chan int) int {
	h.t.Helper()
	select {
	case c := <-code:
		return c
	case <-time.After(10 * time.Second):
		h.t.Fatalf("the program did not exit\nstdout:\n%s\nstderr:\n%s", h.stdout, h.stderr)
		return -1
	}
}

func (h *harness) waitStarted() {
	h.t.Helper()
	select {
	case <-h.fake.started:
	case <-time.After(10 * time.Second):
		h.t.Fatalf("the downloader was not started\nstderr:\n%s", h.stderr)
	}
}

func (h *harness) out() string { return filepath.Join(h.dir, "out") }

func TestHelpAndVersion(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"--help"}, {"-h"}, {"out", "--help"}, {"--n_threads", "0", "-h"}} {
		h := newHarness(t, cleanStop)
		if code := h.wait(h.start(nil, args...)); code != options.ExitOK {
			t.Errorf("%q: exit %d", args, code)
		}
		help := h.stdout.String()
		if !strings.HasPrefix(help, options.Usage) || h.stderr.String() != "" {
			t.Errorf("%q: stdout %q, stderr %q", args, help, h.stderr)
		}
	}

	h := newHarness(t, cleanStop)
	if code := h.wait(h.start(nil, "--version")); code != options.ExitOK {
		t.Errorf("--version: exit %d", code)
	}
	v := h.stdout.String()
	if !regexp.MustCompile(`^DataFileDownloadDirectory dev \(commit \w+\)\nGo 1\.\d+.* \w+/\w+\nlibrdkafka \d+\.\d+\.\d+.*\n$`).MatchString(v) {
		t.Errorf("--version printed %q", v)
	}
}

func TestUsageErrorsExit2(t *testing.T) {
	t.Parallel()
	tests := [][]string{
		{},
		{"--config", "x", "--topic_name", "test"},
		{"out", "--bogus"},
		{"out", "--n_threads", "0"},
		{"out", "--n_threads", "many"},
		{"out", "--update_seconds", "1.5"},
		{"out", "--logger_stream_level", "loud"},
		{"out", "--logger_file_level", "-1"},
		{"out", "--download_regex", "("},
		{"out", "--topic_name", "bad topic"},
		{"a", "b"},
		{"out", "--config"},
	}
	for _, args := range tests {
		h := newHarness(t, cleanStop)
		code := h.wait(h.start(nil, args...))
		if code != options.ExitUsage {
			t.Errorf("%q: exit %d, want %d", args, code, options.ExitUsage)
		}
		errOut := h.stderr.String()
		if !strings.HasPrefix(errOut, options.Usage) || !strings.Contains(errOut, "DataFileDownloadDirectory: error: ") {
			t.Errorf("%q: stderr lacks usage or reason:\n%s", args, errOut)
		}
		if h.stdout.String() != "" || h.created {
			t.Errorf("%q: nothing should run or be printed on stdout", args)
		}
	}
}

func TestOutputFolderCreated(t *testing.T) {
	t.Parallel()
	h := newHarness(t, cleanStop)
	out := filepath.Join(h.dir, "a", "b", "out")
	code := h.start(strings.NewReader("q\n"), out, "--config", h.config, "--topic_name", "test")
	if c := h.wait(code); c != options.ExitOK {
		t.Fatalf("exit %d\n%s", c, h.stderr)
	}
	if fi, err := os.Stat(out); err != nil || !fi.IsDir() {
		t.Fatalf("output folder not created: %v", err)
	}
	if h.fake.cfg.OutputDir != out || !filepath.IsAbs(h.fake.cfg.OutputDir) {
		t.Errorf("OutputDir %q", h.fake.cfg.OutputDir)
	}
	log := filepath.Join(out, ".datafiledownloaddirectory", "DataFileDownloadDirectory.log")
	if _, err := os.Stat(log); err != nil {
		t.Errorf("default log file: %v", err)
	}
}

func TestOutputFolderRelativeMadeAbsolute(t *testing.T) {
	h := newHarness(t, cleanStop)
	t.Chdir(h.dir)
	if c := h.wait(h.start(strings.NewReader("q\n"), "rel", "--config", h.config, "--topic_name", "test")); c != options.ExitOK {
		t.Fatalf("exit %d\n%s", c, h.stderr)
	}
	if want := filepath.Join(h.dir, "rel"); h.fake.cfg.OutputDir != want {
		t.Errorf("OutputDir %q, want %q", h.fake.cfg.OutputDir, want)
	}
}

func TestSetupErrorsExit2(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args func(h *harness) []string
		want string
	}{
		{"output folder is a file", func(h *harness) []string {
			f := filepath.Join(h.dir, "file")
			os.WriteFile(f, nil, 0o644)
			return []string{f, "--config", h.config, "--topic_name", "test"}
		}, "cannot create the output folder"},
		{"output folder below a file", func(h *harness) []string {
			f := filepath.Join(h.dir, "file")
			os.WriteFile(f, nil, 0o644)
			return []string{filepath.Join(f, "out"), "--config", h.config, "--topic_name", "test"}
		}, "cannot create the output folder"},
		{"log file below a file", func(h *harness) []string {
			f := filepath.Join(h.dir, "file")
			os.WriteFile(f, nil, 0o644)
			return []string{h.out(), "--config", h.config, "--topic_name", "test", "--logger_file_path", filepath.Join(f, "x.log")}
		}, "cannot write the log file"},
		{"missing config file", func(h *harness) []string {
			return []string{h.out(), "--config", filepath.Join(h.dir, "nope.config"), "--topic_name", "test"}
		}, "nope.config"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, cleanStop)
			if c := h.wait(h.start(nil, tt.args(h)...)); c != options.ExitUsage {
				t.Errorf("exit %d, want %d", c, options.ExitUsage)
			}
			if !strings.Contains(h.stderr.String(), tt.want) {
				t.Errorf("stderr does not say %q:\n%s", tt.want, h.stderr)
			}
			if h.created {
				t.Error("the downloader should not be created")
			}
		})
	}
}

func TestDownloaderNewFailsExit1(t *testing.T) {
	t.Parallel()
	h := newHarness(t, cleanStop)
	h.newErr = errors.New("state folder unreadable")
	if c := h.wait(h.start(nil, h.out(), "--config", h.config, "--topic_name", "test")); c != options.ExitFailure {
		t.Errorf("exit %d, want %d", c, options.ExitFailure)
	}
	if !strings.Contains(h.stderr.String(), "ERROR: cannot start: state folder unreadable") {
		t.Errorf("stderr:\n%s", h.stderr)
	}
}

func TestQuitTyped(t *testing.T) {
	t.Parallel()
	for _, cmd := range []string{"quit\n", "q\n", "  QUIT \r\n", "check\nq\n"} {
		h := newHarness(t, cleanStop)
		code := h.start(strings.NewReader(cmd), h.out(), "--config", h.config, "--topic_name", "xrd", "--n_threads", "3")
		if c := h.wait(code); c != options.ExitOK {
			t.Errorf("%q: exit %d\n%s", cmd, c, h.stderr)
		}
		errOut := h.stderr.String()
		for _, want := range []string{
			"] Listening for files to reconstruct in " + h.out() + "\n",
			"] Will reconstruct files from messages in the xrd topic using 3 threads\n",
			"] Quit requested: shutting down\n",
			"] File reconstructor writing to " + h.out() + " shut down\n",
		} {
			if !strings.Contains(errOut, want) {
				t.Errorf("%q: stderr lacks %q:\n%s", cmd, want, errOut)
			}
		}
		if out := h.stdout.String(); !strings.Contains(out, "7 total messages were consumed, 6 messages were successfully processed, and 1 file was successfully reconstructed from 2026-04-08 17:37:45 to ") ||
			!strings.HasSuffix(out, "\nMost recent completed files (up to 50):\n\tsub/a.dat\n") {
			t.Errorf("%q: summary missing:\n%s", cmd, h.stdout)
		}
		if h.fake.cfg.Topic != "xrd" || h.fake.cfg.Consumers != 3 || h.fake.cfg.CommitInterval != 0 {
			t.Errorf("config %+v", h.fake.cfg)
		}
	}
}

func TestOneThreadWording(t *testing.T) {
	t.Parallel()
	h := newHarness(t, cleanStop)
	if c := h.wait(h.start(strings.NewReader("q\n"), h.out(), "--config", h.config, "--topic_name", "test", "--n_threads", "1")); c != options.ExitOK {
		t.Fatalf("exit %d", c)
	}
	if !strings.Contains(h.stderr.String(), "in the test topic using 1 thread\n") {
		t.Errorf("stderr:\n%s", h.stderr)
	}
}

func TestSignalStopsCleanly(t *testing.T) {
	t.Parallel()
	for _, sig := range []os.Signal{os.Interrupt, syscall.SIGTERM} {
		h := newHarness(t, cleanStop)
		pr, pw := io.Pipe()
		defer pw.Close()
		code := h.start(pr, h.out(), "--config", h.config, "--topic_name", "test")
		h.waitStarted()
		h.sigs <- sig
		if c := h.wait(code); c != options.ExitOK {
			t.Errorf("%v: exit %d", sig, c)
		}
		want := map[os.Signal]string{
			os.Interrupt:    "] Received SIGINT (Ctrl+C): stopping (press Ctrl+C again to exit at once)\n",
			syscall.SIGTERM: "] Received SIGTERM: stopping\n",
		}[sig]
		if !strings.Contains(h.stderr.String(), want) {
			t.Errorf("%v: stderr lacks %q:\n%s", sig, want, h.stderr)
		}
		if !strings.Contains(h.stdout.String(), "total messages were consumed") {
			t.Errorf("%v: no summary", sig)
		}
	}
}

func TestSecondSignalForcesExit(t *testing.T) {
	t.Parallel()
	stuck := make(chan struct{})
	defer close(stuck)
	h := newHarness(t, func(context.Context) error { <-stuck; return nil })
	code := h.start(nil, h.out(), "--config", h.config, "--topic_name", "test")
	h.waitStarted()
	h.sigs <- os.Interrupt
	h.sigs <- os.Interrupt
	if c := h.wait(code); c != options.ExitFailure {
		t.Errorf("exit %d, want %d", c, options.ExitFailure)
	}
	if !strings.Contains(h.stderr.String(), "ERROR: Received SIGINT again: exiting at once") {
		t.Errorf("stderr:\n%s", h.stderr)
	}
}

func TestShutdownIsBounded(t *testing.T) {
	t.Parallel()
	stuck := make(chan struct{})
	defer close(stuck)
	h := newHarness(t, func(context.Context) error { <-stuck; return nil })
	h.env.ShutdownTimeout = 50 * time.Millisecond
	code := h.start(strings.NewReader("q\n"), h.out(), "--config", h.config, "--topic_name", "test")
	if c := h.wait(code); c != options.ExitFailure {
		t.Errorf("exit %d, want %d", c, options.ExitFailure)
	}
	if !strings.Contains(h.stderr.String(), "ERROR: The download did not stop within 50ms") {
		t.Errorf("stderr:\n%s", h.stderr)
	}
}

func TestRunErrorExit1(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(context.Context) error { return errors.New("disk on fire") })
	pr, pw := io.Pipe()
	defer pw.Close()
	if c := h.wait(h.start(pr, h.out(), "--config", h.config, "--topic_name", "test")); c != options.ExitFailure {
		t.Errorf("exit %d, want %d", c, options.ExitFailure)
	}
	if !strings.Contains(h.stderr.String(), "ERROR: Stopped because of an error: disk on fire") {
		t.Errorf("stderr:\n%s", h.stderr)
	}
	if !strings.Contains(h.stdout.String(), "total messages were consumed") {
		t.Error("the summary is printed also after an error")
	}
}

func TestParentContextStops(t *testing.T) {
	t.Parallel()
	h := newHarness(t, cleanStop)
	ctx, cancel := context.WithCancel(context.Background())
	code := make(chan int, 1)
	go func() {
		code <- Console(ctx, []string{h.out(), "--config", h.config, "--topic_name", "test"}, nil, h.stdout, h.stderr, h.env)
	}()
	h.waitStarted()
	cancel()
	if c := h.wait(code); c != options.ExitOK {
		t.Errorf("exit %d", c)
	}
}

func TestClosedStdinKeepsRunning(t *testing.T) {
	t.Parallel()
	h := newHarness(t, cleanStop)
	code := h.start(strings.NewReader(""), h.out(), "--config", h.config, "--topic_name", "test", "--update_seconds", "-1")
	h.waitStarted()
	select {
	case c := <-code:
		t.Fatalf("exited with %d at end of input", c)
	case <-time.After(50 * time.Millisecond):
	}
	h.sigs <- syscall.SIGTERM
	if c := h.wait(code); c != options.ExitOK {
		t.Errorf("exit %d", c)
	}
}

func TestGroupID(t *testing.T) {
	t.Parallel()
	fresh := regexp.MustCompile(`^DataFileDownloadDirectory_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	tests := []struct {
		name       string
		args       []string
		fromConfig string
		want       string // "" means a fresh id
	}{
		{"default", nil, "", ""},
		{"config", nil, "lab_group", "lab_group"},
		{"config create_new", nil, "CREATE_NEW", ""},
		{"explicit wins over config", []string{"--consumer_group_id", "mine"}, "lab_group", "mine"},
		{"explicit create_new wins over config", []string{"--consumer_group_id", "create_new"}, "lab_group", ""},
		{"explicit without config", []string{"--consumer-group-id", "mine"}, "", "mine"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts, err := options.ParseArgs(append([]string{"out", "--config", "c", "--topic_name", "t"}, tt.args...))
			if err != nil {
				t.Fatal(err)
			}
			var logs bytes.Buffer
			s := &Session{opts: opts, Log: logsetup.New(&logs, logrus.InfoLevel, nil, 0)}
			got := s.groupID(tt.fromConfig)
			switch {
			case tt.want == "" && !fresh.MatchString(got):
				t.Errorf("got %q, want a fresh id", got)
			case tt.want == "" && !strings.Contains(logs.String(), "Consumer group id: "+got+" (pass --consumer_group_id "+got+" to resume from this point)\n"):
				t.Errorf("fresh id not logged for reuse:\n%s", logs.String())
			case tt.want != "" && got != tt.want:
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
	opts, _ := options.ParseArgs([]string{"out", "--config", "c", "--topic_name", "t"})
	s := &Session{opts: opts, Log: logsetup.New(io.Discard, logrus.InfoLevel, nil, 0)}
	if a, b := s.groupID(""), s.groupID(""); a == b {
		t.Error("create_new must give a new id each time")
	}
}

func TestLogFileLevels(t *testing.T) {
	t.Parallel()
	h := newHarness(t, cleanStop)
	logPath := filepath.Join(h.dir, "logs", "run.log")
	code := h.start(strings.NewReader("q\n"), h.out(), "--config", h.config, "--topic_name", "test",
		"--logger_file_path", logPath, "--logger_file_level", "debug", "--logger_stream_level", "error")
	if c := h.wait(code); c != options.ExitOK {
		t.Fatalf("exit %d\n%s", c, h.stderr)
	}
	if s := h.stderr.String(); s != "" {
		t.Errorf("stream at error level shows info lines:\n%s", s)
	}
	b, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "] INFO: Listening for files to reconstruct in ") ||
		!strings.Contains(string(b), "] DEBUG: Kafka consumer settings from the config file: ") {
		t.Errorf("log file:\n%s", b)
	}
	if _, err := os.Stat(filepath.Join(h.out(), ".datafiledownloaddirectory", "DataFileDownloadDirectory.log")); err == nil {
		t.Error("no default log file when --logger_file_path is given")
	}
}

func TestDotsGoToStdout(t *testing.T) {
	t.Parallel()
	h := newHarness(t, cleanStop)
	pr, pw := io.Pipe()
	defer pw.Close()
	// --update_seconds counts whole seconds; one dot is worth the wait.
	code := h.start(pr, h.out(), "--config", h.config, "--topic_name", "test", "--update_seconds", "1")
	deadline := time.After(10 * time.Second)
	for !strings.HasPrefix(h.stdout.String(), ".\n") {
		select {
		case <-deadline:
			t.Fatal("no dot")
		case <-time.After(20 * time.Millisecond):
		}
	}
	h.sigs <- os.Interrupt
	if c := h.wait(code); c != options.ExitOK {
		t.Errorf("exit %d", c)
	}
}

func TestConfigErrorsExit2(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		config string // "" means no file at all
		want   []string
	}{
		{"missing file", "", []string{"nope.config"}},
		{"no broker section", "[consumer]\nauto.offset.reset = earliest\n", []string{"[broker]"}},
		{"no consumer section", "[broker]\nbootstrap.servers = localhost:9092\n", []string{"no [consumer] section", "group.id"}},
		{"kafkacrypto node missing", "[broker]\nbootstrap.servers = localhost:9092\n[consumer]\n[kafkacrypto]\nnode_id = x\n",
			[]string{"no KafkaCrypto node \"x\"", filepath.Join("x", "x.config")}},
		{"unset variable", "[broker]\nbootstrap.servers = $DFDD_TEST_SURELY_UNSET\n", []string{"DFDD_TEST_SURELY_UNSET"}},
		{"unknown librdkafka keys", "[broker]\nbootstrap.servers = localhost:9092\n[consumer]\nno.such.key = 1\nalso.wrong = 2\n",
			[]string{"no.such.key", "also.wrong"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, cleanStop)
			path := filepath.Join(h.dir, "nope.config")
			if tt.config != "" {
				path = filepath.Join(h.dir, "bad.config")
				if err := os.WriteFile(path, []byte(tt.config), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if c := h.wait(h.start(nil, h.out(), "--config", path, "--topic_name", "test")); c != options.ExitUsage {
				t.Errorf("exit %d, want %d", c, options.ExitUsage)
			}
			errOut := h.stderr.String()
			for _, w := range tt.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr does not mention %q:\n%s", w, errOut)
				}
			}
			if !strings.Contains(errOut, "] ERROR: ") {
				t.Errorf("not logged as an error:\n%s", errOut)
			}
			if h.created {
				t.Error("the downloader should not be created")
			}
			// The log file records why a service did not start.
			b, _ := os.ReadFile(filepath.Join(h.out(), ".datafiledownloaddirectory", "DataFileDownloadDirectory.log"))
			if !strings.Contains(string(b), tt.want[0]) {
				t.Errorf("log file does not mention %q:\n%s", tt.want[0], b)
			}
		})
	}
}

func TestConfigSettingsReachTheDownloader(t *testing.T) {
	t.Parallel()
	h := newHarness(t, cleanStop)
	cfg := filepath.Join(h.dir, "lab.config")
	const secret = "hunter2-very-secret"
	content := "[broker]\nbootstrap.servers = localhost:9092\nsasl.password = " + secret + "\nsasl.username = u\nsecurity.protocol = SASL_PLAINTEXT\nsasl.mechanism = PLAIN\n" +
		"[consumer]\ngroup.id = lab_group\nenable.auto.commit = True\nauto.offset.reset = earliest\n"
	if err := os.WriteFile(cfg, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	code := h.start(strings.NewReader("q\n"), h.out(), "--config", cfg, "--topic_name", "test", "--logger_stream_level", "debug", "--logger_file_level", "debug",
		"--download_regex", `a/`)
	if c := h.wait(code); c != options.ExitOK {
		t.Fatalf("exit %d\n%s", c, h.stderr)
	}
	got := h.fake.cfg
	if got.GroupID != "lab_group" {
		t.Errorf("GroupID %q, want the config file's", got.GroupID)
	}
	if got.Kafka["bootstrap.servers"] != "localhost:9092" || got.Kafka["auto.offset.reset"] != "earliest" || got.Kafka["sasl.password"] != secret {
		t.Errorf("Kafka settings %v", got.Kafka)
	}
	if got.Regex == nil || !got.Regex.MatchString("a/b") || got.Regex.MatchString("b/a/") {
		t.Errorf("Regex %v", got.Regex)
	}
	errOut := h.stderr.String()
	if n := strings.Count(errOut, "enable.auto.commit in the config file was overridden"); n != 1 {
		t.Errorf("%d override lines, want 1:\n%s", n, errOut)
	}
	if !strings.Contains(errOut, "Consumer group id: lab_group\n") {
		t.Errorf("group id not logged:\n%s", errOut)
	}
	logFile, _ := os.ReadFile(filepath.Join(h.out(), ".datafiledownloaddirectory", "DataFileDownloadDirectory.log"))
	for what, text := range map[string]string{"stderr": errOut, "stdout": h.stdout.String(), "log file": string(logFile)} {
		if strings.Contains(text, secret) {
			t.Errorf("the password appears in %s", what)
		}
	}
	if !strings.Contains(errOut, "sasl.username=u") {
		t.Errorf("settings not logged at debug:\n%s", errOut)
	}
}

func TestNoAutoCommitLineWhenNotAsked(t *testing.T) {
	t.Parallel()
	h := newHarness(t, cleanStop)
	if c := h.wait(h.start(strings.NewReader("q\n"), h.out(), "--config", h.config, "--topic_name", "test")); c != options.ExitOK {
		t.Fatalf("exit %d\n%s", c, h.stderr)
	}
	if strings.Contains(h.stderr.String(), "enable.auto.commit") {
		t.Errorf("stderr:\n%s", h.stderr)
	}
}

func TestProgramID(t *testing.T) {
	t.Parallel()
	host, err := os.Hostname()
	if err != nil {
		testkit.Need(t, "no host name: "+err.Error())
	}
	for _, tc := range []struct{ given, service, want string }{
		{"lab-pc-3", "", "lab-pc-3"},
		{"lab-pc-3", "xrd", "lab-pc-3"},
		{"", "", host},
		{"", "xrd", host + "_xrd"},
	} {
		if got := ProgramID(tc.given, tc.service); got != tc.want {
			t.Errorf("ProgramID(%q, %q) = %q, want %q", tc.given, tc.service, got, tc.want)
		}
	}
}

func TestTelemetrySettings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, config string
		args         []string
		code         int
		want         string
	}{
		{"heartbeat merged over broker", "[broker]\nbootstrap.servers = localhost:9092\n[consumer]\n[heartbeat]\nlinger.ms = 5\nkey.serializer = StringSerializer\n",
			[]string{"--heartbeat_topic_name", "hb", "--heartbeat_interval_secs", "30", "--heartbeat_program_id", "pc"}, options.ExitOK,
			"Heartbeat messages will be produced to the 'hb' topic every 30 seconds with the key pc_heartbeat"},
		{"log without section", "[broker]\nbootstrap.servers = localhost:9092\n[consumer]\n",
			[]string{"--log_topic_name", "lg"}, options.ExitOK, "Log messages will be produced to the 'lg' topic every 60 seconds"},
		{"bad log setting", "[broker]\nbootstrap.servers = localhost:9092\n[consumer]\n[log]\nlinger.ms = soon\n",
			[]string{"--log_topic_name", "lg"}, options.ExitUsage, "producer of the log topic lg"},
		{"secret not shown", "[broker]\nbootstrap.servers = localhost:9092\n[consumer]\n[heartbeat]\nbootstrap.servers = other:9093\nsasl.password = hunter2\nsecurity.protocol = carrier_pigeon\n",
			[]string{"--heartbeat_topic_name", "hb", "--logger_stream_level", "debug"}, options.ExitUsage, "heartbeat topic hb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, cleanStop)
			if err := os.WriteFile(h.config, []byte(tt.config), 0o644); err != nil {
				t.Fatal(err)
			}
			args := append([]string{h.out(), "--config", h.config, "--topic_name", "test"}, tt.args...)
			if c := h.wait(h.start(strings.NewReader("q\n"), args...)); c != tt.code {
				t.Errorf("exit %d, want %d\n%s", c, tt.code, h.stderr)
			}
			if !strings.Contains(h.stderr.String(), tt.want) {
				t.Errorf("stderr does not say %q:\n%s", tt.want, h.stderr)
			}
			if strings.Contains(h.stderr.String(), "hunter2") {
				t.Errorf("secret in the output:\n%s", h.stderr)
			}
			if tt.code != options.ExitOK && h.created {
				t.Error("the downloader should not be created")
			}
		})
	}
}

func TestFreshGroupFromNewestSaysSo(t *testing.T) {
	t.Parallel()
	const line = "This new consumer group starts at the newest message"
	for _, tc := range []struct {
		name, consumer string
		args           []string
		want           int
	}{
		{"create_new, librdkafka's default", "", nil, 1},
		{"create_new, latest", "auto.offset.reset = latest\n", nil, 1},
		{"create_new, earliest", "auto.offset.reset = earliest\n", nil, 0},
		{"create_new, smallest", "auto.offset.reset = smallest\n", nil, 0},
		{"fixed group", "group.id = lab\n", nil, 0},
		{"fixed group on the command line", "", []string{"--consumer_group_id", "lab"}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, cleanStop)
			if err := os.WriteFile(h.config, []byte("[broker]\nbootstrap.servers = localhost:9092\n[consumer]\n"+tc.consumer), 0o644); err != nil {
				t.Fatal(err)
			}
			args := append([]string{h.out(), "--config", h.config, "--topic_name", "test"}, tc.args...)
			if c := h.wait(h.start(strings.NewReader("q\n"), args...)); c != options.ExitOK {
				t.Fatalf("exit %d\n%s", c, h.stderr)
			}
			if n := strings.Count(h.stderr.String(), line); n != tc.want {
				t.Errorf("%d lines saying %q, want %d:\n%s", n, line, tc.want, h.stderr)
			}
		})
	}
}

// A second program on an output folder in use stops at once, before it
// writes anything there, and names the first.
func TestSecondInstanceOnFolderRefused(t *testing.T) {
	t.Parallel()
	first := newHarness(t, cleanStop)
	pr, pw := io.Pipe()
	defer pw.Close()
	code1 := first.start(pr, first.out(), "--config", first.config, "--topic_name", "test")
	first.waitStarted()

	second := newHarness(t, cleanStop)
	code2 := second.start(strings.NewReader("q\n"), first.out(), "--config", second.config, "--topic_name", "test", "--consumer_group_id", "other")
	if c := second.wait(code2); c != options.ExitFailure {
		t.Errorf("second instance: exit %d, want %d", c, options.ExitFailure)
	}
	want := fmt.Sprintf("DataFileDownloadDirectory: error: another DataFileDownloadDirectory (pid %d, started ", os.Getpid())
	if errOut := second.stderr.String(); !strings.Contains(errOut, want) || !strings.Contains(errOut, ") is using "+first.out()) {
		t.Errorf("stderr lacks %q ... is using %s:\n%s", want, first.out(), errOut)
	}
	if second.created {
		t.Error("the second downloader was created")
	}

	first.sigs <- syscall.SIGTERM
	if c := first.wait(code1); c != options.ExitOK {
		t.Fatalf("first instance: exit %d", c)
	}
	// The folder is free again.
	third := newHarness(t, cleanStop)
	if c := third.wait(third.start(strings.NewReader("q\n"), first.out(), "--config", third.config, "--topic_name", "test")); c != options.ExitOK {
		t.Errorf("after the first stopped: exit %d\n%s", c, third.stderr)
	}
}
