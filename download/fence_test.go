package download

// A static member fenced out of its group, against the real broker. A
// client with the consumer's own group.instance.id joins and takes its
// place. Whether the consumer is replaced depends on whether its session
// had expired before: with librdkafka 2.11 a consumer whose session expired
// (while the broker could not be reached) can be fenced by its own earlier
// membership, which the broker restart test meets when the timing is
// right; here the expiry is recorded by hand, as forwardLogs does when
// librdkafka reports it. Without one, the member that took the place is
// another process, and the download must stop and say so.

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/openmsi/datafiledownloaddirectory/test/kafkatest"
	"github.com/openmsi/datafiledownloaddirectory/test/uploadtest"
)

// fencingRun is a downloader with one static consumer on a topic of its own.
type fencingRun struct {
	*loggedRun
	t     *testing.T
	topic string
	out   string
}

func startFencingRun(t *testing.T) *fencingRun {
	kafkatest.Require(t)
	r := &fencingRun{t: t, topic: fmt.Sprintf("fenced_%d", time.Now().UnixNano()), out: t.TempDir()}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := kafkatest.CreateTopic(ctx, kafkatest.Bootstrap(), r.topic, 2); err != nil {
		t.Fatal(err)
	}
	r.loggedRun = startLogged(t, r.out, r.topic, "g-"+r.topic, true)
	r.arrives("before.bin", 1)
	return r
}

// arrives uploads a file and waits for it. An upload that gets no answer
// is tried again: a broker that was just frozen (frozen_test.go) can leave
// a producer waiting for its delivery reports, while a new one succeeds.
func (r *fencingRun) arrives(name string, seed uint64) {
	r.t.Helper()
	data := randomBytes(seed, 50_000)
	for attempt := 1; ; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		err := uploadtest.Produce(ctx, kafkatest.Bootstrap(), r.topic, uploadtest.FileChunks(data, name, 8192, uploadtest.Options{}))
		cancel()
		if err == nil {
			break
		}
		if attempt == 3 {
			r.t.Fatalf("upload %s: %v", name, err)
		}
		r.t.Logf("upload %s, attempt %d: %v; trying again", name, attempt, err)
	}
	WaitFor(r.t, name, time.Minute, func() bool {
		got, err := os.ReadFile(filepath.Join(r.out, name))
		return err == nil && bytes.Equal(got, data)
	})
}

// twin joins the group with the consumer's group.instance.id and client
// id and polls until until says stop.
func (r *fencingRun) twin(until func() bool) {
	r.t.Helper()
	kc, err := kafka.NewConsumer(kafkatest.Quiet(&kafka.ConfigMap{
		"bootstrap.servers":  kafkatest.Bootstrap(),
		"group.id":           "g-" + r.topic,
		"group.instance.id":  r.d.members.instanceIDs[0],
		"client.id":          r.d.members.clientIDs[0],
		"enable.auto.commit": false,
		"session.timeout.ms": 6000,
	}))
	if err != nil {
		r.t.Fatal(err)
	}
	if err := kc.Subscribe(r.topic, nil); err != nil {
		r.t.Fatal(err)
	}
	WaitFor(r.t, "the consumer to be fenced", time.Minute, func() bool {
		kc.Poll(100)
		return until()
	})
	// Fenced in its turn when the consumer is replaced, the twin's close
	// can hang in librdkafka (supervisor.go); it is left to end with the test.
	go kc.Close()
}

func TestFencedAfterExpiredSessionRejoins(t *testing.T) {
	r := startFencingRun(t)
	r.d.sessionLost[0].Store(true)
	r.twin(func() bool { return strings.Contains(r.logged.String(), "by its own earlier membership") })
	r.arrives("after.bin", 2)
	r.running(t)
}

// unclosable is a client whose Close never returns, as librdkafka's did
// once after a fence (supervisor.go); it is left to end with the test.
type unclosable struct {
	kafkaConsumer
	closing chan struct{}
}

func (c unclosable) Close() error {
	close(c.closing)
	go c.kafkaConsumer.Close()
	select {}
}

// After a fence, the stop is bounded although the replacement client
// cannot be closed.
func TestStopIsBoundedAfterAFence(t *testing.T) {
	closing := make(chan struct{})
	made := newKafkaConsumer
	var clients atomic.Int32
	newKafkaConsumer = func(cm *kafka.ConfigMap) (kafkaConsumer, error) {
		kc, err := made(cm)
		if err != nil || clients.Add(1) == 1 {
			return kc, err // the first client closes as usual
		}
		return unclosable{kc, closing}, nil
	}
	t.Cleanup(func() { newKafkaConsumer = made })
	r := startFencingRun(t)
	r.d.sessionLost[0].Store(true)
	r.twin(func() bool { return strings.Contains(r.logged.String(), "by its own earlier membership") })
	r.arrives("after.bin", 2)
	r.stop()
	select {
	case <-r.done:
	case <-time.After(fatalCloseTimeout + 10*time.Second):
		t.Fatalf("Run did not return within %v of the stop", fatalCloseTimeout+10*time.Second)
	}
	select {
	case <-closing:
	default:
		t.Fatal("the replacement client was never closed")
	}
	if !strings.Contains(r.logged.String(), "did not close within") {
		t.Fatal("no warning that the client was left unclosed")
	}
}

func TestFencedByAnotherProcessStops(t *testing.T) {
	r := startFencingRun(t)
	r.twin(func() bool {
		select {
		case <-r.done:
			return true
		default:
			return false
		}
	})
	if r.err == nil || !strings.Contains(r.err.Error(), "another consumer took this program's place") {
		t.Fatalf("Run returned %v; want the explanation of the fencing", r.err)
	}
	if strings.Contains(r.logged.String(), "by its own earlier membership") {
		t.Fatal("the consumer was replaced although its session had not expired")
	}
}

// noteSessionLost finds the consumer by librdkafka's name for its client.
func TestNoteSessionLost(t *testing.T) {
	d := &Downloader{members: newMembership(Config{GroupID: "g", Consumers: 2, Kafka: map[string]string{}}, nil), sessionLost: make([]atomic.Bool, 2)}
	d.noteSessionLost(d.members.clientIDs[1] + "#consumer-7")
	if d.sessionLost[0].Load() || !d.sessionLost[1].Load() {
		t.Fatalf("session lost: %v, %v; want only consumer 1", d.sessionLost[0].Load(), d.sessionLost[1].Load())
	}
	shared := &Downloader{members: newMembership(Config{GroupID: "g", Consumers: 2, Kafka: map[string]string{"client.id": "lab"}}, nil), sessionLost: make([]atomic.Bool, 2)}
	shared.noteSessionLost("lab#consumer-3")
	if !shared.sessionLost[0].Load() || !shared.sessionLost[1].Load() {
		t.Fatal("consumers that share a client.id: not all marked")
	}
}
