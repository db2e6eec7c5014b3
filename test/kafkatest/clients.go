package kafkatest

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

// One channel for every test client's librdkafka log lines, drained by one
// goroutine for the life of the process. A client's own Logs() channel
// would have to be drained per client, and an undrained one blocks
// librdkafka's log forwarding; without any channel, librdkafka writes raw
// "%3|...|FAIL|..." lines to stderr (every broker restart makes some).
var clientLogs = make(chan kafka.LogEvent, 1024)

func init() {
	show := os.Getenv("KAFKATEST_CLIENT_LOGS") == "1"
	go func() {
		for ev := range clientLogs {
			if show {
				fmt.Fprintf(os.Stderr, "librdkafka %s %d %s: %s\n", ev.Name, ev.Level, ev.Tag, ev.Message)
			}
		}
	}()
}

// Quiet routes a producer's or consumer's librdkafka logs away from
// stderr, to a sink that discards them ($KAFKATEST_CLIENT_LOGS=1 prints
// them). It changes cm and returns it, to be used as
// kafka.NewProducer(kafkatest.Quiet(&kafka.ConfigMap{...})). Only messages
// from inside kafka.NewProducer/NewConsumer themselves (configuration
// warnings) still reach stderr. NewAdminClient ignores these settings:
// derive admin clients from a quiet producer
// (kafka.NewAdminClientFromProducer).
func Quiet(cm *kafka.ConfigMap) *kafka.ConfigMap {
	(*cm)["go.logs.channel.enable"] = true
	(*cm)["go.logs.channel"] = clientLogs
	return cm
}

// newAdmin is an admin client whose logs are quiet and which never
// auto-creates topics: it runs on a producer handle, where librdkafka's
// allow.auto.create.topics defaults to true, so a metadata request for a
// topic that is being created could create it with the broker's default
// partition count first.
func newAdmin(bootstrap string) (*kafka.AdminClient, func(), error) {
	p, err := kafka.NewProducer(Quiet(&kafka.ConfigMap{
		"bootstrap.servers":        bootstrap,
		"allow.auto.create.topics": false,
	}))
	if err != nil {
		return nil, nil, err
	}
	a, err := kafka.NewAdminClientFromProducer(p)
	if err != nil {
		p.Close()
		return nil, nil, err
	}
	return a, func() { a.Close(); p.Close() }, nil
}

// waitMetadata returns once the broker answers a metadata request with
// itself in it: an open port alone does not prove the broker serves.
func waitMetadata(ctx context.Context, bootstrap string) error {
	ctx, cancel := withDefaultTimeout(ctx, 60*time.Second)
	defer cancel()
	a, done, err := newAdmin(bootstrap)
	if err != nil {
		return err
	}
	defer done()
	for {
		md, err := a.GetMetadata(nil, true, 1000)
		if err == nil && len(md.Brokers) == 1 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("no metadata from %s: %v (last error: %v)", bootstrap, ctx.Err(), err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// CreateTopic creates a topic with replication factor 1 and waits until
// the broker's metadata shows every partition with a leader, so that a
// producer started right after finds them all. An existing topic with the
// same partition count is fine; with another count it is an error.
func CreateTopic(ctx context.Context, bootstrap, name string, partitions int) error {
	ctx, cancel := withDefaultTimeout(ctx, 60*time.Second)
	defer cancel()
	a, done, err := newAdmin(bootstrap)
	if err != nil {
		return err
	}
	defer done()
	res, err := a.CreateTopics(ctx,
		[]kafka.TopicSpecification{{Topic: name, NumPartitions: partitions, ReplicationFactor: 1}},
		kafka.SetAdminOperationTimeout(30*time.Second))
	if err != nil {
		return fmt.Errorf("kafkatest: create topic %s: %w", name, err)
	}
	for _, r := range res {
		if c := r.Error.Code(); c != kafka.ErrNoError && c != kafka.ErrTopicAlreadyExists {
			return fmt.Errorf("kafkatest: create topic %s: %w", name, r.Error)
		}
	}
	var last string
	for {
		md, err := a.GetMetadata(&name, false, 1000)
		if err != nil {
			last = err.Error()
		} else if t, ok := md.Topics[name]; !ok || t.Error.Code() != kafka.ErrNoError {
			last = fmt.Sprintf("topic not in metadata yet (%v)", t.Error)
		} else if len(t.Partitions) != partitions {
			// Not a transient state: the topic already existed.
			return fmt.Errorf("kafkatest: topic %s exists with %d partitions, not %d", name, len(t.Partitions), partitions)
		} else if leaderless(t) == 0 {
			return nil
		} else {
			last = fmt.Sprintf("%d partitions without a leader", leaderless(t))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("kafkatest: topic %s not ready: %v (%s)", name, ctx.Err(), last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func leaderless(t kafka.TopicMetadata) int {
	n := 0
	for _, p := range t.Partitions {
		if p.Error.Code() != kafka.ErrNoError || p.Leader < 0 {
			n++
		}
	}
	return n
}

func withDefaultTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, d)
}
