package download

import (
	"fmt"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/openmsi/datafiledownloaddirectory/download/storage"
)

// storageKey is the rate limiter's kind for storage trouble: with the disk
// full, every partition fails on every retry, and one report a minute says
// it all.
const storageKey = "storage trouble"

// maxRetryDelay bounds the back-off of a paused partition.
const maxRetryDelay = 30 * time.Second

// retry is a partition waiting to read a message again that could not be
// stored.
type retry struct {
	offset   kafka.Offset
	at       time.Time // zero once resumed
	delay    time.Duration
	attempts int
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
	if held, ok := c.h.report(storageKey); ok {
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

// resumeDue resumes the paused partitions whose retry is due. The retry
// stays on record until its message is stored.
func (c *consumer) resumeDue() {
	now := time.Now()
	for p, r := range c.retries {
		if r.at.IsZero() || now.Before(r.at) {
			continue
		}
		r.at = time.Time{}
		tp := kafka.TopicPartition{Topic: &c.topic, Partition: p, Offset: r.offset}
		if err := c.kc.Resume([]kafka.TopicPartition{tp}); err != nil {
			c.log.Warnf("resume partition %d: %v", p, err)
		}
	}
}
