package download

import (
	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

// kafkaConsumer is what a consumer calls on its Kafka client: the real one
// is librdkafka's (newKafkaConsumer); the consumer logic's unit tests
// script a fake one (consumer_test.go).
type kafkaConsumer interface {
	// Subscribe joins the group for topic; rebalance runs inside Poll.
	Subscribe(topic string, rebalance func(kafka.Event) error) error
	Poll(timeoutMs int) kafka.Event
	Pause(partitions []kafka.TopicPartition) error
	Resume(partitions []kafka.TopicPartition) error
	Seek(partition kafka.TopicPartition, ignoredTimeoutMs int) error
	CommitOffsets(offsets []kafka.TopicPartition) ([]kafka.TopicPartition, error)
	// AssignmentLost tells, in a revoke, whether the partitions were
	// already taken away (no commit then).
	AssignmentLost() bool
	GetMetadata(topic *string, allTopics bool, timeoutMs int) (*kafka.Metadata, error)
	Close() error
}

// librdkafkaConsumer is a kafkaConsumer on confluent-kafka-go.
type librdkafkaConsumer struct{ *kafka.Consumer }

// newKafkaConsumer makes a consumer's client; a variable so that a test can
// stand in for a client that librdkafka cannot close (fence_test.go).
var newKafkaConsumer = func(cm *kafka.ConfigMap) (kafkaConsumer, error) {
	c, err := kafka.NewConsumer(cm)
	if err != nil {
		return nil, err
	}
	return librdkafkaConsumer{c}, nil
}

func (c librdkafkaConsumer) Subscribe(topic string, rebalance func(kafka.Event) error) error {
	return c.Consumer.Subscribe(topic, func(_ *kafka.Consumer, ev kafka.Event) error { return rebalance(ev) })
}
