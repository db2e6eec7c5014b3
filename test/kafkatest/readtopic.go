package kafkatest

import (
	"fmt"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

// ReadTopic reads topic from its start, with a group of its own, until
// enough says the messages so far suffice; it fails t when timeout passes
// first. enough is called with no messages too.
func ReadTopic(t testing.TB, bootstrap, topic string, timeout time.Duration, enough func([]*kafka.Message) bool) []*kafka.Message {
	t.Helper()
	c, err := kafka.NewConsumer(Quiet(&kafka.ConfigMap{
		"bootstrap.servers":  bootstrap,
		"group.id":           fmt.Sprintf("kafkatest-reader-%s-%d", topic, time.Now().UnixNano()),
		"auto.offset.reset":  "earliest",
		"enable.auto.commit": false,
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Subscribe(topic, nil); err != nil {
		t.Fatal(err)
	}
	var msgs []*kafka.Message
	for deadline := time.Now().Add(timeout); !enough(msgs); {
		if time.Now().After(deadline) {
			t.Fatalf("topic %s: only %d messages after %v", topic, len(msgs), timeout)
		}
		if m, err := c.ReadMessage(200 * time.Millisecond); err == nil {
			msgs = append(msgs, m)
		}
	}
	return msgs
}
