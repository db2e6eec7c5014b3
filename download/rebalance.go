package download

import (
	"errors"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/openmsi/datafiledownloaddirectory/download/storage"
)

// barrier makes every handled message durable and commits its offset. With
// partitions given, only those are committed (they are being revoked).
func (c *consumer) barrier(partitions []kafka.TopicPartition) {
	if err := c.h.makeDurable(); err != nil {
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
		offsets = append(offsets, kafka.TopicPartition{Topic: &c.topic, Partition: p, Offset: off + 1})
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

// rebalance runs inside Poll when the group changes this consumer's
// partitions.
func (c *consumer) rebalance(ev kafka.Event) error {
	switch e := ev.(type) {
	case kafka.AssignedPartitions:
		c.log.Debugf("assigned partitions %s", partitionList(e.Partitions))
		// librdkafka keeps a pause across a revoke and a new assignment of
		// the same partition to this consumer, but the retry that would
		// have resumed it went with the revoke: the partition would never
		// be read again. Fetching restarts from the committed offset,
		// which never passes a message that could not be stored.
		if err := c.kc.Resume(e.Partitions); err != nil {
			c.log.Warnf("resume assigned partitions %s: %v", partitionList(e.Partitions), err)
		}
		c.h.assigned(c.index)
	case kafka.RevokedPartitions:
		c.log.Debugf("partitions %s revoked", partitionList(e.Partitions))
		if !c.kc.AssignmentLost() {
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
