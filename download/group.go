package download

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/sirupsen/logrus"

	"github.com/openmsi/datafiledownloaddirectory/download/storage"
)

// consumerDefaults bound librdkafka's prefetch so memory does not grow with
// the topic's backlog (its defaults allow 64 MiB queued per consumer plus
// 50 MiB fetches). With a small queue, librdkafka's default one-second
// pause after the queue fills (fetch.queue.backoff.ms) would cut throughput
// by two thirds (measured: 256 MiB in 5.6 s instead of 1.4 s), so the pause
// is short. A config file may still set any of them.
var consumerDefaults = map[string]string{
	"queued.max.messages.kbytes":               "16384",
	"fetch.max.bytes":                          "16777216",
	"fetch.queue.backoff.ms":                   "10",
	"metadata.recovery.rebootstrap.trigger.ms": RebootstrapTriggerMS,
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

// storageKey is the rate limiter's kind for storage trouble: with the disk
// full, every partition fails on every retry, and one report a minute says
// it all.
const storageKey = "storage trouble"

const (
	defaultCommitInterval = time.Second
	pollTimeout           = 100 * time.Millisecond
	maxRetryDelay         = 30 * time.Second
	// errorRepeatInterval keeps one broken connection from flooding the
	// console: the same client error is repeated at most this often.
	errorRepeatInterval = time.Minute
)

// consumer is one member of the group. Only its own goroutine touches it:
// librdkafka calls the rebalance callback from inside Poll.
type consumer struct {
	d     *Downloader
	index int
	kc    *kafka.Consumer
	log   *logrus.Entry

	handled   map[int32]kafka.Offset // last message handled, per partition
	committed map[int32]kafka.Offset // last offset committed, per partition
	retries   map[int32]*retry       // partitions paused after a storage error

	barrierFailed bool
	// durability is a failed fsync: the consumer stops without committing
	// (storage.DurabilityError).
	durability error
	// failed: the client had a fatal error, after which closing it may
	// hang (fatal.go).
	failed bool
}

// retry is a partition waiting to read a message again that could not be
// stored.
type retry struct {
	offset   kafka.Offset
	at       time.Time
	delay    time.Duration
	attempts int
}

func newConsumer(d *Downloader, index int, logs chan kafka.LogEvent) (*consumer, error) {
	cm := kafka.ConfigMap{}
	for k, v := range consumerDefaults {
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
	kc, err := kafka.NewConsumer(&cm)
	if err != nil {
		return nil, fmt.Errorf("create Kafka consumer: %w", err)
	}
	return &consumer{
		d:         d,
		index:     index,
		kc:        kc,
		log:       d.log.WithField("consumer", index),
		handled:   make(map[int32]kafka.Offset),
		committed: make(map[int32]kafka.Offset),
		retries:   make(map[int32]*retry),
	}, nil
}

// run consumes until ctx is cancelled, then makes its progress durable,
// commits and leaves the group.
func (c *consumer) run(ctx context.Context) error {
	defer c.d.closeConsumer(c)
	if err := c.kc.Subscribe(c.d.cfg.Topic, c.rebalance); err != nil {
		return fmt.Errorf("subscribe to topic %q: %w", c.d.cfg.Topic, err)
	}
	interval := c.d.cfg.CommitInterval
	if interval <= 0 {
		interval = defaultCommitInterval
	}
	nextBarrier := time.Now().Add(interval)
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
			nextBarrier = now.Add(interval)
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
	err := c.d.process(m, c.log)
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
			c.d.limiter.Forget(storageKey)
			c.log.Infof("partition %d: the chunk at offset %d is stored after %d retries; consumption continues",
				p, m.TopicPartition.Offset, r.attempts)
		}
		c.handled[p] = m.TopicPartition.Offset
		return
	}
	c.pauseForRetry(m.TopicPartition, err)
}

// pauseForRetry stops a partition at a message that could not be stored,
// so that no later offset of it is committed, and schedules a retry.
func (c *consumer) pauseForRetry(tp kafka.TopicPartition, cause error) {
	r := c.retries[tp.Partition]
	if r == nil {
		r = &retry{delay: time.Second}
		c.retries[tp.Partition] = r
	} else {
		r.delay = min(2*r.delay, maxRetryDelay)
	}
	r.offset = tp.Offset
	r.at = time.Now().Add(r.delay)
	r.attempts++
	// One report a minute for the whole process, with what to do.
	log := c.log.WithFields(messageFields(tp))
	if held, ok := c.d.limiter.Allow(storageKey); ok {
		more := ""
		if held > 0 {
			more = fmt.Sprintf(" (%d more such errors in the last minute)", held)
		}
		log.Errorf("cannot store a chunk: %v; %s. Consumption of partition %d is paused and retried in %s; nothing is skipped%s",
			cause, storage.Hint(cause), tp.Partition, r.delay, more)
	} else {
		log.Debugf("cannot store a chunk: %v; partition %d retried in %s", cause, tp.Partition, r.delay)
	}
	parts := []kafka.TopicPartition{tp}
	if err := c.kc.Pause(parts); err != nil {
		c.log.Warnf("pause partition %d: %v", tp.Partition, err)
	}
	// Seeking back drops whatever librdkafka prefetched past this offset.
	if err := c.kc.Seek(tp, 0); err != nil {
		c.log.Warnf("seek partition %d to offset %d: %v", tp.Partition, tp.Offset, err)
	}
}

func (c *consumer) resumeDue() {
	now := time.Now()
	for p, r := range c.retries {
		if r.at.IsZero() || now.Before(r.at) {
			continue
		}
		r.at = time.Time{} // resumed; the entry stays until the message is stored
		tp := kafka.TopicPartition{Topic: &c.d.cfg.Topic, Partition: p, Offset: r.offset}
		if err := c.kc.Resume([]kafka.TopicPartition{tp}); err != nil {
			c.log.Warnf("resume partition %d: %v", p, err)
		}
	}
}

// barrier makes every handled message durable and commits its offset. With
// partitions given, only those are committed (they are being revoked).
func (c *consumer) barrier(partitions []kafka.TopicPartition) {
	if err := c.d.store.Barrier(); err != nil {
		if storage.IsDurability(err) {
			c.durability = err
			return
		}
		if !c.barrierFailed {
			c.log.Errorf("cannot make received data durable, so no offsets are committed: %v; %s", err, storage.Hint(err))
		}
		c.barrierFailed = true
		return
	}
	if c.barrierFailed {
		c.log.Info("received data is durable again; committing offsets")
		c.barrierFailed = false
	}
	var offsets []kafka.TopicPartition
	add := func(p int32) {
		off, ok := c.handled[p]
		if !ok || c.committed[p] == off+1 {
			return
		}
		offsets = append(offsets, kafka.TopicPartition{Topic: &c.d.cfg.Topic, Partition: p, Offset: off + 1})
	}
	if partitions == nil {
		for p := range c.handled {
			add(p)
		}
	} else {
		for _, tp := range partitions {
			add(tp.Partition)
		}
	}
	if len(offsets) == 0 {
		return
	}
	res, err := c.kc.CommitOffsets(offsets)
	if err != nil {
		var kerr kafka.Error
		if !errors.As(err, &kerr) || kerr.Code() != kafka.ErrNoOffset {
			c.log.Warnf("commit offsets: %v (they are committed again at the next barrier)", err)
		}
		return
	}
	for _, tp := range res {
		if tp.Error == nil {
			c.committed[tp.Partition] = tp.Offset
		}
	}
}

func (c *consumer) rebalance(kc *kafka.Consumer, ev kafka.Event) error {
	switch e := ev.(type) {
	case kafka.AssignedPartitions:
		c.log.Debugf("assigned partitions %s", partitionList(e.Partitions))
		// librdkafka keeps a pause across a revoke and a new assignment of
		// the same partition to this consumer, but the retry that would
		// have resumed it went with the revoke: the partition would never
		// be read again. Fetching restarts from the committed offset,
		// which never passes a message that could not be stored.
		if err := kc.Resume(e.Partitions); err != nil {
			c.log.Warnf("resume assigned partitions %s: %v", partitionList(e.Partitions), err)
		}
		c.d.sessionLost[c.index].Store(false)
		c.d.assigned()
	case kafka.RevokedPartitions:
		c.log.Debugf("partitions %s revoked", partitionList(e.Partitions))
		if !kc.AssignmentLost() {
			c.barrier(e.Partitions)
		}
		for _, tp := range e.Partitions {
			delete(c.handled, tp.Partition)
			delete(c.committed, tp.Partition)
			delete(c.retries, tp.Partition)
		}
	}
	return nil
}

// onError reports a client error once per repeat interval; only a fatal
// error ends the consumer.
func (c *consumer) onError(e kafka.Error) error {
	if e.IsFatal() {
		return c.fatal(e)
	}
	if c.d.credentialsError(e, c.log) {
		return nil
	}
	msg := e.Error()
	kind := "error " + e.Code().String()
	switch e.Code() {
	case kafka.ErrAllBrokersDown, kafka.ErrTransport:
		msg = fmt.Sprintf("cannot reach the Kafka broker (%v); retrying", e)
		kind = outageKey
		if !c.d.outage.begin() {
			c.log.Debug(msg)
			return nil
		}
	case kafka.ErrUnknownTopicOrPart, kafka.ErrUnknownTopic:
		msg = fmt.Sprintf("topic %q is not available on the broker (%v); waiting for it", c.d.cfg.Topic, e)
	}
	// Every consumer sees the same outage, and librdkafka words each retry
	// differently: one warning per kind of error for the whole process.
	if _, ok := c.d.limiter.Allow(kind); ok {
		c.log.Warn(msg)
	} else {
		c.log.Debug(msg)
	}
	return nil
}

// process handles one message. It returns an error only when the message
// must be read again (storage trouble, or the program stops while it waits
// for its key: errStopping) or the program must stop (a failed fsync); bad
// input is logged and skipped.
func (d *Downloader) process(m *kafka.Message, log *logrus.Entry) error {
	d.stats.messagesRead.Add(1)
	if d.crypto != nil {
		var err error
		if m, err = d.decrypt(d.runCtx, m, log); err != nil {
			if errors.Is(err, errSavedEncrypted) {
				return nil
			}
			d.stats.messagesRead.Add(-1) // it will be read again
			return err
		}
	}
	err := d.handle(m, log)
	if err != nil {
		d.stats.messagesRead.Add(-1) // it will be read again
	}
	return err
}

// handle decodes a plain chunk message and stores its chunk.
func (d *Downloader) handle(m *kafka.Message, log *logrus.Entry) error {
	chunk, err := d.parse(m)
	if err != nil {
		d.invalid(m, log, err)
		return nil
	}
	if chunk == nil {
		d.stats.messagesSkipped.Add(1)
		return nil
	}
	d.stats.bytesRead.Add(int64(len(chunk.Data)))
	out, err := d.store.Put(chunk)
	if err != nil {
		if storage.IsTrouble(err) || storage.IsDurability(err) {
			d.stats.bytesRead.Add(-int64(len(chunk.Data)))
			return err
		}
		d.invalid(m, log, fmt.Errorf("%s: %w", chunk.Paths.Rel, err))
		return nil
	}
	if out != storage.Mismatch {
		d.stats.messagesProcessed.Add(1)
		d.stats.bytesProcessed.Add(int64(len(chunk.Data)))
	}
	return nil
}

// parse decodes and checks a message. A nil chunk without error is one that
// --download_regex excludes.
func (d *Downloader) parse(m *kafka.Message) (*storage.Chunk, error) {
	if !utf8.Valid(m.Key) {
		return nil, errors.New("message key is not valid UTF-8")
	}
	chunk, err := DecodeChunk(m.Value)
	if err != nil {
		return nil, err
	}
	paths, err := storage.ChunkPaths(chunk.Subdir, chunk.Filename, chunk.Append, onWindows)
	if err != nil {
		return nil, err
	}
	if d.cfg.Regex != nil && !d.cfg.Regex.MatchString(paths.Rel) {
		return nil, nil
	}
	if err := chunk.VerifyData(); err != nil {
		return nil, fmt.Errorf("%s chunk %d/%d: %w", paths.Rel, chunk.Index, chunk.Total, err)
	}
	return chunk.forStorage(paths, producedAt(m)), nil
}

// producedAt is when the uploader produced a message: its CreateTime, which
// a producer's retry keeps. A topic that stamps LogAppendTime says when the
// broker appended it, which a retry changes: no use for ordering versions.
func producedAt(m *kafka.Message) time.Time {
	if m.TimestampType != kafka.TimestampCreateTime {
		return time.Time{}
	}
	return m.Timestamp
}

func (d *Downloader) invalid(m *kafka.Message, log *logrus.Entry, err error) {
	d.stats.messagesInvalid.Add(1)
	log.WithFields(messageFields(m.TopicPartition)).Warnf(
		"skipping unusable message at %s partition %d offset %d: %v",
		topicName(m.TopicPartition), m.TopicPartition.Partition, m.TopicPartition.Offset, err)
}

func messageFields(tp kafka.TopicPartition) logrus.Fields {
	return logrus.Fields{"topic": topicName(tp), "partition": tp.Partition, "offset": int64(tp.Offset)}
}

func topicName(tp kafka.TopicPartition) string {
	if tp.Topic == nil {
		return ""
	}
	return *tp.Topic
}

func partitionList(tps []kafka.TopicPartition) string {
	s := make([]string, len(tps))
	for i, tp := range tps {
		s[i] = strconv.Itoa(int(tp.Partition))
	}
	return "[" + strings.Join(s, ",") + "]"
}

// forwardLogs routes librdkafka's own log lines through logrus instead of
// raw stderr. Warnings and errors of one kind (tag) are shown at most once
// per repeat interval: a broker that is down makes librdkafka repeat itself
// every few seconds, and the consumers report that condition themselves.
// An expired group session is noted for the consumer whose client said so.
func (d *Downloader) forwardLogs(logs <-chan kafka.LogEvent) {
	for ev := range logs {
		if ev.Tag == "SESSTMOUT" {
			d.noteSessionLost(ev.Name)
		}
		entry := d.log.WithFields(logrus.Fields{"client": ev.Name, "tag": ev.Tag})
		if ev.Level > 4 || credentialsNoise(ev) {
			entry.Debug(ev.Message)
		} else if _, ok := d.limiter.Allow("librdkafka " + ev.Tag); ok {
			entry.Warn("librdkafka: " + ev.Message)
		} else {
			entry.Debug(ev.Message)
		}
	}
}
