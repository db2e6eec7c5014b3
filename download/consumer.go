package download

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/sirupsen/logrus"

	"github.com/openmsi/datafiledownloaddirectory/download/storage"
	"github.com/openmsi/datafiledownloaddirectory/internal/plural"
)

// consumerDefaults bound librdkafka's prefetch so memory does not grow with
// the topic's backlog (its defaults allow 64 MiB queued per consumer plus
// 50 MiB fetches). With a small queue, librdkafka's default one-second
// pause after the queue fills (fetch.queue.backoff.ms) would cut throughput
// by two thirds (measured: 256 MiB in 5.6 s instead of 1.4 s), so the pause
// is short.
//
// A member learns that the group rebalances from its next heartbeat, and
// the group reads nothing until every member has rejoined: with librdkafka's
// 3 s heartbeat, a consumer of this program that joined a moment after the
// others stopped all of them for up to 3 s (four consumers on 64 files of
// 16 MiB: 3.8-4.2 s in two runs of five, 1.9-2.1 s in the others; with
// 500 ms, 1.87-1.96 s in all five). Two heartbeats a second per consumer
// are nothing to a broker. A config file may still set any of them.
var consumerDefaults = map[string]string{
	"heartbeat.interval.ms":                    "500",
	"fetch.queue.backoff.ms":                   "10",
	"metadata.recovery.rebootstrap.trigger.ms": RebootstrapTriggerMS,
}

// prefetchKB is the prefetch of the whole process (queued messages, and as
// much again per fetch response), shared by its consumers so that memory
// does not grow with --n_threads: 12 MiB each for the default two, 6 MiB
// each for four. Measured (workloads A and B at half size, 3 runs, with
// tuneMalloc): 16 MiB each peaked at 126 MiB RSS on one 1 GiB file (and
// four consumers with 16 MiB each at 183 MiB); 8 MiB each cost a fifth of
// the throughput on A; 12 MiB each kept it, at 95-97 MiB RSS.
const prefetchKB = 24 << 10

// partitionFetchBytes is how much of one partition a fetch may return.
// librdkafka's 1 MiB left consumers of many small files waiting for the
// next fetch with a core idle: 5000 files of 64 KiB (two consumers, two
// partitions each) took 2.0-2.4 s with 1 MiB and 1.7-1.8 s with 2 or 4 MiB
// in alternating runs (in one full benchmark the gain was lost in the
// noise), and files of 16 MiB took as long with 2 MiB as with 1. It does not
// raise the bound on memory: fetch.max.bytes still caps a whole response.
const partitionFetchBytes = 2 << 20

// prefetchDefaults are the queue and fetch sizes of each of n consumers.
func prefetchDefaults(n int) map[string]string {
	kb := min(12<<10, max(4<<10, prefetchKB/max(n, 1)))
	return map[string]string{
		"queued.max.messages.kbytes": strconv.Itoa(kb),
		"fetch.max.bytes":            strconv.Itoa(kb << 10),
		"max.partition.fetch.bytes":  strconv.Itoa(partitionFetchBytes),
	}
}

// RebootstrapTriggerMS is this program's metadata.recovery.rebootstrap
// .trigger.ms for every Kafka client. A broker that was unresponsive for a
// while (a paused VM, a long GC pause) can be left out of a metadata
// response while its controller fences and unfences it; librdkafka then
// forgets that broker and, knowing no other, waits this long (5 minutes by
// default) before it goes back to bootstrap.servers: a stall of minutes
// after the broker is back (found by freezing the test broker with
// SIGSTOP). The shorter trigger costs nothing while a broker answers.
const RebootstrapTriggerMS = "15000"

const (
	defaultCommitInterval = time.Second
	pollTimeout           = 100 * time.Millisecond
	// errorRepeatInterval keeps one broken connection from flooding the
	// console: the same client error is repeated at most this often.
	errorRepeatInterval = time.Minute
)

// host is what a consumer needs of its Downloader, and all it may use:
// handing a message over, making handled data durable, and the reporting
// and client-health bookkeeping that all consumers share. The Downloader
// is the one host; the consumer logic's unit tests give a fake.
type host interface {
	// process handles one message. An error means the message must be
	// read again (errStopping, storage trouble) or, for a
	// storage.DurabilityError, that the consumer must stop.
	process(m *kafka.Message, log *logrus.Entry) error
	// makeDurable is the storage barrier: every chunk handed over so far
	// is on disk for good once it returns nil.
	makeDurable() error
	// report says whether a message of kind may be logged now (at most
	// one per repeat interval for the whole process) and how many were
	// held back before it; forget starts kind's interval anew.
	report(kind string) (held int, ok bool)
	forget(kind string)
	// outages is the record of broker outages all consumers share.
	outages() *outage
	// credentialsError reports a refused login or a failed TLS handshake
	// once, and says whether e was one.
	credentialsError(e kafka.Error, log *logrus.Entry) bool
	// assigned is told of every assignment of consumer index.
	assigned(index int)
	// clientFailed explains a fatal client error of consumer index and
	// returns what ends it.
	clientFailed(index int, e kafka.Error) error
}

// consumer is one member of the group. Only its own goroutine touches it:
// librdkafka calls the rebalance callback from inside Poll.
type consumer struct {
	h        host
	index    int
	topic    string
	interval time.Duration // between barriers
	kc       kafkaConsumer
	log      *logrus.Entry

	handled   map[int32]kafka.Offset // last message handled, per partition
	committed map[int32]kafka.Offset // last offset committed, per partition
	retries   map[int32]*retry       // partitions paused after a storage error (retry.go)

	barrierFailed bool
	// durability is a failed fsync: the consumer stops without committing
	// (storage.DurabilityError).
	durability error
	// failed: the client had a fatal error, after which closing it may
	// hang (supervisor.go).
	failed bool
}

// newConsumer makes consumer index of d with a client of its own.
func newConsumer(d *Downloader, index int, logs chan kafka.LogEvent) (*consumer, error) {
	cm := kafka.ConfigMap{}
	for k, v := range consumerDefaults {
		cm[k] = v
	}
	for k, v := range prefetchDefaults(d.cfg.Consumers) {
		cm[k] = v
	}
	for k, v := range d.cfg.Kafka {
		cm[k] = v
	}
	d.members.configure(cm, index)
	// Offsets are committed by this program, and only for messages whose
	// data is durable: never by librdkafka on a timer.
	cm["group.id"] = d.cfg.GroupID
	cm["enable.auto.commit"] = false
	cm["enable.auto.offset.store"] = false
	cm["go.logs.channel.enable"] = true
	cm["go.logs.channel"] = logs
	kc, err := newKafkaConsumer(&cm)
	if err != nil {
		return nil, fmt.Errorf("create Kafka consumer: %w", err)
	}
	return makeConsumer(d, index, d.cfg.Topic, d.cfg.CommitInterval, kc, d.log.WithField("consumer", index)), nil
}

func makeConsumer(h host, index int, topic string, interval time.Duration, kc kafkaConsumer, log *logrus.Entry) *consumer {
	if interval <= 0 {
		interval = defaultCommitInterval
	}
	return &consumer{
		h:         h,
		index:     index,
		topic:     topic,
		interval:  interval,
		kc:        kc,
		log:       log,
		handled:   make(map[int32]kafka.Offset),
		committed: make(map[int32]kafka.Offset),
		retries:   make(map[int32]*retry),
	}
}

// run consumes until ctx is cancelled, then makes its progress durable and
// commits. Closing the client, which leaves the group, is the
// supervisor's (supervisor.go).
func (c *consumer) run(ctx context.Context) error {
	if err := c.kc.Subscribe(c.topic, c.rebalance); err != nil {
		return fmt.Errorf("subscribe to topic %q: %w", c.topic, err)
	}
	nextBarrier := time.Now().Add(c.interval)
	for ctx.Err() == nil && c.durability == nil {
		switch e := c.kc.Poll(int(pollTimeout.Milliseconds())).(type) {
		case *kafka.Message:
			c.onMessage(e)
		case kafka.Error:
			if err := c.onError(e); err != nil {
				c.barrier(nil)
				return err
			}
		}
		if now := time.Now(); !now.Before(nextBarrier) {
			c.barrier(nil)
			c.checkReconnected()
			nextBarrier = now.Add(c.interval)
		}
		c.resumeDue()
	}
	c.barrier(nil)
	return c.durability
}

func (c *consumer) onMessage(m *kafka.Message) {
	p := m.TopicPartition.Partition
	if r, ok := c.retries[p]; ok && m.TopicPartition.Offset != r.offset {
		// Fetched before the pause; it comes again after the retry.
		return
	}
	err := c.h.process(m, c.log)
	if errors.Is(err, errStopping) {
		return // not handled: read again after the restart
	}
	if storage.IsDurability(err) {
		c.durability = err
		return
	}
	if err == nil {
		if r, ok := c.retries[p]; ok {
			delete(c.retries, p)
			c.h.forget(storageKey)
			c.log.Infof("partition %d: the chunk at offset %d is stored after %s; consumption continues",
				p, m.TopicPartition.Offset, plural.Count(r.attempts, "retry", "retries"))
		}
		c.handled[p] = m.TopicPartition.Offset
		return
	}
	c.pauseForRetry(m.TopicPartition, err)
}
