package telemetry

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/openmsi/datafiledownloaddirectory/download"
)

// Counts are the four numbers of a heartbeat.
type Counts struct {
	MessagesRead      int64
	MessagesProcessed int64
	BytesRead         int64
	BytesProcessed    int64

	// Encrypted topics only: messages decrypted, and messages written to
	// ENCRYPTED_MESSAGES/ (n_messages_decrypted, n_messages_undecryptable,
	// after the original's fields, which stay as they are).
	Encrypted             bool
	MessagesDecrypted     int64
	MessagesUndecryptable int64
}

// CountsOf takes the heartbeat's numbers from a cumulative status.
func CountsOf(st download.Status) Counts {
	return Counts{
		MessagesRead:      st.MessagesRead,
		MessagesProcessed: st.MessagesProcessed,
		BytesRead:         st.BytesRead,
		BytesProcessed:    st.BytesProcessed,

		Encrypted:             st.Encrypted,
		MessagesDecrypted:     st.MessagesDecrypted + st.MessagesRecovered,
		MessagesUndecryptable: st.MessagesUndecryptable,
	}
}

// Sub returns c - prev. Heartbeats carry differences of cumulative
// snapshots rather than counters reset at each send, so that the values of
// all heartbeats of a run add up exactly to its totals, whatever happens
// between two snapshots.
func (c Counts) Sub(prev Counts) Counts {
	return Counts{
		MessagesRead:      c.MessagesRead - prev.MessagesRead,
		MessagesProcessed: c.MessagesProcessed - prev.MessagesProcessed,
		BytesRead:         c.BytesRead - prev.BytesRead,
		BytesProcessed:    c.BytesProcessed - prev.BytesProcessed,

		Encrypted:             c.Encrypted,
		MessagesDecrypted:     c.MessagesDecrypted - prev.MessagesDecrypted,
		MessagesUndecryptable: c.MessagesUndecryptable - prev.MessagesUndecryptable,
	}
}

// PythonISOTime formats t as Python's datetime.now(timezone.utc).isoformat()
// does: UTC, microseconds only when they are not zero, and "+00:00" instead
// of "Z", because dashboards written for OpenMSIStream parse exactly that.
func PythonISOTime(t time.Time) string {
	t = t.UTC()
	s := t.Format("2006-01-02T15:04:05")
	if us := t.Nanosecond() / 1000; us != 0 {
		s += fmt.Sprintf(".%06d", us)
	}
	return s + "+00:00"
}

// HeartbeatValue is the value of a heartbeat message, byte for byte what
// OpenMSIStream's json.dumps writes (field order, ", " and ": " separators).
func HeartbeatValue(t time.Time, c Counts) []byte {
	b := fmt.Appendf(nil, `{"timestamp": %s, "n_messages_read": %d, "n_messages_processed": %d, "n_bytes_read": %d, "n_bytes_processed": %d`,
		pyJSONString(PythonISOTime(t)), c.MessagesRead, c.MessagesProcessed, c.BytesRead, c.BytesProcessed)
	if c.Encrypted {
		b = fmt.Appendf(b, `, "n_messages_decrypted": %d, "n_messages_undecryptable": %d`, c.MessagesDecrypted, c.MessagesUndecryptable)
	}
	return append(b, '}')
}

// LogValue is the value of a log message: {"timestamp": <Unix seconds as a
// float, like Python's time.time()>, "messages": [...]}.
func LogValue(t time.Time, lines []string) []byte {
	var b strings.Builder
	b.WriteString(`{"timestamp": `)
	b.WriteString(pyFloat(float64(t.UnixMicro()) / 1e6))
	b.WriteString(`, "messages": [`)
	for i, l := range lines {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(pyJSONString(l))
	}
	b.WriteString("]}")
	return []byte(b.String())
}

// pyFloat writes a float as Python's repr does: shortest round-trip digits,
// and always with a fraction, so that a consumer sees a float even at a
// whole second.
func pyFloat(f float64) string {
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.ContainsAny(s, ".eEn") {
		s += ".0"
	}
	return s
}

// pyJSONString quotes s as Python's json.dumps does by default
// (ensure_ascii): everything outside printable ASCII is escaped, so the
// value is plain ASCII whatever a file name holds. Go's encoding/json would
// also escape <, > and &, which Python does not.
func pyJSONString(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for _, r := range s { // invalid UTF-8 comes out as U+FFFD
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			switch {
			case r >= 0x20 && r < 0x7f:
				b.WriteRune(r)
			case r > 0xffff:
				r -= 0x10000
				fmt.Fprintf(&b, `\u%04x\u%04x`, 0xd800+(r>>10), 0xdc00+(r&0x3ff))
			default:
				if r == utf8.RuneError {
					r = 0xfffd
				}
				fmt.Fprintf(&b, `\u%04x`, r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}
