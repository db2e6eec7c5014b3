package console

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openmsi/datafiledownloaddirectory/download"
)

// syncBuffer records output from several goroutines and lets a test wait
// for some text to appear instead of sleeping.
type syncBuffer struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	writes []string
	grew   chan struct{}
}

func newSyncBuffer() *syncBuffer { return &syncBuffer{grew: make(chan struct{}, 1)} }

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.writes = append(b.writes, string(p))
	n, err := b.buf.Write(p)
	select {
	case b.grew <- struct{}{}:
	default:
	}
	return n, err
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *syncBuffer) Writes() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.writes...)
}

func (b *syncBuffer) waitFor(t *testing.T, cond func(string) bool) string {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		if s := b.String(); cond(s) {
			return s
		}
		select {
		case <-b.grew:
		case <-deadline:
			t.Fatalf("timed out; output so far:\n%s", b.String())
		}
	}
}

func fakeStatus() download.Status {
	return download.Status{
		Start:             time.Date(2026, 4, 8, 17, 37, 45, 123456000, time.Local),
		MessagesRead:      400,
		MessagesProcessed: 390,
		FilesCompleted:    2,
		InProgress: []download.FileProgress{
			{Path: "sub/big.dat", ChunksReceived: 12, ChunksTotal: 381},
		},
		RecentlyCompleted: []string{"a.txt", "sub/dir/b.csv"},
	}
}

const wantCheck = "400 messages read, 390 messages processed, 2 files completely reconstructed so far\n" +
	"Files recognized so far (up to 50 most recent completed files shown):\n" +
	"\tsub/big.dat (in progress: 12/381 chunks)\n" +
	"\ta.txt (completed)\n" +
	"\tsub/dir/b.csv (completed)\n"

func TestCommand(t *testing.T) {
	tests := []struct {
		line     string
		want     string
		wantQuit int
	}{
		{"check", wantCheck, 0},
		{"c", wantCheck, 0},
		{"  CHECK \r", wantCheck, 0},
		{"C", wantCheck, 0},
		{"quit", "", 1},
		{"q", "", 1},
		{"\tQuit  ", "", 1},
		{"", "", 0},
		{"   ", "", 0},
		{"status", Hint + "\n", 0},
		{"cc", Hint + "\n", 0},
		{"check now", Hint + "\n", 0},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q", tt.line), func(t *testing.T) {
			var out bytes.Buffer
			quits := 0
			c := New(nil, &out, Options{Status: fakeStatus, Quit: func() { quits++ }})
			c.Command(tt.line)
			if got := out.String(); got != tt.want {
				t.Errorf("output:\n%q\nwant:\n%q", got, tt.want)
			}
			if quits != tt.wantQuit {
				t.Errorf("quit called %d times, want %d", quits, tt.wantQuit)
			}
		})
	}
}

func TestFormatCheck(t *testing.T) {
	t.Run("nothing yet", func(t *testing.T) {
		got := FormatCheck(download.Status{})
		want := "0 messages read, 0 messages processed, 0 files completely reconstructed so far\n"
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	})
	t.Run("only completed", func(t *testing.T) {
		got := FormatCheck(download.Status{MessagesRead: 1, MessagesProcessed: 1, FilesCompleted: 1, RecentlyCompleted: []string{"x"}})
		if !strings.HasPrefix(got, "1 message read, 1 message processed, 1 file completely reconstructed so far\n") ||
			!strings.HasSuffix(got, "shown):\n\tx (completed)\n") {
			t.Errorf("got %q", got)
		}
	})
	t.Run("long lists are bounded", func(t *testing.T) {
		var st download.Status
		for i := range maxInProgressShown + 7 {
			st.InProgress = append(st.InProgress, download.FileProgress{Path: fmt.Sprintf("p%d", i), ChunksReceived: 1, ChunksTotal: 2})
		}
		for i := range download.RecentLimit + 3 {
			st.RecentlyCompleted = append(st.RecentlyCompleted, fmt.Sprintf("r%d", i))
		}
		got := FormatCheck(st)
		if n := strings.Count(got, "(in progress:"); n != maxInProgressShown {
			t.Errorf("%d in-progress lines, want %d", n, maxInProgressShown)
		}
		if !strings.Contains(got, "\t... and 7 more files in progress\n") {
			t.Errorf("no overflow line in %q", got)
		}
		if n := strings.Count(got, "(completed)"); n != download.RecentLimit {
			t.Errorf("%d completed lines, want %d", n, download.RecentLimit)
		}
		if strings.Contains(got, "\tr2 (completed)") || !strings.Contains(got, "\tr3 (completed)") {
			t.Errorf("the oldest completed files should be the ones dropped")
		}
	})
}

func TestFormatSummary(t *testing.T) {
	start := time.Date(2026, 4, 8, 17, 37, 45, 123456789, time.Local)
	stop := time.Date(2026, 4, 8, 18, 0, 1, 0, time.Local)
	tests := []struct {
		name string
		st   download.Status
		want string
	}{
		{
			name: "files",
			st:   download.Status{Start: start, MessagesRead: 10, MessagesProcessed: 9, FilesCompleted: 2, RecentlyCompleted: []string{"a.txt", "d/b.txt"}},
			want: "10 total messages were consumed, 9 messages were successfully processed, and 2 files were successfully reconstructed from 2026-04-08 17:37:45.123456 to 2026-04-08 18:00:01\n" +
				"Most recent completed files (up to 50):\n\ta.txt\n\td/b.txt\n",
		},
		{
			name: "one file",
			st:   download.Status{Start: start, MessagesRead: 1, MessagesProcessed: 1, FilesCompleted: 1, RecentlyCompleted: []string{"a.txt"}},
			want: "1 total messages were consumed, 1 messages were successfully processed, and 1 file was successfully reconstructed from 2026-04-08 17:37:45.123456 to 2026-04-08 18:00:01\n" +
				"Most recent completed files (up to 50):\n\ta.txt\n",
		},
		{
			name: "nothing",
			st:   download.Status{Start: start},
			want: "0 total messages were consumed, 0 messages were successfully processed, and 0 files were successfully reconstructed from 2026-04-08 17:37:45.123456 to 2026-04-08 18:00:01\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := FormatSummary(tt.st, stop); got != tt.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
	t.Run("at most 50 files", func(t *testing.T) {
		st := download.Status{Start: start}
		for i := range 60 {
			st.RecentlyCompleted = append(st.RecentlyCompleted, fmt.Sprintf("f%02d", i))
		}
		got := FormatSummary(st, stop)
		if n := strings.Count(got, "\n\t"); n != 50 {
			t.Errorf("%d files listed, want 50", n)
		}
		if !strings.HasSuffix(got, "\tf59\n") || strings.Contains(got, "\tf09\n") {
			t.Errorf("want the 50 most recent files: %q", got)
		}
	})
}

func TestPythonTime(t *testing.T) {
	tests := []struct {
		t    time.Time
		want string
	}{
		{time.Date(2026, 4, 8, 17, 37, 45, 123456000, time.Local), "2026-04-08 17:37:45.123456"},
		{time.Date(2026, 4, 8, 17, 37, 45, 1000, time.Local), "2026-04-08 17:37:45.000001"},
		{time.Date(2026, 4, 8, 17, 37, 45, 999, time.Local), "2026-04-08 17:37:45"},
		{time.Date(2026, 1, 2, 3, 4, 5, 0, time.Local), "2026-01-02 03:04:05"},
	}
	for _, tt := range tests {
		if got := PythonTime(tt.t); got != tt.want {
			t.Errorf("PythonTime(%v) = %q, want %q", tt.t, got, tt.want)
		}
	}
}

// startConsole runs c in a goroutine and returns a function that cancels it
// and waits for Run to return, failing if it does not return promptly.
func startConsole(t *testing.T, c *Console) (ctx context.Context, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		c.Run(ctx)
		close(done)
	}()
	return ctx, func() {
		t.Helper()
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("Run did not return after cancellation")
		}
	}
}

func TestRunCommandsFromPipe(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	out := newSyncBuffer()
	quit := make(chan struct{}, 4)
	c := New(pr, out, Options{Status: fakeStatus, Quit: func() { quit <- struct{}{} }})
	_, stop := startConsole(t, c)
	defer stop()

	fmt.Fprint(pw, "check\n")
	out.waitFor(t, func(s string) bool { return s == wantCheck })
	fmt.Fprint(pw, "hello\r\n")
	out.waitFor(t, func(s string) bool { return strings.HasSuffix(s, Hint+"\n") })
	fmt.Fprint(pw, "Q\n")
	select {
	case <-quit:
	case <-time.After(5 * time.Second):
		t.Fatal("quit was not called")
	}
}

func TestRunLastLineWithoutNewline(t *testing.T) {
	out := newSyncBuffer()
	c := New(strings.NewReader("c"), out, Options{Status: fakeStatus})
	_, stop := startConsole(t, c)
	defer stop()
	out.waitFor(t, func(s string) bool { return s == wantCheck })
}

func TestRunOverlongLineIsOneUnknownCommand(t *testing.T) {
	out := newSyncBuffer()
	in := strings.NewReader(strings.Repeat("x", 100_000) + "\nc\n")
	c := New(in, out, Options{Status: fakeStatus})
	_, stop := startConsole(t, c)
	defer stop()
	out.waitFor(t, func(s string) bool { return s == Hint+"\n"+wantCheck })
}

// countingReader counts Read calls, to show that end of input is not polled
// in a loop.
type countingReader struct {
	r     io.Reader
	reads atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	c.reads.Add(1)
	return c.r.Read(p)
}

func TestRunEOFKeepsRunningWithoutSpinning(t *testing.T) {
	tests := []struct {
		name  string
		input string
	}{
		{"empty input", ""},
		{"commands then EOF", "c\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := &countingReader{r: strings.NewReader(tt.input)}
			out := newSyncBuffer()
			quits := atomic.Int64{}
			c := New(in, out, Options{Status: fakeStatus, Quit: func() { quits.Add(1) }, UpdateInterval: 2 * time.Millisecond})
			ctx, stop := startConsole(t, c)

			// Dots still arriving well after EOF show that Run is alive; the
			// read count shows that EOF was not retried meanwhile.
			out.waitFor(t, func(s string) bool { return strings.Count(s, ".\n") >= 20 })
			stop()
			if n := in.reads.Load(); n > 3 {
				t.Errorf("input read %d times; EOF must end reading", n)
			}
			if quits.Load() != 0 {
				t.Error("EOF must not quit")
			}
			if ctx.Err() == nil {
				t.Error("unreachable: stop cancels")
			}
		})
	}
}

func TestRunReturnsWhileReadBlocks(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close() // releases the abandoned reader goroutine
	c := New(pr, io.Discard, Options{Status: fakeStatus})
	_, stop := startConsole(t, c)
	stop()
}

func TestDots(t *testing.T) {
	out := newSyncBuffer()
	pr, pw := io.Pipe()
	defer pw.Close()
	c := New(pr, out, Options{Status: fakeStatus, UpdateInterval: time.Millisecond})
	_, stop := startConsole(t, c)
	out.waitFor(t, func(s string) bool { return strings.Count(s, "\n") >= 5 })
	stop()
	for _, line := range strings.SplitAfter(out.String(), "\n") {
		if line != ".\n" && line != "" {
			t.Errorf("unexpected line %q", line)
		}
	}
}

func TestNoDotsWhenOff(t *testing.T) {
	for _, interval := range []time.Duration{0, -time.Second} {
		t.Run(interval.String(), func(t *testing.T) {
			out := newSyncBuffer()
			// A short wait gives a wrongly started ticker time to show.
			c := New(strings.NewReader("c\n"), out, Options{Status: fakeStatus, UpdateInterval: interval})
			_, stop := startConsole(t, c)
			out.waitFor(t, func(s string) bool { return strings.Contains(s, "so far") })
			time.Sleep(20 * time.Millisecond)
			stop()
			if s := out.String(); s != wantCheck {
				t.Errorf("output %q, want only the check answer", s)
			}
		})
	}
}

// Dots and check answers written concurrently must each arrive in one Write,
// so they cannot interleave mid-line whatever the scheduling.
func TestConcurrentOutputKeepsLinesWhole(t *testing.T) {
	out := newSyncBuffer()
	pr, pw := io.Pipe()
	c := New(pr, out, Options{Status: fakeStatus, UpdateInterval: 100 * time.Microsecond})
	_, stop := startConsole(t, c)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 20 {
				c.Command("c")
				_, _ = c.Writer().Write([]byte("summary\n"))
			}
		})
	}
	for range 20 {
		fmt.Fprint(pw, "c\n")
	}
	wg.Wait()
	out.waitFor(t, func(s string) bool { return strings.Count(s, "so far\n") == 100 })
	stop()
	pw.Close()
	for _, w := range out.Writes() {
		if w != ".\n" && w != wantCheck && w != "summary\n" {
			t.Fatalf("write %q is not a whole line or report", w)
		}
	}
}
