package download

import (
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

// Handing a message over: decoding it, checking it and storing its chunk;
// bad input is counted and skipped here.

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
	// The chunk hash is checked by the engine, only where it can change
	// the outcome: the file hash proves the rest (storage/proof.go).
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
