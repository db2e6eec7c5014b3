package kctest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/sirupsen/logrus"

	"github.com/openmsi/datafiledownloaddirectory/kafkacrypto"
	"github.com/openmsi/datafiledownloaddirectory/test/kafkatest"
)

func TestMain(m *testing.M) { os.Exit(kafkatest.Shared(m)) }

func uniqueRoot() string {
	b := make([]byte, 4)
	rand.Read(b)
	return "kcx" + hex.EncodeToString(b)
}

// fetch reads the n messages of partition 0 of topic, where kafkacrypto's
// producer sends them.
func fetch(t *testing.T, topic string, n int) []*kafka.Message {
	t.Helper()
	c, err := kafka.NewConsumer(&kafka.ConfigMap{"bootstrap.servers": kafkatest.Bootstrap(), "group.id": "kctest-reader"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Assign([]kafka.TopicPartition{{Topic: &topic, Partition: 0, Offset: kafka.OffsetBeginning}}); err != nil {
		t.Fatal(err)
	}
	var out []*kafka.Message
	deadline := time.Now().Add(30 * time.Second)
	for len(out) < n && time.Now().Before(deadline) {
		if m, err := c.ReadMessage(time.Second); err == nil {
			out = append(out, m)
		}
	}
	if len(out) < n {
		t.Fatalf("read %d of %d messages from %s", len(out), n, topic)
	}
	return out
}

// startClient runs a key-exchange client of a node for topic until the
// test ends; its log goes to the returned buffer.
func startClient(t *testing.T, nodeConfig, topic string) (*kafkacrypto.Client, *syncBuffer) {
	t.Helper()
	node, err := kafkacrypto.LoadNode(nodeConfig, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	buf := &syncBuffer{}
	logger := logrus.New()
	logger.SetOutput(buf)
	logger.SetLevel(logrus.DebugLevel)
	c, err := kafkacrypto.NewClient(node, topic, map[string]string{"bootstrap.servers": kafkatest.Bootstrap()}, logrus.NewEntry(logger))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); c.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
		if t.Failed() {
			t.Logf("key exchange log:\n%s", buf.String())
		}
	})
	return c, buf
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// open decrypts a message's key and value with keys from the client,
// waiting up to wait for them.
func open(t *testing.T, c *kafkacrypto.Client, m *kafka.Message, wait time.Duration) (key, value []byte, err error) {
	t.Helper()
	kenv, err := kafkacrypto.ParseEnvelope(m.Key)
	if err != nil {
		return nil, nil, err
	}
	venv, err := kafkacrypto.ParseEnvelope(m.Value)
	if err != nil {
		return nil, nil, err
	}
	c.Want(venv.KeyIndex)
	secret, ok := c.Wait(context.Background(), venv.KeyIndex, time.Now().Add(wait))
	if !ok {
		return nil, nil, fmt.Errorf("no key for key index %s within %s", venv.KeyIndex, wait)
	}
	if key, err = kenv.Open(secret, kafkacrypto.KeyPart); err != nil {
		return nil, nil, err
	}
	value, err = venv.Open(secret, kafkacrypto.ValuePart)
	return key, value, err
}

// A consumer node provisioned under the producers' root gets the keys from
// a running kafkacrypto producer node and opens its messages, also after
// the producer moves to a new key.
func TestKeyExchangeWithKafkaCryptoProducer(t *testing.T) {
	kafkatest.Require(t)
	py := Python(t)
	lab := NewLab(t, py)
	lab.Node("", "prod", "producer")
	lab.Node("", "cons", "consumer")
	root := uniqueRoot()
	topic := root + ".data"
	p := StartProducer(t, py, filepath.Join(lab.Dir, "prod", "prod.config"), kafkatest.Bootstrap())
	ki1 := p.Send(topic, []byte("k1"), []byte("first value"))
	c, _ := startClient(t, filepath.Join(lab.Dir, "cons", "cons.config"), topic)

	msgs := fetch(t, topic, 1)
	start := time.Now()
	key, value, err := open(t, c, msgs[0], 30*time.Second)
	if err != nil || string(key) != "k1" || string(value) != "first value" {
		t.Fatalf("first message: %q %q %v", key, value, err)
	}
	t.Logf("key for %s… arrived after %s", ki1[:8], time.Since(start).Round(time.Millisecond))

	p.Rotate()
	ki2 := p.Send(topic, []byte("k2"), []byte("after rotation"))
	if ki2 == ki1 {
		t.Fatal("the producer did not move to a new key")
	}
	msgs = fetch(t, topic, 2)
	key, value, err = open(t, c, msgs[1], 30*time.Second)
	if err != nil || string(key) != "k2" || string(value) != "after rotation" {
		t.Fatalf("message after rotation: %q %q %v", key, value, err)
	}
}

// Nodes the producer does not trust get no keys: one under another root of
// trust, and one on the producer's denylist.
func TestKeyExchangeRefusedToUntrustedNodes(t *testing.T) {
	kafkatest.Require(t)
	py := Python(t)
	lab := NewLab(t, py)
	other := NewLab(t, py)
	denied := lab.Node("", "denied", "consumer")
	lab.Node("", "prod", "producer", "--deny", denied)
	other.Node("", "stranger", "consumer")
	root := uniqueRoot()
	topic := root + ".data"
	p := StartProducer(t, py, filepath.Join(lab.Dir, "prod", "prod.config"), kafkatest.Bootstrap())
	p.Send(topic, []byte("k"), []byte("secret"))
	msgs := fetch(t, topic, 1)

	for _, cfg := range []string{filepath.Join(other.Dir, "stranger", "stranger.config"), filepath.Join(lab.Dir, "denied", "denied.config")} {
		c, _ := startClient(t, cfg, topic)
		if _, _, err := open(t, c, msgs[0], 8*time.Second); err == nil {
			t.Errorf("%s got the key", filepath.Base(cfg))
		}
		if sent, _, _ := c.Stats(); sent < 2 {
			t.Errorf("%s sent %d requests in 8 s; it asks again after 2 s", filepath.Base(cfg), sent)
		}
	}
	// The trusted consumer of the same lab does get it, so the refusals
	// above are the producer's judgement, not a broken exchange.
	lab.Node("", "cons", "consumer")
	c, _ := startClient(t, filepath.Join(lab.Dir, "cons", "cons.config"), topic)
	if _, v, err := open(t, c, msgs[0], 30*time.Second); err != nil || string(v) != "secret" {
		t.Fatalf("trusted consumer: %q %v", v, err)
	}
}
