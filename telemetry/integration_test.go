package telemetry

// Against the real broker of test/kafkatest: what a dashboard consuming the
// two topics receives, with the broker reachable, behind SASL, and down.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/sirupsen/logrus"

	"github.com/openmsi/datafiledownloaddirectory/download"
	"github.com/openmsi/datafiledownloaddirectory/test/kafkatest"
	"github.com/openmsi/datafiledownloaddirectory/test/testkit"
)

func TestMain(m *testing.M) { os.Exit(kafkatest.Shared(m)) }

func topic(t *testing.T, what string) string {
	t.Helper()
	name := fmt.Sprintf("telemetry_%s_%s_%d", strings.ReplaceAll(t.Name(), "/", "_"), what, time.Now().UnixNano())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := kafkatest.CreateTopic(ctx, kafkatest.Bootstrap(), name, 1); err != nil {
		t.Fatal(err)
	}
	return name
}

// captured is a logger whose lines the test can read.
type captured struct {
	mu    sync.Mutex
	lines []string
}

func (c *captured) Levels() []logrus.Level { return logrus.AllLevels }
func (c *captured) Fire(e *logrus.Entry) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lines = append(c.lines, e.Level.String()+": "+e.Message)
	return nil
}
func (c *captured) count(sub string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, l := range c.lines {
		if strings.Contains(l, sub) {
			n++
		}
	}
	return n
}

func newLogger(buf *LogBuffer) (*logrus.Entry, *captured) {
	l := logrus.New()
	l.Out = &bytes.Buffer{}
	l.Level = logrus.InfoLevel
	c := &captured{}
	l.Hooks.Add(c)
	if buf != nil {
		l.Hooks.Add(buf)
	}
	return logrus.NewEntry(l), c
}

// fakeStatus counts up as a download would.
type fakeStatus struct{ n atomic.Int64 }

func (f *fakeStatus) status() download.Status {
	n := f.n.Add(1)
	return download.Status{MessagesRead: n * 3, MessagesProcessed: n * 2, BytesRead: n * 300, BytesProcessed: n * 200}
}

type heartbeat struct {
	Timestamp         string `json:"timestamp"`
	MessagesRead      int64  `json:"n_messages_read"`
	MessagesProcessed int64  `json:"n_messages_processed"`
	BytesRead         int64  `json:"n_bytes_read"`
	BytesProcessed    int64  `json:"n_bytes_processed"`
}

func checkHeartbeats(t *testing.T, msgs []*kafka.Message, programID string) Counts {
	t.Helper()
	var sum Counts
	for _, m := range msgs {
		if string(m.Key) != programID+"_heartbeat" {
			t.Errorf("heartbeat key %q", m.Key)
		}
		var hb heartbeat
		dec := json.NewDecoder(bytes.NewReader(m.Value))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&hb); err != nil {
			t.Fatalf("heartbeat %s: %v", m.Value, err)
		}
		if !strings.HasPrefix(string(m.Value), `{"timestamp": "`) || !strings.Contains(string(m.Value), `"n_messages_read": `) {
			t.Errorf("heartbeat not in the original's layout: %s", m.Value)
		}
		if ts, err := time.Parse("2006-01-02T15:04:05.999999-07:00", hb.Timestamp); err != nil || !strings.HasSuffix(hb.Timestamp, "+00:00") || time.Since(ts) > time.Minute {
			t.Errorf("heartbeat timestamp %q: %v", hb.Timestamp, err)
		}
		sum = Counts{MessagesRead: sum.MessagesRead + hb.MessagesRead, MessagesProcessed: sum.MessagesProcessed + hb.MessagesProcessed,
			BytesRead: sum.BytesRead + hb.BytesRead, BytesProcessed: sum.BytesProcessed + hb.BytesProcessed}
	}
	return sum
}

func TestHeartbeatsAndLogs(t *testing.T) {
	kafkatest.Require(t)
	hbTopic, logTopic := topic(t, "hb"), topic(t, "log")
	buf := NewLogBuffer(100, &logrus.TextFormatter{DisableTimestamp: true})
	log, _ := newLogger(buf)
	var st fakeStatus
	kcfg := map[string]string{"bootstrap.servers": kafkatest.Bootstrap()}
	tel, err := New(Config{
		Heartbeat: &Destination{Topic: hbTopic, ProgramID: "lab-pc", Interval: 300 * time.Millisecond, Kafka: kcfg},
		Log:       &Destination{Topic: logTopic, ProgramID: "lab-pc", Interval: 300 * time.Millisecond, Kafka: kcfg},
		Status:    st.status,
		Logs:      buf,
	}, log)
	if err != nil {
		t.Fatal(err)
	}
	log.Info("first line")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		tel.Run(ctx)
	}()
	hbs := kafkatest.ReadTopic(t, kafkatest.Bootstrap(), hbTopic, 15*time.Second, func(m []*kafka.Message) bool { return len(m) >= 3 })
	log.Info("last line")
	cancel()
	<-done

	final := CountsOf(download.Status{MessagesRead: st.n.Load() * 3, MessagesProcessed: st.n.Load() * 2, BytesRead: st.n.Load() * 300, BytesProcessed: st.n.Load() * 200})
	hbs = kafkatest.ReadTopic(t, kafkatest.Bootstrap(), hbTopic, 10*time.Second, func(m []*kafka.Message) bool {
		return len(m) > 0 && checkHeartbeats(t, m, "lab-pc") == final
	})
	if sum := checkHeartbeats(t, hbs, "lab-pc"); sum != final {
		t.Fatalf("heartbeats add up to %+v, totals %+v", sum, final)
	}

	var lines []string
	kafkatest.ReadTopic(t, kafkatest.Bootstrap(), logTopic, 10*time.Second, func(msgs []*kafka.Message) bool {
		lines = nil
		for _, m := range msgs {
			if string(m.Key) != "lab-pc_log" {
				t.Fatalf("log key %q", m.Key)
			}
			var v struct {
				Timestamp *float64  `json:"timestamp"`
				Messages  *[]string `json:"messages"`
			}
			if err := json.Unmarshal(m.Value, &v); err != nil || v.Timestamp == nil || v.Messages == nil {
				t.Fatalf("log value %s: %v", m.Value, err)
			}
			if d := time.Since(time.UnixMicro(int64(*v.Timestamp * 1e6))); d < 0 || d > time.Minute {
				t.Fatalf("log timestamp %v", *v.Timestamp)
			}
			lines = append(lines, *v.Messages...)
		}
		return len(lines) >= 2 && strings.Contains(lines[len(lines)-1], "last line")
	})
	if !strings.Contains(lines[0], "first line") {
		t.Fatalf("log lines %q", lines)
	}
}

func TestHeartbeatsThroughSASL(t *testing.T) {
	kafkatest.Require(t)
	sasl := kafkatest.BootstrapSASL()
	if sasl == "" {
		testkit.Need(t, "no SASL listener: $KAFKA_BOOTSTRAP is set without $KAFKA_BOOTSTRAP_SASL")
	}
	hbTopic := topic(t, "hb")
	log, _ := newLogger(nil)
	var st fakeStatus
	section := map[string]string{
		"bootstrap.servers": sasl, "security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "PLAIN",
		"sasl.username": "alice", "sasl.password": "alice-secret",
	}
	tel, err := New(Config{
		Heartbeat: &Destination{Topic: hbTopic, ProgramID: "p", Interval: time.Hour,
			Kafka: ProducerSettings(section, map[string]string{"bootstrap.servers": "127.0.0.1:1"})},
		Status: st.status,
	}, log)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // one heartbeat at start, one at shutdown
	tel.Run(ctx)
	msgs := kafkatest.ReadTopic(t, kafkatest.Bootstrap(), hbTopic, 10*time.Second, func(m []*kafka.Message) bool { return len(m) >= 2 })
	if sum := checkHeartbeats(t, msgs, "p"); sum.MessagesRead != st.n.Load()*3 {
		t.Fatalf("heartbeats add up to %+v after %d snapshots", sum, st.n.Load())
	}
}

func TestUnreachableBroker(t *testing.T) {
	buf := NewLogBuffer(5, &logrus.TextFormatter{DisableTimestamp: true})
	log, seen := newLogger(buf)
	var st fakeStatus
	kcfg := map[string]string{"bootstrap.servers": "127.0.0.1:1", "message.timeout.ms": "200"}
	const interval = 100 * time.Millisecond
	tel, err := New(Config{
		Heartbeat:    &Destination{Topic: "hb", ProgramID: "p", Interval: interval, Kafka: kcfg},
		Log:          &Destination{Topic: "log", ProgramID: "p", Interval: interval, Kafka: kcfg},
		Status:       st.status,
		Logs:         buf,
		FlushTimeout: time.Second,
	}, log)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		tel.Run(ctx)
	}()
	began := time.Now()
	for i := range 50 {
		log.Infof("line %d", i)
	}
	for deadline := time.Now().Add(10 * time.Second); seen.count("could not send a log message") < 2; {
		if time.Now().After(deadline) {
			t.Fatalf("no repeated delivery failure reported: %q", seen.lines)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	stopping := time.Now()
	<-done
	// The flush is bounded to 1 s; closing the producers adds a little,
	// more on a loaded machine. Unbounded, it would take far longer.
	if d := time.Since(stopping); d > 8*time.Second {
		t.Fatalf("Run took %v to return after cancel; the flush is bounded to 1s", d)
	}
	ran := time.Since(began)
	// At most one report per interval and kind, and not one per message.
	for _, what := range []string{"could not send a log message", "could not send a heartbeat message"} {
		if n, most := seen.count(what), int(ran/interval)+2; n > most {
			t.Errorf("%q reported %d times in %v", what, n, ran)
		}
	}
	if n := seen.count("librdkafka"); n > 4 {
		t.Errorf("librdkafka complained %d times in %v: %q", n, ran, seen.lines)
	}
	lines, dropped := buf.Take()
	if len(lines) > 5 || dropped < 45 {
		t.Fatalf("buffer holds %d lines, %d dropped; want at most 5 and the rest counted", len(lines), dropped)
	}
}

// A log broker that goes down and comes back: lines logged meanwhile are
// kept up to the buffer's bound, and the first message delivered afterwards
// says how many were dropped.
func TestLogBrokerOutage(t *testing.T) {
	kafkatest.Require(t)
	b := kafkatest.SharedBroker()
	if b == nil {
		testkit.Need(t, "cannot stop the broker of $KAFKA_BOOTSTRAP")
	}
	logTopic := topic(t, "log")
	buf := NewLogBuffer(10, &logrus.TextFormatter{DisableTimestamp: true})
	// The failure reports go to another logger than the lines sent: in a
	// long outage (a slow restart) they would rightly push the lines under
	// test out of the buffer.
	log, _ := newLogger(buf)
	telLog, seen := newLogger(nil)
	kcfg := map[string]string{"bootstrap.servers": kafkatest.Bootstrap(), "message.timeout.ms": "300",
		"reconnect.backoff.max.ms": "200"}
	tel, err := New(Config{
		Log:  &Destination{Topic: logTopic, ProgramID: "p", Interval: 200 * time.Millisecond, Kafka: kcfg},
		Logs: buf,
	}, telLog)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		tel.Run(ctx)
	}()
	defer func() {
		cancel()
		<-done
	}()
	// Delivered while the broker is up.
	log.Info("before the outage")
	kafkatest.ReadTopic(t, kafkatest.Bootstrap(), logTopic, 10*time.Second, func(m []*kafka.Message) bool {
		return strings.Contains(strings.Join(linesOf(t, m), "\n"), "before the outage")
	})

	if err := b.Stop(); err != nil {
		t.Fatal(err)
	}
	failures := func(more int) {
		t.Helper()
		want := seen.count("could not send a log message") + more
		for deadline := time.Now().Add(10 * time.Second); seen.count("could not send a log message") < want; {
			if time.Now().After(deadline) {
				t.Fatalf("no delivery failure reported: %q", seen.lines)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	// Only once a delivery has failed is the broker surely gone: a
	// broker that is still closing its sockets may take lines and lose
	// them when it stops.
	failures(1)
	for i := range 50 {
		log.Infof("during the outage %d", i)
	}
	failures(1)
	ctxStart, cancelStart := context.WithTimeout(context.Background(), time.Minute)
	defer cancelStart()
	if err := b.Restart(ctxStart); err != nil {
		t.Fatal(err)
	}
	var lines []string
	kafkatest.ReadTopic(t, kafkatest.Bootstrap(), logTopic, 20*time.Second, func(m []*kafka.Message) bool {
		lines = linesOf(t, m)
		return strings.Contains(strings.Join(lines, "\n"), "during the outage 49")
	})
	joined := strings.Join(lines, "\n")
	if !regexp.MustCompile(`WARNING: \d+ log lines were dropped`).MatchString(joined) {
		t.Fatalf("no dropped count in the log messages:\n%s", joined)
	}
	if strings.Contains(joined, "during the outage 0\"") || strings.Count(joined, "during the outage") > 10 {
		t.Fatalf("more lines kept than the buffer holds:\n%s", joined)
	}
}

func linesOf(t *testing.T, msgs []*kafka.Message) []string {
	t.Helper()
	var lines []string
	for _, m := range msgs {
		var v struct {
			Messages []string `json:"messages"`
		}
		if err := json.Unmarshal(m.Value, &v); err != nil {
			t.Fatalf("log value %s: %v", m.Value, err)
		}
		lines = append(lines, v.Messages...)
	}
	return lines
}
