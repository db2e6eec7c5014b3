package telemetry

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/openmsi/datafiledownloaddirectory/download"
)

func TestPythonISOTime(t *testing.T) {
	berlin := time.FixedZone("CEST", 2*3600)
	for _, tc := range []struct {
		in   time.Time
		want string
	}{
		{time.Date(2026, 4, 8, 22, 37, 45, 123456789, time.UTC), "2026-04-08T22:37:45.123456+00:00"},
		{time.Date(2026, 4, 8, 22, 37, 45, 0, time.UTC), "2026-04-08T22:37:45+00:00"},   // Python drops .000000
		{time.Date(2026, 4, 8, 22, 37, 45, 999, time.UTC), "2026-04-08T22:37:45+00:00"}, // below a microsecond
		{time.Date(2026, 4, 8, 22, 37, 45, 1000, time.UTC), "2026-04-08T22:37:45.000001+00:00"},
		{time.Date(2026, 4, 9, 0, 30, 0, 500000000, berlin), "2026-04-08T22:30:00.500000+00:00"}, // converted to UTC
	} {
		if got := PythonISOTime(tc.in); got != tc.want {
			t.Errorf("PythonISOTime(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestHeartbeatValue(t *testing.T) {
	got := string(HeartbeatValue(time.Date(2026, 4, 8, 22, 37, 45, 123456000, time.UTC), Counts{MessagesRead: 1, MessagesProcessed: 2, BytesRead: 3, BytesProcessed: 4}))
	// What OpenMSIStream's json.dumps writes, field order and separators included.
	want := `{"timestamp": "2026-04-08T22:37:45.123456+00:00", "n_messages_read": 1, "n_messages_processed": 2, "n_bytes_read": 3, "n_bytes_processed": 4}`
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(got), &m); err != nil {
		t.Fatal(err)
	}
}

func TestLogValue(t *testing.T) {
	for _, tc := range []struct {
		at    time.Time
		lines []string
		want  string
	}{
		{time.Unix(1712615865, 123456000), []string{"a", `q"b\c`, "x<y>&z", "tab\there\nnl"},
			`{"timestamp": 1712615865.123456, "messages": ["a", "q\"b\\c", "x<y>&z", "tab\there\nnl"]}`},
		{time.Unix(1712615865, 0), nil, `{"timestamp": 1712615865.0, "messages": []}`},
		{time.Unix(1712615865, 500000000), []string{"é €\x01 𝄞", "bad\xffutf8"},
			`{"timestamp": 1712615865.5, "messages": ["\u00e9 \u20ac\u0001 \ud834\udd1e", "bad\ufffdutf8"]}`},
	} {
		got := string(LogValue(tc.at, tc.lines))
		if got != tc.want {
			t.Errorf("got  %s\nwant %s", got, tc.want)
		}
		var v struct {
			Timestamp float64  `json:"timestamp"`
			Messages  []string `json:"messages"`
		}
		if err := json.Unmarshal([]byte(got), &v); err != nil {
			t.Fatalf("%s: %v", got, err)
		}
		if len(v.Messages) != len(tc.lines) || float64(tc.at.UnixMicro())/1e6 != v.Timestamp {
			t.Errorf("%s decodes to %+v", got, v)
		}
	}
}

func TestDeltasAddUpToTotals(t *testing.T) {
	snaps := []download.Status{
		{},
		{MessagesRead: 5, MessagesProcessed: 3, BytesRead: 500, BytesProcessed: 300},
		{MessagesRead: 5, MessagesProcessed: 5, BytesRead: 500, BytesProcessed: 500},
		{MessagesRead: 17, MessagesProcessed: 12, BytesRead: 1700, BytesProcessed: 1200},
	}
	var last, sum Counts
	for _, st := range snaps {
		cur := CountsOf(st)
		d := cur.Sub(last)
		last = cur
		sum = Counts{MessagesRead: sum.MessagesRead + d.MessagesRead, MessagesProcessed: sum.MessagesProcessed + d.MessagesProcessed,
			BytesRead: sum.BytesRead + d.BytesRead, BytesProcessed: sum.BytesProcessed + d.BytesProcessed}
	}
	if want := CountsOf(snaps[len(snaps)-1]); sum != want {
		t.Fatalf("sum of deltas %+v, totals %+v", sum, want)
	}
}

type msgFormatter struct{}

func (msgFormatter) Format(e *logrus.Entry) ([]byte, error) {
	return []byte("\n" + e.Message + "\n"), nil
}

func fill(b *LogBuffer, from, to int) {
	for i := from; i < to; i++ {
		_ = b.Fire(&logrus.Entry{Message: fmt.Sprint(i)})
	}
}

func TestLogBufferBounded(t *testing.T) {
	b := NewLogBuffer(3, msgFormatter{})
	fill(b, 0, 2)
	if lines, dropped := b.Take(); strings.Join(lines, ",") != "0,1" || dropped != 0 {
		t.Fatalf("got %q, %d dropped", lines, dropped)
	}
	fill(b, 2, 10)
	lines, dropped := b.Take()
	if strings.Join(lines, ",") != "7,8,9" || dropped != 5 {
		t.Fatalf("got %q, %d dropped; want the newest 3 and 5 dropped", lines, dropped)
	}
	if lines, dropped := b.Take(); len(lines) != 0 || dropped != 0 {
		t.Fatalf("Take after Take: %q, %d dropped", lines, dropped)
	}
}

func TestLogBufferPutBack(t *testing.T) {
	b := NewLogBuffer(4, msgFormatter{})
	fill(b, 0, 3)
	lines, dropped := b.Take()
	fill(b, 3, 5)
	// The message of 0..2 was not delivered: its lines come back before
	// the newer ones, and what does not fit is dropped and counted.
	b.putBack(lines, dropped+2)
	lines, dropped = b.Take()
	if strings.Join(lines, ",") != "1,2,3,4" || dropped != 3 {
		t.Fatalf("got %q, %d dropped; want 1..4 and 2+1 dropped", lines, dropped)
	}
	if !strings.Contains(droppedLine(3), "3 log lines were dropped") || !strings.Contains(droppedLine(1), "1 log line was dropped") {
		t.Fatal(droppedLine(3), droppedLine(1))
	}
}

func TestProducerSettings(t *testing.T) {
	broker := map[string]string{"bootstrap.servers": "a:9092", "sasl.username": "u", "security.protocol": "SASL_SSL"}
	got := ProducerSettings(map[string]string{"linger.ms": "5", "security.protocol": "SSL", "key.serializer": "StringSerializer", "node_id": "x"}, broker)
	if len(got) != 4 || got["bootstrap.servers"] != "a:9092" || got["security.protocol"] != "SSL" || got["linger.ms"] != "5" || got["sasl.username"] != "u" {
		t.Fatalf("merged over [broker]: %v", got)
	}
	got = ProducerSettings(map[string]string{"bootstrap.servers": "b:9092", "prefer.separate.producer": "True"}, broker)
	if len(got) != 1 || got["bootstrap.servers"] != "b:9092" {
		t.Fatalf("own broker: %v", got)
	}
}

func TestRedact(t *testing.T) {
	got := redact(`bad value "hunter2" for sasl.password`, map[string]string{"sasl.password": "hunter2", "sasl.username": "alice"})
	if strings.Contains(got, "hunter2") {
		t.Fatal(got)
	}
}

// An encrypted topic's heartbeat keeps the original's fields and order and
// adds its two counts after them.
func TestHeartbeatValueEncrypted(t *testing.T) {
	ts := time.Date(2026, 4, 8, 22, 37, 45, 123456000, time.UTC)
	got := string(HeartbeatValue(ts, Counts{MessagesRead: 5, MessagesProcessed: 3, BytesRead: 10, BytesProcessed: 6,
		Encrypted: true, MessagesDecrypted: 4, MessagesUndecryptable: 1}))
	want := `{"timestamp": "2026-04-08T22:37:45.123456+00:00", "n_messages_read": 5, "n_messages_processed": 3, "n_bytes_read": 10, "n_bytes_processed": 6, "n_messages_decrypted": 4, "n_messages_undecryptable": 1}`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
