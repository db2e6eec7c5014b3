package kafkatest

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/openmsi/datafiledownloaddirectory/test/testkit"
)

func TestMain(m *testing.M) { os.Exit(Shared(m)) }

func unique(prefix string) string {
	return fmt.Sprintf("%s-%d", prefix, time.Now().UnixNano())
}

// payload is recognisable per message, so that a mixed-up or truncated
// value is caught and not just a wrong count.
func payload(i, size int) []byte {
	v := bytes.Repeat([]byte{byte(i)}, size)
	binary.BigEndian.PutUint64(v, uint64(i))
	return v
}

func newProducer(t *testing.T, bootstrap string) *kafka.Producer {
	t.Helper()
	p, err := kafka.NewProducer(Quiet(&kafka.ConfigMap{
		"bootstrap.servers":        bootstrap,
		"allow.auto.create.topics": false,
		"acks":                     "all",
		"linger.ms":                5,
		// librdkafka backs off up to 10 s between reconnects by default,
		// which dominates how long clients take to notice a restart.
		"reconnect.backoff.max.ms": 1000,
	}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

func newConsumer(t *testing.T, bootstrap, group, topic string) *kafka.Consumer {
	t.Helper()
	c, err := kafka.NewConsumer(Quiet(&kafka.ConfigMap{
		"bootstrap.servers":  bootstrap,
		"group.id":           group,
		"auto.offset.reset":  "earliest",
		"enable.auto.commit": false,
		// Allowed by the broker's group.min.session.timeout.ms=1000.
		"session.timeout.ms":       6000,
		"reconnect.backoff.max.ms": 1000,
	}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Subscribe(topic, nil); err != nil {
		t.Fatal(err)
	}
	return c
}

// produce sends values[from:to] to partition i%partitions and waits for
// every delivery report.
func produce(t *testing.T, p *kafka.Producer, topic string, partitions, from, to, size int, wait time.Duration) {
	t.Helper()
	reports := make(chan kafka.Event, to-from)
	for i := from; i < to; i++ {
		err := p.Produce(&kafka.Message{
			TopicPartition: kafka.TopicPartition{Topic: &topic, Partition: int32(i % partitions)},
			Key:            []byte(strconv.Itoa(i)),
			Value:          payload(i, size),
		}, reports)
		if err != nil {
			t.Fatalf("produce %d: %v", i, err)
		}
	}
	deadline := time.After(wait)
	for n := from; n < to; n++ {
		select {
		case ev := <-reports:
			m := ev.(*kafka.Message)
			if m.TopicPartition.Error != nil {
				t.Fatalf("delivery of %s: %v", m.Key, m.TopicPartition.Error)
			}
		case <-deadline:
			t.Fatalf("only %d of %d deliveries within %v", n-from, to-from, wait)
		}
	}
}

// consume reads until it has seen every key in [from, to), checking each
// value, and returns the partitions the messages came from.
// commitAfterRejoin commits what c consumed, messages from..to. A consumer
// that kept reading its partitions through a broker's SIGKILL may hold a
// member id the restarted broker no longer knows (the group's state is
// replayed from __consumer_offsets, whose unflushed tail the kill took):
// the commit is refused with "Unknown member" (seen once in CI). librdkafka
// then rejoins, and the new assignment starts again from the last commit,
// so the same messages come again; they are read and the commit is tried
// again.
func commitAfterRejoin(t *testing.T, c *kafka.Consumer, from, to, size int, wait time.Duration) {
	t.Helper()
	for try := 1; ; try++ {
		_, err := c.Commit()
		if err == nil {
			return
		}
		var kerr kafka.Error
		if !errors.As(err, &kerr) || try == 3 {
			t.Fatal(err)
		}
		switch kerr.Code() {
		case kafka.ErrUnknownMemberID, kafka.ErrIllegalGeneration, kafka.ErrRebalanceInProgress:
		default:
			t.Fatal(err)
		}
		t.Logf("commit refused while the group re-forms (%v); reading the messages again", err)
		consume(t, c, from, to, size, wait)
	}
}

func consume(t *testing.T, c *kafka.Consumer, from, to, size int, wait time.Duration) map[int32]int {
	t.Helper()
	seen := map[int]bool{}
	parts := map[int32]int{}
	logged := map[string]bool{}
	deadline := time.Now().Add(wait)
	for len(seen) < to-from {
		if time.Now().After(deadline) {
			t.Fatalf("consumed %d of %d messages within %v", len(seen), to-from, wait)
		}
		m, err := c.ReadMessage(time.Second)
		if err != nil {
			if err.(kafka.Error).IsTimeout() {
				continue
			}
			// Transient while a broker restarts; the consumer recovers. It
			// queues the same error many times over, once is enough.
			if !logged[err.Error()] {
				logged[err.Error()] = true
				t.Logf("consumer: %v", err)
			}
			continue
		}
		i, err := strconv.Atoi(string(m.Key))
		if err != nil || i < from || i >= to {
			t.Fatalf("unexpected key %q", m.Key)
		}
		if !bytes.Equal(m.Value, payload(i, size)) {
			t.Fatalf("message %d: wrong value (%d bytes)", i, len(m.Value))
		}
		seen[i] = true
		parts[m.TopicPartition.Partition]++
	}
	return parts
}

func TestProduceConsume100x512KiB(t *testing.T) {
	Require(t)
	const n, size, partitions = 100, 512 << 10, 4
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	topic := unique("kafkatest-roundtrip")
	if err := CreateTopic(ctx, Bootstrap(), topic, partitions); err != nil {
		t.Fatal(err)
	}
	// Creating it again with the same count is fine, with another is not.
	if err := CreateTopic(ctx, Bootstrap(), topic, partitions); err != nil {
		t.Fatalf("second CreateTopic: %v", err)
	}
	if err := CreateTopic(ctx, Bootstrap(), topic, 2); err == nil {
		t.Fatal("CreateTopic with another partition count succeeded")
	}

	start := time.Now()
	produce(t, newProducer(t, Bootstrap()), topic, partitions, 0, n, size, time.Minute)
	produced := time.Since(start)

	c := newConsumer(t, Bootstrap(), unique("kafkatest-group"), topic)
	start = time.Now()
	parts := consume(t, c, 0, n, size, time.Minute)
	consumed := time.Since(start)
	if len(parts) != partitions {
		t.Errorf("messages came from %d partitions, want %d: %v", len(parts), partitions, parts)
	}
	mib := float64(n*size) / (1 << 20)
	t.Logf("%d × %d KiB: produced in %v (%.0f MiB/s), consumed in a group in %v (%.0f MiB/s, including the join)",
		n, size>>10, produced.Round(time.Millisecond), mib/produced.Seconds(), consumed.Round(time.Millisecond), mib/consumed.Seconds())

	// The group really owns the partitions: its commit is accepted.
	offsets, err := c.Commit()
	if err != nil {
		t.Fatalf("commit: %v", err)
	}
	var total int64
	for _, o := range offsets {
		total += int64(o.Offset)
	}
	if total != n {
		t.Errorf("committed offsets add up to %d, want %d", total, n)
	}
	if b := SharedBroker(); b != nil {
		t.Logf("shared broker RSS: %s", rss(b.PID()))
	}
}

func TestKillRestart(t *testing.T) {
	start := time.Now()
	b := StartTest(t)
	t.Logf("own broker ready after %v at %s, RSS %s", time.Since(start).Round(time.Millisecond), b.Bootstrap(), rss(b.PID()))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	const size, partitions = 4 << 10, 2
	topic := unique("kafkatest-restart")
	if err := CreateTopic(ctx, b.Bootstrap(), topic, partitions); err != nil {
		t.Fatal(err)
	}
	p := newProducer(t, b.Bootstrap())
	c := newConsumer(t, b.Bootstrap(), unique("kafkatest-group"), topic)
	produce(t, p, topic, partitions, 0, 10, size, 30*time.Second)
	consume(t, c, 0, 10, size, 30*time.Second)
	if _, err := c.Commit(); err != nil {
		t.Fatal(err)
	}

	addr := b.Bootstrap()
	if err := b.Kill(); err != nil {
		t.Fatal(err)
	}
	if pid := b.PID(); pid != 0 {
		t.Fatalf("PID file still names %d after Kill", pid)
	}
	// Sent while the broker is down: librdkafka queues them and must
	// deliver them after the restart (message.timeout.ms is 5 minutes).
	reports := make(chan error, 1)
	go func() {
		defer close(reports)
		for i := 10; i < 20; i++ {
			dr := make(chan kafka.Event, 1)
			err := p.Produce(&kafka.Message{
				TopicPartition: kafka.TopicPartition{Topic: &topic, Partition: int32(i % partitions)},
				Key:            []byte(strconv.Itoa(i)),
				Value:          payload(i, size),
			}, dr)
			if err == nil {
				if m := (<-dr).(*kafka.Message); m.TopicPartition.Error != nil {
					err = m.TopicPartition.Error
				}
			}
			if err != nil {
				reports <- fmt.Errorf("message %d: %w", i, err)
				return
			}
		}
	}()
	time.Sleep(time.Second)

	start = time.Now()
	if err := b.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("restart after SIGKILL: ready in %v", time.Since(start).Round(time.Millisecond))
	if b.Bootstrap() != addr {
		t.Fatalf("restart moved the broker from %s to %s", addr, b.Bootstrap())
	}
	select {
	case err := <-reports:
		if err != nil {
			t.Fatalf("producer after restart: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("producer did not deliver after the restart")
	}
	t.Logf("the producer from before the crash delivered %v after the restart", time.Since(start).Round(time.Millisecond))
	// The consumer made before the crash goes on from its commit. It takes
	// about session.timeout.ms longer than the producer: librdkafka gave
	// up its member id during the outage, and the rebalance waits for the
	// old member's session to expire on the broker.
	consume(t, c, 10, 20, size, time.Minute)
	t.Logf("the consumer from before the crash caught up %v after the restart", time.Since(start).Round(time.Millisecond))
	commitAfterRejoin(t, c, 10, 20, size, time.Minute)
	// Nothing acknowledged before the SIGKILL was lost.
	consume(t, newConsumer(t, b.Bootstrap(), unique("kafkatest-group"), topic), 0, 20, size, time.Minute)
	t.Logf("a new group read everything %v after the restart", time.Since(start).Round(time.Millisecond))

	// A graceful restart keeps working too.
	start = time.Now()
	if err := b.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("graceful restart: %v", time.Since(start).Round(time.Millisecond))
	produce(t, p, topic, partitions, 20, 30, size, time.Minute)
	consume(t, c, 20, 30, size, time.Minute)
	t.Logf("old producer and consumer worked again %v after the graceful restart began", time.Since(start).Round(time.Millisecond))
}

func TestSASLListener(t *testing.T) {
	Require(t)
	if BootstrapSASL() == "" {
		testkit.Need(t, "the broker has no SASL listener (KAFKA_BOOTSTRAP without KAFKA_BOOTSTRAP_SASL)")
	}
	client := func(password string) *kafka.Producer {
		p, err := kafka.NewProducer(Quiet(&kafka.ConfigMap{
			"bootstrap.servers":        BootstrapSASL(),
			"security.protocol":        "SASL_PLAINTEXT",
			"sasl.mechanisms":          "PLAIN",
			"sasl.username":            "alice",
			"sasl.password":            password,
			"allow.auto.create.topics": false,
		}))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.Close)
		return p
	}
	if _, err := client("alice-secret").GetMetadata(nil, true, 10000); err != nil {
		t.Fatalf("alice: %v", err)
	}
	// A metadata request with a wrong password only times out; the
	// authentication error itself arrives as an event.
	bad := client("wrong")
	deadline := time.After(10 * time.Second)
	for {
		select {
		case ev := <-bad.Events():
			if err, ok := ev.(kafka.Error); ok && err.Code() == kafka.ErrAuthentication {
				return
			}
		case <-deadline:
			t.Fatal("no authentication error for a wrong password")
		}
	}
}

func TestSSLListener(t *testing.T) {
	Require(t)
	if BootstrapSSL() == "" {
		testkit.Need(t, "the broker has no SASL_SSL listener (KAFKA_BOOTSTRAP without KAFKA_BOOTSTRAP_SSL)")
	}
	client := func(ca string) *kafka.Producer {
		cm := kafka.ConfigMap{
			"bootstrap.servers":        BootstrapSSL(),
			"security.protocol":        "SASL_SSL",
			"sasl.mechanisms":          "PLAIN",
			"sasl.username":            "alice",
			"sasl.password":            "alice-secret",
			"allow.auto.create.topics": false,
		}
		if ca != "" {
			cm["ssl.ca.location"] = ca
		}
		p, err := kafka.NewProducer(Quiet(&cm))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.Close)
		return p
	}
	if _, err := client(CAFile()).GetMetadata(nil, true, 10000); err != nil {
		t.Fatalf("with the test CA: %v", err)
	}
	// Without the CA the system's trust store does not know the broker:
	// the certificate is really checked.
	bad := client("")
	deadline := time.After(10 * time.Second)
	for {
		select {
		case ev := <-bad.Events():
			if err, ok := ev.(kafka.Error); ok && err.Code() == kafka.ErrSsl {
				return
			}
		case <-deadline:
			t.Fatal("no SSL error without the CA")
		}
	}
}

// rss is the process's resident memory now and at its peak.
func rss(pid int) string {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return "unknown"
	}
	var now, peak string
	for _, l := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			now = strings.TrimSpace(v)
		}
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			peak = strings.TrimSpace(v)
		}
	}
	return fmt.Sprintf("%s (peak %s)", now, peak)
}
