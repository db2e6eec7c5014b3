package telemetry

import (
	"fmt"
	"strings"
	"sync"

	"github.com/sirupsen/logrus"
)

// DefaultLogLines bounds the lines kept between two log messages. At about
// 100 bytes a line it keeps one message near 1 MB, the broker's default
// maximum message size.
const DefaultLogLines = 10000

// LogBuffer is a logrus hook that keeps the lines logged since the last log
// message, for the log topic. It is bounded: when full, the oldest lines
// are dropped and counted, and the next message says how many.
type LogBuffer struct {
	format logrus.Formatter
	max    int

	mu      sync.Mutex
	lines   []string // ring of at most max lines, oldest at head
	head    int
	dropped int
}

// NewLogBuffer returns a buffer of at most max lines (DefaultLogLines when
// max < 1), each formatted with format and stripped of its surrounding
// newlines.
func NewLogBuffer(max int, format logrus.Formatter) *LogBuffer {
	if max < 1 {
		max = DefaultLogLines
	}
	return &LogBuffer{format: format, max: max}
}

// Levels returns every level: the logger's own level already decides what
// reaches the hooks, as the original's root logger did for its handler.
func (b *LogBuffer) Levels() []logrus.Level { return logrus.AllLevels }

// Fire never fails, so that logrus goes on to the hooks after it.
func (b *LogBuffer) Fire(e *logrus.Entry) error {
	line, err := b.format.Format(e)
	if err != nil {
		line = []byte(e.Message)
	}
	b.add(strings.Trim(string(line), "\r\n"))
	return nil
}

func (b *LogBuffer) add(line string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.lines) < b.max {
		b.lines = append(b.lines, line)
		return
	}
	b.lines[b.head] = line
	b.head = (b.head + 1) % b.max
	b.dropped++
}

// Take empties the buffer and returns its lines, oldest first, and how many
// were dropped since the last Take.
func (b *LogBuffer) Take() (lines []string, dropped int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	lines = make([]string, 0, len(b.lines))
	lines = append(lines, b.lines[b.head:]...)
	lines = append(lines, b.lines[:b.head]...)
	dropped = b.dropped
	b.lines, b.head, b.dropped = b.lines[:0], 0, 0
	return lines, dropped
}

// putBack returns lines whose message could not be delivered, in front of
// the lines logged since, so that a broker outage loses only the oldest
// lines, and those are counted. dropped is the count that message
// reported.
func (b *LogBuffer) putBack(lines []string, dropped int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	newer := make([]string, 0, len(b.lines))
	newer = append(newer, b.lines[b.head:]...)
	newer = append(newer, b.lines[:b.head]...)
	all := append(lines[:len(lines):len(lines)], newer...)
	b.dropped += dropped
	if over := len(all) - b.max; over > 0 {
		all = all[over:]
		b.dropped += over
	}
	b.lines, b.head = all, 0
}

// droppedLine is the extra line of a message that follows dropped lines.
func droppedLine(n int) string {
	s := "s were"
	if n == 1 {
		s = " was"
	}
	return fmt.Sprintf("WARNING: %d log line%s dropped before this message: more were logged than the log topic's buffer holds (the log topic's broker may have been unreachable)", n, s)
}
