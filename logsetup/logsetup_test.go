package logsetup

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
)

func TestLineFormatter(t *testing.T) {
	t.Parallel()
	ts := time.Date(2026, 4, 8, 17, 37, 45, 999_000_000, time.Local)
	tests := []struct {
		name      string
		level     logrus.Level
		msg       string
		fields    logrus.Fields
		stream    string
		withLevel string
	}{
		{"info", logrus.InfoLevel, "hello", nil,
			"[DataFileDownloadDirectory 2026-04-08 17:37:45] hello\n",
			"[DataFileDownloadDirectory 2026-04-08 17:37:45] INFO: hello\n"},
		{"debug", logrus.DebugLevel, "d", nil,
			"[DataFileDownloadDirectory 2026-04-08 17:37:45] d\n",
			"[DataFileDownloadDirectory 2026-04-08 17:37:45] DEBUG: d\n"},
		{"trace", logrus.TraceLevel, "t", nil,
			"[DataFileDownloadDirectory 2026-04-08 17:37:45] t\n",
			"[DataFileDownloadDirectory 2026-04-08 17:37:45] TRACE: t\n"},
		{"warning", logrus.WarnLevel, "careful", nil,
			"[DataFileDownloadDirectory 2026-04-08 17:37:45] WARNING: careful\n",
			"[DataFileDownloadDirectory 2026-04-08 17:37:45] WARNING: careful\n"},
		{"warning already prefixed", logrus.WarnLevel, "WARNING: careful", nil,
			"[DataFileDownloadDirectory 2026-04-08 17:37:45] WARNING: careful\n",
			"[DataFileDownloadDirectory 2026-04-08 17:37:45] WARNING: careful\n"},
		{"error", logrus.ErrorLevel, "broken", nil,
			"[DataFileDownloadDirectory 2026-04-08 17:37:45] ERROR: broken\n",
			"[DataFileDownloadDirectory 2026-04-08 17:37:45] ERROR: broken\n"},
		{"error already prefixed", logrus.ErrorLevel, "ERROR: broken", nil,
			"[DataFileDownloadDirectory 2026-04-08 17:37:45] ERROR: broken\n",
			"[DataFileDownloadDirectory 2026-04-08 17:37:45] ERROR: broken\n"},
		{"leading newlines", logrus.InfoLevel, "\n\nblock", nil,
			"\n\n[DataFileDownloadDirectory 2026-04-08 17:37:45] block\n",
			"\n\n[DataFileDownloadDirectory 2026-04-08 17:37:45] INFO: block\n"},
		{"fields sorted and quoted", logrus.WarnLevel, "bad chunk",
			logrus.Fields{"topic": "t", "partition": 3, "offset": int64(17), "file": "a b.txt", "empty": "", "err": errors.New(`x "y"`)},
			"[DataFileDownloadDirectory 2026-04-08 17:37:45] WARNING: bad chunk\n",
			`[DataFileDownloadDirectory 2026-04-08 17:37:45] WARNING: bad chunk empty="" err="x \"y\"" file="a b.txt" offset=17 partition=3 topic=t` + "\n"},
		{"control characters in a field", logrus.InfoLevel, "m", logrus.Fields{"file": "a\x1bb"},
			"[DataFileDownloadDirectory 2026-04-08 17:37:45] m\n",
			`[DataFileDownloadDirectory 2026-04-08 17:37:45] INFO: m file="a\x1bb"` + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := &logrus.Entry{Time: ts, Level: tt.level, Message: tt.msg, Data: tt.fields}
			for _, c := range []struct {
				f    lineFormatter
				want string
			}{{lineFormatter{}, tt.stream}, {lineFormatter{withLevel: true, withFields: true}, tt.withLevel}} {
				got, err := c.f.Format(e)
				if err != nil {
					t.Fatal(err)
				}
				if string(got) != c.want {
					t.Errorf("withLevel=%v:\n got %q\nwant %q", c.f.withLevel, got, c.want)
				}
			}
		})
	}
}

func TestTwoLevels(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                   string
		stream, file           logrus.Level
		wantStream, wantFile   []string
		wantLoggerLevelAtLeast logrus.Level
	}{
		{"defaults", logrus.InfoLevel, logrus.WarnLevel,
			[]string{"info", "warning", "error"}, []string{"warning", "error"}, logrus.InfoLevel},
		{"file more verbose", logrus.ErrorLevel, logrus.DebugLevel,
			[]string{"error"}, []string{"debug", "info", "warning", "error"}, logrus.DebugLevel},
		{"both debug", logrus.DebugLevel, logrus.DebugLevel,
			[]string{"debug", "info", "warning", "error"}, []string{"debug", "info", "warning", "error"}, logrus.DebugLevel},
		{"trace", logrus.TraceLevel, logrus.ErrorLevel,
			[]string{"trace", "debug", "info", "warning", "error"}, []string{"error"}, logrus.TraceLevel},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stream, file bytes.Buffer
			log := New(&stream, tt.stream, &file, tt.file)
			if log.Logger.Level != tt.wantLoggerLevelAtLeast {
				t.Errorf("logger level %v, want %v", log.Logger.Level, tt.wantLoggerLevelAtLeast)
			}
			log.Trace("trace")
			log.Debug("debug")
			log.Info("info")
			log.Warn("warning")
			log.Error("error")
			check := func(what string, buf *bytes.Buffer, want []string) {
				t.Helper()
				lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
				if buf.Len() == 0 {
					lines = nil
				}
				if len(lines) != len(want) {
					t.Fatalf("%s got %d lines, want %d:\n%s", what, len(lines), len(want), buf.String())
				}
				for i, l := range lines {
					if !strings.HasSuffix(l, " "+want[i]) {
						t.Errorf("%s line %d = %q, want message %q", what, i, l, want[i])
					}
				}
			}
			check("stream", &stream, tt.wantStream)
			check("file", &file, tt.wantFile)
			if strings.Contains(stream.String(), "INFO: ") {
				t.Error("the stream shows no level on info lines, as the original")
			}
		})
	}
}

func TestNoFile(t *testing.T) {
	t.Parallel()
	var stream bytes.Buffer
	log := New(&stream, logrus.WarnLevel, nil, logrus.DebugLevel)
	log.Info("hidden")
	log.Warn("shown")
	if got := stream.String(); !strings.HasSuffix(got, "] WARNING: shown\n") || strings.Contains(got, "hidden") {
		t.Errorf("stream %q", got)
	}
}

type failingWriter struct{ calls int }

func (w *failingWriter) Write([]byte) (int, error) {
	w.calls++
	return 0, errors.New("disk full")
}

func TestFailingFileKeepsStream(t *testing.T) {
	t.Parallel()
	var stream bytes.Buffer
	file := &failingWriter{}
	log := New(&stream, logrus.InfoLevel, file, logrus.InfoLevel)
	// logrus reports a failing hook on os.Stderr; once is enough.
	for range 3 {
		log.Warn("w")
	}
	if n := strings.Count(stream.String(), "WARNING: w"); n != 3 {
		t.Errorf("stream got %d warnings, want 3", n)
	}
	if file.calls != 3 {
		t.Errorf("file written %d times, want 3", file.calls)
	}
	h := &levelHook{level: logrus.InfoLevel, formatter: lineFormatter{}, w: file}
	e := &logrus.Entry{Level: logrus.InfoLevel, Message: "m"}
	if err := h.Fire(e); err == nil {
		t.Error("the first failure should be reported")
	}
	if err := h.Fire(e); err != nil {
		t.Error("repeated failures should not be reported again")
	}
}

func TestLogFilePath(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	existing := filepath.Join(dir, "logs")
	if err := os.Mkdir(existing, 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ flag, want string }{
		{"", filepath.Join(out, ".datafiledownloaddirectory", "DataFileDownloadDirectory.log")},
		{existing, filepath.Join(existing, "DataFileDownloadDirectory.log")},
		{filepath.Join(dir, "new", "my.log"), filepath.Join(dir, "new", "my.log")},
	}
	for _, tt := range tests {
		got, err := FilePath(tt.flag, out)
		if err != nil || got != tt.want {
			t.Errorf("FilePath(%q) = %q, %v; want %q", tt.flag, got, err, tt.want)
		}
	}
	wd, _ := os.Getwd()
	if got, _ := FilePath("rel.log", out); got != filepath.Join(wd, "rel.log") {
		t.Errorf("relative path not made absolute: %q", got)
	}
}

func TestOpenLogFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := filepath.Join(dir, "a", "b", "x.log")
	lf, err := OpenFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lf.Write([]byte("line\n")); err != nil {
		t.Fatal(err)
	}
	lf.Close()
	if b, _ := os.ReadFile(p); string(b) != "line\n" {
		t.Errorf("log file holds %q", b)
	}

	blocker := filepath.Join(dir, "file")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenFile(filepath.Join(blocker, "x.log")); err == nil {
		t.Error("a log file below a regular file should fail at once")
	}
}

func TestBareLineFormatter(t *testing.T) {
	t.Parallel()
	e := &logrus.Entry{Time: time.Now(), Level: logrus.WarnLevel, Message: "\nodd file", Data: logrus.Fields{"path": "a b"}}
	got, err := lineFormatter{bare: true}.Format(e)
	if err != nil || string(got) != "WARNING: odd file\n" {
		t.Fatalf("got %q, %v", got, err)
	}
}
