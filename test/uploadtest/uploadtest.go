// Package uploadtest makes chunk messages exactly as OpenMSIStream's
// uploaders do (shared/design/wire-format.md), so tests can upload folders,
// and forge odd or hostile messages, without Python. Its output is checked
// byte for byte against messages made by the real OpenMSIStream
// (download/testdata/golden, written by test/python/make_golden.py).
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
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/tinylib/msgp/msgp"
)

// Message is one chunk message as OpenMSIStream's producer sends it.
// RelPath, ChunkIndex and ChunkTotal are not sent: they let tests drop,
// reorder or duplicate chunks of chosen files.
type Message struct {
	Key        string
	Value      []byte
	RelPath    string // forward-slash path under the uploaded folder
	ChunkIndex int    // 1-based, as chunk_i
	ChunkTotal int
	// Timestamp, when set, is the message's CreateTime: what a producer
	// that retries a message keeps. Zero lets the producer stamp it.
	Timestamp time.Time
}

// Options vary how files are uploaded.
type Options struct {
	// FilenameAppend is sent as filename_append; no shipped uploader
	// sets it, but the format allows it.
	FilenameAppend string
	// Mtime is sent as file_mtime, seconds since the epoch; 0 means
	// unknown, as the uploader sends when it did not capture one.
	Mtime float64
	// DiskMtime makes DirChunks send each file's own modification time
	// instead of Mtime, as DataFileUploadDirectory does.
	DiskMtime bool
	// Legacy9 makes 9-item arrays without file_mtime, as uploaders before
	// OpenMSIStream v1.8.6.1 sent (they are still in real topics).
	Legacy9 bool
}

// Fields are the items of one chunk value, in wire order.
type Fields struct {
	Filename            string
	FileHash, ChunkHash []byte
	Offset, Index       int64
	Total               int64
	Subdir, Append      string
	Data                []byte
	Mtime               *float64 // nil: the 9-item layout
	// BinStrings packs the text items as bin instead of str, as old
	// packers and OpenMSIStream's own backward-compatibility test do.
	BinStrings bool
}

// Encode packs fields as msgpack-python's packb(use_bin_type=True) does:
// str for text, bin for bytes, float64 for the mtime and the smallest
// encoding of each int. Negative ints, which no uploader sends, are
// allowed so that tests can forge them.
func Encode(f Fields) []byte {
	n := uint32(9)
	if f.Mtime != nil {
		n = 10
	}
	text := msgp.AppendString
	if f.BinStrings {
		text = func(b []byte, s string) []byte { return msgp.AppendBytes(b, []byte(s)) }
	}
	b := make([]byte, 0, len(f.Data)+len(f.Filename)+len(f.Subdir)+len(f.Append)+192)
	b = msgp.AppendArrayHeader(b, n)
	b = text(b, f.Filename)
	b = msgp.AppendBytes(b, f.FileHash)
	b = msgp.AppendBytes(b, f.ChunkHash)
	b = appendInt(b, f.Offset)
	b = appendInt(b, f.Index)
	b = appendInt(b, f.Total)
	b = text(b, f.Subdir)
	b = text(b, f.Append)
	b = msgp.AppendBytes(b, f.Data)
	if f.Mtime != nil {
		b = msgp.AppendFloat64(b, *f.Mtime)
	}
	return b
}

// appendInt matches msgpack-python: a non-negative int takes the unsigned
// family (msgp.AppendInt64 writes int16/int32/int64 from 128 up, which
// Python never does); a negative one the signed family, as AppendInt64
// does. msgp v1.6.5 picks the smallest width in both, which
// TestIntWidthsMatchMsgpack checks against packb's own output.
func appendInt(b []byte, v int64) []byte {
	if v >= 0 {
		return msgp.AppendUint64(b, uint64(v))
	}
	return msgp.AppendInt64(b, v)
}

// Key is the message key OpenMSIStream gives a chunk (get_message_prepend):
// a file at the root has subdir "" and so a key starting with "_".
func Key(subdir, filename string, index, total int) string {
	return fmt.Sprintf("%s_%s_chunk_%d_of_%d", strings.ReplaceAll(subdir, "/", "_"), filename, index, total)
}

// FileChunks cuts a file's content into chunk messages. relPath is the
// forward-slash path under the uploaded folder; chunkSize a power of two.
// An empty file yields no messages: the real uploader sends nothing for it.
func FileChunks(data []byte, relPath string, chunkSize int, opts Options) []Message {
	if chunkSize <= 0 {
		panic("uploadtest: chunk size must be positive")
	}
	dir, filename := path.Split(relPath)
	subdir := strings.TrimSuffix(dir, "/")
	fileHash := sha512.Sum512(data)
	total := (len(data) + chunkSize - 1) / chunkSize
	msgs := make([]Message, 0, total)
	for i := 0; i < total; i++ {
		part := data[i*chunkSize : min(len(data), (i+1)*chunkSize)]
		chunkHash := sha512.Sum512(part)
		f := Fields{
			Filename: filename, FileHash: fileHash[:], ChunkHash: chunkHash[:],
			Offset: int64(i * chunkSize), Index: int64(i + 1), Total: int64(total),
			Subdir: subdir, Append: opts.FilenameAppend, Data: part,
		}
		if !opts.Legacy9 {
			mtime := opts.Mtime
			f.Mtime = &mtime
		}
		msgs = append(msgs, Message{
			Key: Key(subdir, filename, i+1, total), Value: Encode(f),
			RelPath: relPath, ChunkIndex: i + 1, ChunkTotal: total,
		})
	}
	return msgs
}

// DirChunks returns the messages of every regular file under root, files
// sorted by path and each file's chunks in order. Unlike
// DataFileUploadDirectory it skips nothing (dot files, LOGS/), so tests
// decide what is in the folder; symlinks are skipped.
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
		p := filepath.Join(root, filepath.FromSlash(rel))
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		o := opts
		if opts.DiskMtime {
			st, err := os.Stat(p)
			if err != nil {
				return nil, err
			}
			o.Mtime = float64(st.ModTime().UnixNano()) / 1e9
		}
		msgs = append(msgs, FileChunks(data, rel, chunkSize, o)...)
	}
	return msgs, nil
}

// Produce sends messages to a topic and returns once every one is
// delivered, or the first delivery error. Keys go through librdkafka's
// default partitioner, as with OpenMSIStream, so the chunks of one file
// spread over the partitions and arrive interleaved and out of order.
func Produce(ctx context.Context, bootstrap, topic string, msgs []Message) error {
	p, err := kafka.NewProducer(&kafka.ConfigMap{
		"bootstrap.servers": bootstrap,
		// A missing topic is a test bug: fail instead of creating it
		// with the broker's default partition count.
		"allow.auto.create.topics": false,
		"linger.ms":                20,
		"compression.type":         "lz4", // as OpenMSIStream's shipped configs
		"message.max.bytes":        16 << 20,
		// Route librdkafka's log lines to a channel we drain, so they
		// never reach the test's stderr raw.
		"go.logs.channel.enable": true,
		"log_level":              3,
	})
	if err != nil {
		return err
	}
	logsDone := make(chan struct{})
	go func() {
		defer close(logsDone)
		for range p.Logs() {
		}
	}()
	defer func() {
		p.Close() // closes Logs(), which ends the drain
		<-logsDone
	}()

	// Buffered for all messages so that delivery reports never block
	// librdkafka's callback thread while we are still producing.
	deliveries := make(chan kafka.Event, len(msgs))
	produced := 0
	var firstErr error
	for _, m := range msgs {
		msg := &kafka.Message{
			TopicPartition: kafka.TopicPartition{Topic: &topic, Partition: kafka.PartitionAny},
			Key:            []byte(m.Key),
			Value:          m.Value,
			Timestamp:      m.Timestamp,
		}
		for {
			err := p.Produce(msg, deliveries)
			if err == nil {
				produced++
				break
			}
			var kerr kafka.Error
			if !errors.As(err, &kerr) || kerr.Code() != kafka.ErrQueueFull {
				firstErr = fmt.Errorf("produce %s: %w", m.Key, err)
				break
			}
			if ctx.Err() != nil {
				firstErr = ctx.Err()
				break
			}
			p.Flush(100) // local queue full: let deliveries drain it
		}
		if firstErr != nil {
			break
		}
	}
	// Wait for the reports of everything handed to librdkafka, even after
	// an error, so none is lost in flight when Close purges the queue.
	for ; produced > 0; produced-- {
		select {
		case <-ctx.Done():
			if firstErr == nil {
				firstErr = ctx.Err()
			}
			return firstErr
		case ev := <-deliveries:
			if m, ok := ev.(*kafka.Message); ok && m.TopicPartition.Error != nil && firstErr == nil {
				firstErr = fmt.Errorf("deliver %s: %w", m.Key, m.TopicPartition.Error)
			}
		}
	}
	return firstErr
}

// ProduceT is Produce for a test: it fails t if any message is not
// delivered within 2 minutes.
func ProduceT(t testing.TB, bootstrap, topic string, msgs []Message) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := Produce(ctx, bootstrap, topic, msgs); err != nil {
		t.Fatal(err)
	}
}
