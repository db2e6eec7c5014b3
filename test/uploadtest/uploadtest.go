// Package uploadtest produces chunk messages exactly as OpenMSIStream's
// uploaders do (see shared/design/wire-format.md), so tests can upload
// files, and forge odd or hostile messages, without Python.
package uploadtest

import (
	"context"
	"crypto/sha512"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/tinylib/msgp/msgp"
)

// Message is one chunk message as OpenMSIStream's producer sends it.
type Message struct {
	Key   string
	Value []byte
}

// Options vary how a file is uploaded.
type Options struct {
	FilenameAppend string
	Mtime          float64 // 0: unknown
	Legacy9        bool    // 9-item arrays, as uploaders before v1.8.6.1 sent
}

// Fields are the items of one chunk value.
type Fields struct {
	Filename            string
	FileHash, ChunkHash []byte
	Offset, Index       int64
	Total               int64
	Subdir, Append      string
	Data                []byte
	Mtime               *float64 // nil: the 9-item layout
}

// Encode packs fields the way msgpack-python's packb(use_bin_type=True)
// does: str for text, bin for bytes, the smallest encoding of each int.
func Encode(f Fields) []byte {
	n := uint32(9)
	if f.Mtime != nil {
		n = 10
	}
	b := msgp.AppendArrayHeader(make([]byte, 0, len(f.Data)+256), n)
	b = msgp.AppendString(b, f.Filename)
	b = msgp.AppendBytes(b, f.FileHash)
	b = msgp.AppendBytes(b, f.ChunkHash)
	b = appendInt(b, f.Offset)
	b = appendInt(b, f.Index)
	b = appendInt(b, f.Total)
	b = msgp.AppendString(b, f.Subdir)
	b = msgp.AppendString(b, f.Append)
	b = msgp.AppendBytes(b, f.Data)
	if f.Mtime != nil {
		b = msgp.AppendFloat64(b, *f.Mtime)
	}
	return b
}

// appendInt picks the smallest encoding as msgpack-python does: positive
// fixint, then uint8/16/32/64 for non-negative values.
func appendInt(b []byte, v int64) []byte {
	if v < 0 {
		return msgp.AppendInt64(b, v)
	}
	u := uint64(v)
	switch {
	case u < 128:
		return append(b, byte(u))
	case u <= 0xff:
		return append(b, 0xcc, byte(u))
	case u <= 0xffff:
		return append(b, 0xcd, byte(u>>8), byte(u))
	case u <= 0xffffffff:
		return append(b, 0xce, byte(u>>24), byte(u>>16), byte(u>>8), byte(u))
	}
	return msgp.AppendUint64(b, u)
}

// Key is the message key OpenMSIStream gives a chunk.
func Key(subdir, filename string, index, total int64) string {
	return fmt.Sprintf("%s_%s_chunk_%d_of_%d", strings.ReplaceAll(subdir, "/", "_"), filename, index, total)
}

// FileChunks cuts a file's content into chunk messages. relPath is the
// forward-slash path under the uploaded folder; chunkSize a power of two.
// An empty file yields no messages, as with the real uploader.
func FileChunks(data []byte, relPath string, chunkSize int, opts Options) []Message {
	subdir, filename := path.Split(relPath)
	subdir = strings.TrimSuffix(subdir, "/")
	fileHash := sha512.Sum512(data)
	total := int64((len(data) + chunkSize - 1) / chunkSize)
	msgs := make([]Message, 0, total)
	for i := int64(0); i < total; i++ {
		part := data[i*int64(chunkSize) : min(int64(len(data)), (i+1)*int64(chunkSize))]
		chunkHash := sha512.Sum512(part)
		f := Fields{
			Filename: filename, FileHash: fileHash[:], ChunkHash: chunkHash[:],
			Offset: i * int64(chunkSize), Index: i + 1, Total: total,
			Subdir: subdir, Append: opts.FilenameAppend, Data: part,
		}
		if !opts.Legacy9 {
			f.Mtime = &opts.Mtime
		}
		msgs = append(msgs, Message{Key: Key(subdir, filename, i+1, total), Value: Encode(f)})
	}
	return msgs
}

// DirChunks returns the messages of every regular file under root, sorted
// by path.
func DirChunks(root string, chunkSize int, opts Options) ([]Message, error) {
	var rels []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		rel, err := filepath.Rel(root, p)
		rels = append(rels, filepath.ToSlash(rel))
		return err
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(rels)
	var msgs []Message
	for _, rel := range rels {
		data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(rel)))
		if err != nil {
			return nil, err
		}
		msgs = append(msgs, FileChunks(data, rel, chunkSize, opts)...)
	}
	return msgs, nil
}

// Produce sends messages to a topic, keys hashed by librdkafka's default
// partitioner as with OpenMSIStream, so chunks of one file spread over the
// partitions. It returns once every message is delivered, or the first
// delivery error.
func Produce(ctx context.Context, bootstrap, topic string, msgs []Message) error {
	p, err := kafka.NewProducer(&kafka.ConfigMap{
		"bootstrap.servers":        bootstrap,
		"allow.auto.create.topics": false,
		"linger.ms":                20,
		"message.max.bytes":        16 << 20,
		"go.logs.channel.enable":   true,
		"log_level":                3,
	})
	if err != nil {
		return err
	}
	defer p.Close()
	go func() {
		for range p.Logs() {
		}
	}()
	deliveries := make(chan kafka.Event, len(msgs))
	for _, m := range msgs {
		msg := &kafka.Message{
			TopicPartition: kafka.TopicPartition{Topic: &topic, Partition: kafka.PartitionAny},
			Key:            []byte(m.Key),
			Value:          m.Value,
		}
		for {
			err := p.Produce(msg, deliveries)
			if err == nil {
				break
			}
			var kerr kafka.Error
			if !errors.As(err, &kerr) || kerr.Code() != kafka.ErrQueueFull {
				return err
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			p.Flush(100) // the local queue is full: wait for deliveries to drain it
		}
	}
	for range msgs {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case ev := <-deliveries:
			if err := deliveryError(ev); err != nil {
				return err
			}
		}
	}
	return nil
}

func deliveryError(ev kafka.Event) error {
	if m, ok := ev.(*kafka.Message); ok && m.TopicPartition.Error != nil {
		return fmt.Errorf("deliver %s: %w", m.Key, m.TopicPartition.Error)
	}
	return nil
}
