// Package logsetup builds the program's logger: the original program's
// line format, one level for the terminal and another for a rotating log
// file, and where that file lives by default.
package logsetup

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/sirupsen/logrus"
	"gopkg.in/natefinch/lumberjack.v2"

	"github.com/openmsi/datafiledownloaddirectory/download"
	"github.com/openmsi/datafiledownloaddirectory/internal/about"
)

// Log file rotation: big enough for weeks of warnings, small enough that a
// flood of errors cannot fill a lab PC's disk.
const (
	MaxSizeMB  = 10
	MaxBackups = 5
)

// lineFormatter writes the original program's line format,
// "[DataFileDownloadDirectory 2026-04-08 17:37:45] message", so that people
// and scripts used to its output can read ours. withLevel prefixes every
// line with its level, for the log file, where debug and info lines would
// otherwise be told apart only by their wording.
// bare leaves out the bracketed name and time, for the log topic, whose
// messages carry their own timestamp. withFields appends the entry's fields
// (topic, partition, offset, file...) as key=value, for the log file only:
// on the terminal and the log topic the message says what matters in words.
type lineFormatter struct {
	withLevel  bool
	withFields bool
	bare       bool
}

func (f lineFormatter) Format(e *logrus.Entry) ([]byte, error) {
	var b bytes.Buffer
	msg := e.Message
	// The original printed a message's leading newlines before the bracket,
	// which keeps a blank line above it instead of breaking the prefix off.
	for strings.HasPrefix(msg, "\n") {
		if !f.bare {
			b.WriteByte('\n')
		}
		msg = msg[1:]
	}
	if !f.bare {
		fmt.Fprintf(&b, "[%s %s] ", about.Name, e.Time.Format("2006-01-02 15:04:05"))
	}
	if p := f.prefix(e.Level); p != "" && !strings.HasPrefix(msg, p) {
		b.WriteString(p)
	}
	b.WriteString(msg)
	if !f.withFields {
		b.WriteByte('\n')
		return b.Bytes(), nil
	}
	keys := make([]string, 0, len(e.Data))
	for k := range e.Data {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		b.WriteByte(' ')
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(fieldValue(e.Data[k]))
	}
	b.WriteByte('\n')
	return b.Bytes(), nil
}

func (f lineFormatter) prefix(l logrus.Level) string {
	switch {
	case l <= logrus.ErrorLevel:
		return "ERROR: "
	case l == logrus.WarnLevel:
		return "WARNING: "
	case !f.withLevel:
		return ""
	case l == logrus.InfoLevel:
		return "INFO: "
	case l == logrus.DebugLevel:
		return "DEBUG: "
	default:
		return "TRACE: "
	}
}

// fieldValue quotes a value when it would otherwise be ambiguous, as logfmt
// does: file names come from messages and may hold spaces or quotes.
func fieldValue(v any) string {
	s := fmt.Sprint(v)
	if s == "" || strings.ContainsAny(s, " =\"\t\r\n\\") || strings.ContainsFunc(s, func(r rune) bool { return !strconv.IsPrint(r) }) {
		return strconv.Quote(s)
	}
	return s
}

// levelHook writes the entries at or above its own level to one writer. Two
// of them give the terminal and the log file independent levels, which a
// single logrus output cannot.
type levelHook struct {
	level     logrus.Level
	formatter logrus.Formatter

	mu      sync.Mutex // serialises writes, since logrus fires hooks unlocked
	w       io.Writer
	failing bool // a write failed; reported once until writes work again
}

func (h *levelHook) Levels() []logrus.Level { return logrus.AllLevels[:h.level+1] }

func (h *levelHook) Fire(e *logrus.Entry) error {
	line, err := h.formatter.Format(e)
	if err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, err := h.w.Write(line); err != nil {
		if h.failing {
			return nil
		}
		h.failing = true
		return err
	}
	h.failing = false
	return nil
}

// BareFormatter formats lines without the bracketed name and time, for the
// log topic, whose messages carry their own timestamp.
func BareFormatter() logrus.Formatter { return lineFormatter{bare: true} }

// nullFormatter spares logrus formatting each entry once more for its own
// output, which is discarded: the hooks do the writing.
type nullFormatter struct{}

func (nullFormatter) Format(*logrus.Entry) ([]byte, error) { return nil, nil }

// New returns a logger writing to stream at streamLevel and to file at
// fileLevel; file may be nil. The stream hook is added first: logrus stops
// firing hooks at the first one that fails, and a full disk must not silence
// the terminal.
func New(stream io.Writer, streamLevel logrus.Level, file io.Writer, fileLevel logrus.Level) *logrus.Entry {
	l := logrus.New()
	l.Out = io.Discard
	l.Formatter = nullFormatter{}
	l.Level = streamLevel
	l.Hooks.Add(&levelHook{level: streamLevel, formatter: lineFormatter{}, w: stream})
	if file != nil {
		l.Level = max(streamLevel, fileLevel)
		l.Hooks.Add(&levelHook{level: fileLevel, formatter: lineFormatter{withLevel: true, withFields: true}, w: file})
	}
	return logrus.NewEntry(l)
}

// FilePath picks the log file as the original did for --logger_file_path
// (an existing folder gets the default file name inside it), except that
// the default lives in the state folder instead of among the reconstructed
// files, where tools watching the output folder would pick it up.
func FilePath(flag, outputDir string) (string, error) {
	if flag == "" {
		return filepath.Join(outputDir, download.StateDirName, about.Name+".log"), nil
	}
	p, err := filepath.Abs(flag)
	if err != nil {
		return "", err
	}
	if fi, err := os.Stat(p); err == nil && fi.IsDir() {
		p = filepath.Join(p, about.Name+".log")
	}
	return p, nil
}

// OpenFile checks that the log file can be written now, so that a wrong
// --logger_file_path is reported at start instead of at the first warning,
// and returns a rotating writer for it.
func OpenFile(path string) (*lumberjack.Logger, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	// Creating the file here also sets the mode lumberjack keeps for the
	// rotated files: readable by an operator, like other program logs.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	return &lumberjack.Logger{
		Filename:   path,
		MaxSize:    MaxSizeMB,
		MaxBackups: MaxBackups,
		LocalTime:  true,
	}, nil
}
