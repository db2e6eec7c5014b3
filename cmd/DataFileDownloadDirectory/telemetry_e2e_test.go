package main_test

// End-to-end tests of the heartbeat and log topics: what a lab dashboard
// consuming them sees of a run of the built program.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/openmsi/datafiledownloaddirectory/test/kafkatest"
	"github.com/openmsi/datafiledownloaddirectory/test/testkit"
	"github.com/openmsi/datafiledownloaddirectory/test/uploadtest"
)

// extraTopic creates one more topic for a test.
func extraTopic(t *testing.T, what string) string {
	t.Helper()
	name := fmt.Sprintf("e2e_%s_%s_%d", strings.ReplaceAll(t.Name(), "/", "_"), what, time.Now().UnixNano())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := kafkatest.CreateTopic(ctx, kafkatest.Bootstrap(), name, 1); err != nil {
		t.Fatal(err)
	}
	return name
}

func appendConfig(t *testing.T, path, text string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := io.WriteString(f, text); err != nil {
		t.Fatal(err)
	}
}

type heartbeatTotals struct{ read, processed, bytesRead, bytesProcessed int64 }

// sumHeartbeats checks every heartbeat's key, fields and types and adds up
// their counts.
func sumHeartbeats(t *testing.T, msgs []*kafka.Message, key string) heartbeatTotals {
	t.Helper()
	var sum heartbeatTotals
	for _, m := range msgs {
		if string(m.Key) != key {
			t.Fatalf("heartbeat key %q, want %q", m.Key, key)
		}
		var raw map[string]any
		if err := json.Unmarshal(m.Value, &raw); err != nil || len(raw) != 5 {
			t.Fatalf("heartbeat %s: %v", m.Value, err)
		}
		ts, _ := raw["timestamp"].(string)
		if _, err := time.Parse("2006-01-02T15:04:05.999999-07:00", ts); err != nil || !strings.HasSuffix(ts, "+00:00") {
			t.Fatalf("heartbeat timestamp %q: %v", ts, err)
		}
		n := func(field string) int64 {
			v, ok := raw[field].(float64)
			if !ok || v < 0 || v != float64(int64(v)) {
				t.Fatalf("heartbeat %s: %s is not a count", m.Value, field)
			}
			return int64(v)
		}
		sum.read += n("n_messages_read")
		sum.processed += n("n_messages_processed")
		sum.bytesRead += n("n_bytes_read")
		sum.bytesProcessed += n("n_bytes_processed")
	}
	return sum
}

// logLines checks every log message's key, fields and types and returns
// their lines in order.
func logLines(t *testing.T, msgs []*kafka.Message, key string) []string {
	t.Helper()
	var lines []string
	for _, m := range msgs {
		if string(m.Key) != key {
			t.Fatalf("log key %q, want %q", m.Key, key)
		}
		var v struct {
			Timestamp *float64  `json:"timestamp"`
			Messages  *[]string `json:"messages"`
		}
		if err := json.Unmarshal(m.Value, &v); err != nil || v.Timestamp == nil || v.Messages == nil {
			t.Fatalf("log message %s: %v", m.Value, err)
		}
		if age := time.Since(time.Unix(int64(*v.Timestamp), 0)); age < -time.Second || age > 5*time.Minute {
			t.Fatalf("log timestamp %v is not now", *v.Timestamp)
		}
		lines = append(lines, *v.Messages...)
	}
	return lines
}

var summaryRE = regexp.MustCompile(`(\d+) total messages were consumed, (\d+) messages were successfully processed`)

func TestHeartbeatsAndLogsE2E(t *testing.T) {
	topic, cfg := setup(t, 2)
	sasl := kafkatest.BootstrapSASL()
	if sasl == "" {
		testkit.Need(t, "no SASL listener: $KAFKA_BOOTSTRAP is set without $KAFKA_BOOTSTRAP_SASL")
	}
	hbTopic, logTopic := extraTopic(t, "hb"), extraTopic(t, "log")
	// Heartbeats go through another listener with its own authentication,
	// as to a lab's monitoring broker; logs use [broker].
	appendConfig(t, cfg, "\n[heartbeat]\nbootstrap.servers = "+sasl+
		"\nsecurity.protocol = SASL_PLAINTEXT\nsasl.mechanism = PLAIN\nsasl.username = alice\nsasl.password = alice-secret\n")
	out := t.TempDir()
	data := randomData(11, 300_000)
	produce(t, topic, uploadtest.FileChunks(data, "hb/a.dat", 65536, uploadtest.Options{}))

	p := start(t, true, out, "--config", cfg, "--topic_name", topic,
		"--heartbeat_topic_name", hbTopic, "--heartbeat_program_id", "lab-pc-7", "--heartbeat-interval-secs", "1",
		"--log_topic_name", logTopic, "--log_interval_secs", "1")
	waitFor(t, "the file", time.Minute, func() bool { return sameFile(filepath.Join(out, "hb", "a.dat"), data) })
	// A few periodic heartbeats, not only the first and the last.
	kafkatest.ReadTopic(t, kafkatest.Bootstrap(), hbTopic, 15*time.Second, func(m []*kafka.Message) bool { return len(m) >= 3 })
	io.WriteString(p.stdin, "quit\n")
	if code := p.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	output := p.Output()
	if !strings.Contains(output, "Heartbeat messages will be produced to the '"+hbTopic+"' topic every 1 seconds") ||
		!strings.Contains(output, "Log messages will be produced to the '"+logTopic+"' topic every 1 seconds") {
		t.Fatalf("no start lines:\n%s", output)
	}
	if strings.Contains(output, "alice-secret") {
		t.Fatalf("password in the output:\n%s", output)
	}
	sm := summaryRE.FindStringSubmatch(output)
	if sm == nil {
		t.Fatalf("no summary:\n%s", output)
	}
	read, _ := strconv.ParseInt(sm[1], 10, 64)
	processed, _ := strconv.ParseInt(sm[2], 10, 64)
	want := heartbeatTotals{read, processed, int64(len(data)), int64(len(data))}

	var got heartbeatTotals
	kafkatest.ReadTopic(t, kafkatest.Bootstrap(), hbTopic, 15*time.Second, func(m []*kafka.Message) bool {
		got = sumHeartbeats(t, m, "lab-pc-7_heartbeat")
		return got == want
	})
	if read != 5 || processed != 5 {
		t.Errorf("summary says %d read, %d processed; want 5 and 5", read, processed)
	}

	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	kafkatest.ReadTopic(t, kafkatest.Bootstrap(), logTopic, 15*time.Second, func(m []*kafka.Message) bool {
		lines = logLines(t, m, host+"_log")
		return len(lines) > 0 && strings.HasPrefix(lines[len(lines)-1], "File reconstructor writing to "+out+" shut down")
	})
	joined := strings.Join(lines, "\n")
	for _, want := range []string{"Using config file " + cfg, "Listening for files to reconstruct in " + out, "Quit requested: shutting down"} {
		if !strings.Contains(joined, want) {
			t.Errorf("log messages lack %q:\n%s", want, joined)
		}
	}
	if strings.Contains(joined, "[DataFileDownloadDirectory ") {
		t.Errorf("log lines carry the console prefix:\n%s", joined)
	}
}

// A log topic whose broker cannot be reached (a closed port) changes
// nothing for the download, and its failures are reported once per
// interval, not once per message or per retry.
func TestTelemetryBrokerDownE2E(t *testing.T) {
	topic, cfg := setup(t, 2)
	hbTopic := extraTopic(t, "hb")
	appendConfig(t, cfg, "\n[log]\nbootstrap.servers = 127.0.0.1:1\nmessage.timeout.ms = 500\n")
	out := t.TempDir()
	data := randomData(12, 200_000)
	produce(t, topic, uploadtest.FileChunks(data, "down/a.dat", 65536, uploadtest.Options{}))

	began := time.Now()
	p := start(t, true, out, "--config", cfg, "--topic_name", topic,
		"--heartbeat_topic_name", hbTopic, "--heartbeat_interval_secs", "1",
		"--log_topic_name", "unreachable_logs", "--log_interval_secs", "1", "--update_seconds", "-1")
	waitFor(t, "the file", time.Minute, func() bool { return sameFile(filepath.Join(out, "down", "a.dat"), data) })
	waitFor(t, "repeated failure reports", 15*time.Second, func() bool {
		return strings.Count(p.Output(), "could not send a log message") >= 3
	})
	io.WriteString(p.stdin, "quit\n")
	quit := time.Now()
	if code := p.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	if d := time.Since(quit); d > 15*time.Second {
		t.Errorf("took %v to stop", d)
	}
	ran := time.Since(began)
	output := p.Output()
	if n, most := strings.Count(output, "could not send a log message"), int(ran/time.Second)+2; n > most {
		t.Errorf("%d delivery failure reports in %v, want at most one a second:\n%s", n, ran, output)
	}
	if n := strings.Count(output, "librdkafka:"); n > 4 {
		t.Errorf("librdkafka complained %d times:\n%s", n, output)
	}
	if !strings.Contains(output, "1 file was successfully reconstructed") {
		t.Fatalf("no summary:\n%s", output)
	}
	// The heartbeats, on the working broker, are not held up.
	host, _ := os.Hostname()
	kafkatest.ReadTopic(t, kafkatest.Bootstrap(), hbTopic, 15*time.Second, func(m []*kafka.Message) bool {
		return sumHeartbeats(t, m, host+"_heartbeat").processed == 4
	})
}
