package download

import (
	"bytes"
	"context"
	"crypto/sha512"
	"os"
	"path/filepath"
	"testing"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/sirupsen/logrus"

	"github.com/openmsi/datafiledownloaddirectory/test/uploadtest"
)

// The original's rule for the counts: the message that completes a file
// whose hash does not match is not processed; every other good message
// is. A file of several chunks is verified after its last message was
// handled, and the counts must not show it.
func TestMessageCompletingAMismatchIsNotProcessed(t *testing.T) {
	out := t.TempDir()
	d, err := New(Config{OutputDir: out, Topic: "lab", GroupID: "g", Consumers: 1}, logrus.NewEntry(logrus.New()))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.store.Recover(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.store.Close(); d.closeRoot() })
	d.runCtx = context.Background()

	topic := "lab"
	var msgs []*kafka.Message
	add := func(name string, data []byte, chunkSize int, fileHash []byte) {
		for off, i := 0, int64(1); off < len(data); off, i = off+chunkSize, i+1 {
			part := data[off:min(len(data), off+chunkSize)]
			sum := sha512.Sum512(part)
			mtime := 1.7e9
			msgs = append(msgs, &kafka.Message{
				TopicPartition: kafka.TopicPartition{Topic: &topic, Offset: kafka.Offset(len(msgs))},
				Key:            []byte("k"),
				Value: uploadtest.Encode(uploadtest.Fields{Filename: name, FileHash: fileHash, ChunkHash: sum[:],
					Offset: int64(off), Index: i, Total: int64((len(data) + chunkSize - 1) / chunkSize), Data: part, Mtime: &mtime}),
			})
		}
	}
	wrong := make([]byte, 64)
	several := bytes.Repeat([]byte("several chunks "), 400) // 6000 bytes, 6 chunks
	one := []byte("one chunk")
	good := bytes.Repeat([]byte("good "), 500)
	goodHash := sha512.Sum512(good)
	add("several.bin", several, 1000, wrong)
	add("one.bin", one, 1000, wrong)
	add("good.bin", good, 1000, goodHash[:])
	for _, m := range msgs {
		if err := d.process(m, d.log); err != nil {
			t.Fatal(err)
		}
	}
	d.store.WaitVerified()
	if err := d.store.Barrier(); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"several.bin", "one.bin"} {
		if _, err := os.Stat(filepath.Join(out, MismatchDirName, name)); err != nil {
			t.Fatalf("%s not in %s: %v", name, MismatchDirName, err)
		}
	}
	st := d.Status()
	wantProcessed := int64(len(msgs) - 2) // the last message of each mismatched file
	wantBytes := int64(len(several)+len(one)+len(good)) - 1000 - int64(len(one))
	if st.MessagesRead != int64(len(msgs)) || st.MessagesProcessed != wantProcessed || st.BytesProcessed != wantBytes ||
		st.FilesHashMismatch != 2 || st.FilesCompleted != 1 || st.MessagesInvalid != 0 {
		t.Fatalf("status %+v: want %d read, %d processed (%d bytes), 2 mismatches, 1 file completed",
			st, len(msgs), wantProcessed, wantBytes)
	}
}
