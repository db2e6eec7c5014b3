package kafkatest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

// CommittedAll says whether group has committed every message of the
// topic's first partitions partitions: a committed offset at each high
// watermark. It fails t only if no client can be made.
func CommittedAll(t testing.TB, bootstrap, group, topic string, partitions int) bool {
	t.Helper()
	kc, err := kafka.NewConsumer(Quiet(&kafka.ConfigMap{"bootstrap.servers": bootstrap, "group.id": group}))
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	parts := make([]kafka.TopicPartition, 0, partitions)
	for p := range int32(partitions) {
		parts = append(parts, kafka.TopicPartition{Topic: &topic, Partition: p})
	}
	got, err := kc.Committed(parts, 10_000)
	if err != nil {
		return false
	}
	for _, tp := range got {
		_, high, err := kc.QueryWatermarkOffsets(topic, tp.Partition, 10_000)
		if err != nil || (high > 0 && int64(tp.Offset) != high) {
			return false
		}
	}
	return true
}

// NewTopic creates a topic named after prefix and the time on the shared
// broker (Require decides whether a missing broker fails or skips t), so
// that every test gets a topic of its own.
func NewTopic(t testing.TB, prefix string, partitions int) string {
	t.Helper()
	Require(t)
	name := fmt.Sprintf("%s_%d", strings.ReplaceAll(prefix, "/", "_"), time.Now().UnixNano())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := CreateTopic(ctx, Bootstrap(), name, partitions); err != nil {
		t.Fatal(err)
	}
	return name
}
