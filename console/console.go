// Package console is the attached console of DataFileDownloadDirectory: the
// periodic "." that shows the process is alive, and the check and quit
// commands typed on standard input. It works on any io.Reader and io.Writer,
// so it runs the same on a terminal, under a supervisor with stdin closed, and
// in tests.
package console

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/openmsi/datafiledownloaddirectory/download"
	"github.com/openmsi/datafiledownloaddirectory/internal/plural"
)

// maxInProgressShown bounds the check output: a folder with thousands of
// half-received files would otherwise flood the terminal.
const maxInProgressShown = 200

// maxLine bounds what is kept of one typed line; commands are short, and a
// stray binary stream on stdin must not make memory grow.
const maxLine = 1024

// Hint is printed when a line is not a command.
const Hint = `Commands: "check" (or "c") shows progress, "quit" (or "q") stops the program.`

// Options configure a Console.
type Options struct {
	// Status returns the progress to show for "check". Required.
	Status func() download.Status
	// Quit is called when "quit" or "q" is typed. It should start the
	// shutdown and return at once; it may be called more than once.
	Quit func()
	// UpdateInterval is the time between "." lines; zero or negative turns
	// them off.
	UpdateInterval time.Duration
}

// Console prints the alive dots and serves typed commands.
type Console struct {
	in   io.Reader
	out  *Writer
	opts Options
}

// New returns a console reading commands from in and writing to out. All
// output of the console goes through one lock, so out may be shared with
// other writers that use the returned console's Writer.
func New(in io.Reader, out io.Writer, opts Options) *Console {
	return &Console{in: in, out: NewWriter(out), opts: opts}
}

// Writer returns the console's serialised writer, for output that must not
// interleave with the dots or a check report (such as the final summary).
func (c *Console) Writer() *Writer { return c.out }

// Run prints dots and serves commands until ctx is cancelled. It returns
// promptly on cancellation. A goroutine blocked in a Read of the input cannot
// be interrupted, so Run does not wait for it: it ends when the input yields a
// line or EOF, or with the process. End of input only ends command reading;
// the dots go on until ctx is cancelled.
func (c *Console) Run(ctx context.Context) {
	var tick <-chan time.Time
	if c.opts.UpdateInterval > 0 {
		t := time.NewTicker(c.opts.UpdateInterval)
		defer t.Stop()
		tick = t.C
	}

	lines := make(chan string)
	done := make(chan struct{})
	defer close(done)
	if c.in != nil {
		go readLines(c.in, lines, done)
	} else {
		lines = nil
	}

	for {
		select {
		case <-ctx.Done():
			return
		case <-tick:
			_, _ = c.out.Write([]byte(".\n"))
		case line, ok := <-lines:
			if !ok {
				// A nil channel is never ready: reading stops without a
				// spinning select.
				lines = nil
				continue
			}
			c.Command(line)
		}
	}
}

// Command runs one typed line. Empty lines are ignored so that a stray Enter
// does not print a hint.
func (c *Console) Command(line string) {
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "":
	case "c", "check":
		_, _ = io.WriteString(c.out, FormatCheck(c.opts.Status()))
	case "q", "quit":
		if c.opts.Quit != nil {
			c.opts.Quit()
		}
	default:
		_, _ = io.WriteString(c.out, Hint+"\n")
	}
}

// readLines sends every line of in to lines and closes lines at end of input
// or on a read error. It gives up sending when done is closed, so it never
// blocks forever on a console that has stopped.
func readLines(in io.Reader, lines chan<- string, done <-chan struct{}) {
	defer close(lines)
	r := bufio.NewReader(in)
	for {
		line, err := readLine(r)
		if err != nil && line == "" {
			return
		}
		select {
		case lines <- line:
		case <-done:
			return
		}
		if err != nil {
			return
		}
	}
}

// readLine returns one line without its end, keeping at most maxLine bytes of
// it. A last line without a newline is returned with the io.EOF.
func readLine(r *bufio.Reader) (string, error) {
	var b []byte
	for {
		frag, err := r.ReadSlice('\n')
		if len(b) < maxLine {
			b = append(b, frag[:min(len(frag), maxLine-len(b))]...)
		}
		switch {
		case err == nil:
			return strings.TrimRight(string(b), "\r\n"), nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		default:
			return strings.TrimRight(string(b), "\r\n"), err
		}
	}
}

// FormatCheck renders the answer to "check": the counters, then the files in
// progress with their chunk counts, then the recently completed files.
func FormatCheck(st download.Status) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s read, %s processed, %s completely reconstructed so far\n",
		plural.Count(st.MessagesRead, "message", "messages"), plural.Count(st.MessagesProcessed, "message", "messages"),
		plural.Count(st.FilesCompleted, "file", "files"))
	if st.Encrypted {
		fmt.Fprintf(&b, "%d messages decrypted, %d written to %s/ (%d of them decrypted from there since)\n",
			st.MessagesDecrypted+st.MessagesRecovered, st.MessagesUndecryptable, download.EncryptedDirName, st.MessagesRecovered)
	}
	if st.FilesRejected+st.VersionsDropped+st.FilesExpired+st.FilesHashMismatch > 0 {
		fmt.Fprintf(&b, "%d put in %s, %d given up as unusable, %d older versions dropped, %d unfinished files expired\n",
			st.FilesHashMismatch, download.MismatchDirName, st.FilesRejected, st.VersionsDropped, st.FilesExpired)
	}
	if len(st.WaitingToPublish) > 0 {
		fmt.Fprintf(&b, "Complete files waiting to be put in place (%d):\n", len(st.WaitingToPublish))
		for _, w := range st.WaitingToPublish {
			fmt.Fprintf(&b, "\t%s (waiting since %s: %s)\n", w.Path, w.Since.Local().Format("2006-01-02 15:04:05"), w.Reason)
		}
	}
	if len(st.InProgress) == 0 && len(st.RecentlyCompleted) == 0 {
		return b.String()
	}
	fmt.Fprintf(&b, "Files recognized so far (up to %d most recent completed files shown):\n", download.RecentLimit)
	for i, f := range st.InProgress {
		if i == maxInProgressShown {
			fmt.Fprintf(&b, "\t... and %s in progress\n", plural.Count(len(st.InProgress)-i, "more file", "more files"))
			break
		}
		fmt.Fprintf(&b, "\t%s (in progress: %d/%d chunks)\n", f.Path, f.ChunksReceived, f.ChunksTotal)
	}
	for _, p := range lastN(st.RecentlyCompleted, download.RecentLimit) {
		fmt.Fprintf(&b, "\t%s (completed)\n", p)
	}
	return b.String()
}

// FormatSummary renders the report printed at shutdown, worded as the
// original program's so that scripts reading it keep working.
func FormatSummary(st download.Status, stop time.Time) string {
	var b strings.Builder
	files := "files were"
	if st.FilesCompleted == 1 {
		files = "file was"
	}
	fmt.Fprintf(&b, "%d total messages were consumed, %d messages were successfully processed, and %d %s successfully reconstructed from %s to %s\n",
		st.MessagesRead, st.MessagesProcessed, st.FilesCompleted, files,
		PythonTime(st.Start), PythonTime(stop))
	if st.Encrypted {
		fmt.Fprintf(&b, "%d messages were decrypted and %d were written to %s/ (%d of them decrypted from there since)\n",
			st.MessagesDecrypted+st.MessagesRecovered, st.MessagesUndecryptable, download.EncryptedDirName, st.MessagesRecovered)
	}
	if recent := lastN(st.RecentlyCompleted, download.RecentLimit); len(recent) > 0 {
		fmt.Fprintf(&b, "Most recent completed files (up to %d):\n", download.RecentLimit)
		for _, p := range recent {
			fmt.Fprintf(&b, "\t%s\n", p)
		}
	}
	return b.String()
}

// PythonTime formats t in local time as Python's str(datetime) does, which
// drops the microseconds when they are zero.
func PythonTime(t time.Time) string {
	t = t.Local()
	if us := t.Nanosecond() / 1000; us != 0 {
		return t.Format("2006-01-02 15:04:05") + fmt.Sprintf(".%06d", us)
	}
	return t.Format("2006-01-02 15:04:05")
}

func lastN(s []string, n int) []string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// Writer serialises writes to an io.Writer. Callers write whole lines or
// whole reports in one Write, so concurrent output never mixes mid-line.
type Writer struct {
	mu sync.Mutex
	w  io.Writer
}

// NewWriter wraps w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(p)
}
