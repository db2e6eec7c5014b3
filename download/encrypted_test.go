package download

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/sirupsen/logrus"

	"github.com/openmsi/datafiledownloaddirectory/kafkacrypto"
	"github.com/openmsi/datafiledownloaddirectory/test/uploadtest"
)

// fakeKeys is a key exchange whose keys the test hands out.
type fakeKeys struct {
	mu      sync.Mutex
	secrets map[string][]byte
	wanted  map[string]bool
}

func newFakeKeys() *fakeKeys {
	return &fakeKeys{secrets: map[string][]byte{}, wanted: map[string]bool{}}
}

func (f *fakeKeys) Secret(ki kafkacrypto.KeyIndex) ([]byte, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.secrets[ki.ID()]
	return s, ok
}

func (f *fakeKeys) Want(ki kafkacrypto.KeyIndex) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.wanted[ki.ID()] = true
}

func (f *fakeKeys) Wait(ctx context.Context, ki kafkacrypto.KeyIndex, deadline time.Time) ([]byte, bool) {
	for {
		if s, ok := f.Secret(ki); ok {
			return s, true
		}
		if ctx.Err() != nil || time.Now().After(deadline) {
			return nil, false
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (f *fakeKeys) isWanted(ki []byte) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.wanted["b"+string(ki)]
}

func (f *fakeKeys) give(ki, secret []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.secrets["b"+string(ki)] = secret
}

func cryptoDownloader(t *testing.T, wait time.Duration) (*Downloader, *fakeKeys, string, *bytes.Buffer) {
	t.Helper()
	out := t.TempDir()
	logs := &bytes.Buffer{}
	logger := logrus.New()
	logger.SetOutput(logs)
	logger.SetLevel(logrus.DebugLevel)
	d, err := New(Config{OutputDir: out, Topic: "lab", GroupID: "g", Consumers: 1}, logrus.NewEntry(logger))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.store.Recover(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.store.Close(); d.root.Close() })
	keys := newFakeKeys()
	d.useKeys(keys, wait)
	d.runCtx = context.Background()
	return d, keys, out, logs
}

var (
	testSecret = bytes.Repeat([]byte{7}, 32)
	testKI     = bytes.Repeat([]byte{9}, 32)
)

// encryptedMessages are the chunk messages of one file, encrypted as a
// KafkaCrypto producer would.
func encryptedMessages(t *testing.T, data []byte, rel string) []*kafka.Message {
	t.Helper()
	topic := "lab"
	var out []*kafka.Message
	for i, c := range uploadtest.FileChunks(data, rel, 1024, uploadtest.Options{}) {
		salt := []byte{byte(i), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
		k, err1 := kafkacrypto.Seal(testSecret, testKI, salt, []byte(c.Key), kafkacrypto.KeyPart)
		v, err2 := kafkacrypto.Seal(testSecret, testKI, salt, c.Value, kafkacrypto.ValuePart)
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		out = append(out, &kafka.Message{
			TopicPartition: kafka.TopicPartition{Topic: &topic, Partition: 0, Offset: kafka.Offset(i)},
			Key:            k, Value: v,
			Timestamp: time.Date(2026, 11, 14, 22, 13, 20, 123000000, time.Local), TimestampType: kafka.TimestampCreateTime,
		})
	}
	return out
}

func TestDecryptAndRebuild(t *testing.T) {
	d, keys, out, _ := cryptoDownloader(t, time.Second)
	keys.give(testKI, testSecret)
	data := bytes.Repeat([]byte("encrypted chunk data "), 300)
	for _, m := range encryptedMessages(t, data, "a/b.txt") {
		if err := d.process(m, d.log); err != nil {
			t.Fatal(err)
		}
	}
	// A file of several chunks is verified in the background, then put in
	// place by the barrier after it.
	d.store.WaitVerified()
	if err := d.store.Barrier(); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(out, "a", "b.txt")); !bytes.Equal(got, data) {
		t.Fatal("file not rebuilt")
	}
	st := d.Status()
	if !st.Encrypted || st.MessagesDecrypted != st.MessagesRead || st.MessagesUndecryptable != 0 || st.MessagesProcessed != st.MessagesRead {
		t.Errorf("status %+v", st)
	}
}

// The offset rule, part 1: a message that is waiting for its key when the
// program stops is not handled (its offset is not committed) and nothing is
// written for it; it is read again after the restart.
func TestStopWhileWaitingForKey(t *testing.T) {
	d, keys, out, _ := cryptoDownloader(t, time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	d.runCtx = ctx
	m := encryptedMessages(t, []byte("x"), "x.txt")[0]
	go func() {
		for !keys.isWanted(testKI) {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	if err := d.process(m, d.log); err != errStopping {
		t.Fatalf("process = %v, want errStopping", err)
	}
	if st := d.Status(); st.MessagesRead != 0 || st.MessagesUndecryptable != 0 {
		t.Errorf("status %+v", st)
	}
	if _, err := os.Stat(filepath.Join(out, EncryptedDirName)); err == nil {
		t.Error("the message was saved although it will be read again")
	}
}

// The offset rule, part 2: after the wait, a message is durable in
// ENCRYPTED_MESSAGES/ under the original's names before it counts as
// handled; when its key comes, it is decrypted from there and its file
// rebuilt, and the saved files are removed.
func TestKeyLateSavedThenRecovered(t *testing.T) {
	d, keys, out, logs := cryptoDownloader(t, 50*time.Millisecond)
	data := bytes.Repeat([]byte("late key "), 500)
	msgs := encryptedMessages(t, data, "late.bin")
	start := time.Now()
	for _, m := range msgs {
		if err := d.process(m, d.log); err != nil {
			t.Fatal(err)
		}
	}
	if waited := time.Since(start); waited > 2*time.Second {
		t.Errorf("%d messages waited %s: the wait is per key index, not per message", len(msgs), waited)
	}
	st := d.Status()
	if st.MessagesUndecryptable != int64(len(msgs)) || st.MessagesProcessed != 0 {
		t.Errorf("status %+v", st)
	}
	entries, _ := os.ReadDir(filepath.Join(out, EncryptedDirName))
	if len(entries) != 2*len(msgs) {
		t.Fatalf("%d files in ENCRYPTED_MESSAGES, want %d", len(entries), 2*len(msgs))
	}
	first := "encrypted_message_from_lab_produced_on_Nov_14_2026_at_22_13_20_123000_key.bin"
	raw, err := os.ReadFile(filepath.Join(out, EncryptedDirName, first))
	if err != nil || !bytes.Equal(raw, msgs[0].Key) {
		t.Errorf("%s: %v (the raw key bytes are expected)", first, err)
	}
	if !strings.Contains(logs.String(), "failed to be decrypted") {
		t.Error("no log line for the saved messages")
	}
	// Read again (a restart before the commit): not saved twice.
	if err := d.process(msgs[0], d.log); err != nil {
		t.Fatal(err)
	}
	if again, _ := os.ReadDir(filepath.Join(out, EncryptedDirName)); len(again) != len(entries) {
		t.Errorf("a message read again was saved again: %d files", len(again))
	}

	keys.give(testKI, testSecret)
	d.recoverSaved(context.Background(), keys, map[string]bool{})
	d.store.WaitVerified()
	if err := d.store.Barrier(); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(out, "late.bin")); !bytes.Equal(got, data) {
		t.Fatal("the file was not rebuilt from ENCRYPTED_MESSAGES")
	}
	if left, _ := os.ReadDir(filepath.Join(out, EncryptedDirName)); len(left) != 0 {
		t.Errorf("%d files left in ENCRYPTED_MESSAGES", len(left))
	}
	if st := d.Status(); st.MessagesRecovered != int64(len(msgs)) {
		t.Errorf("recovered %d", st.MessagesRecovered)
	}
	// No key material in the log, at any level.
	for _, secret := range []string{hex.EncodeToString(testSecret), string(testSecret), base64.StdEncoding.EncodeToString(testSecret)} {
		if strings.Contains(logs.String(), secret) {
			t.Error("the topic secret appears in the log")
		}
	}
}

// Values that are not KafkaCrypto's format, or do not open with their key,
// go to ENCRYPTED_MESSAGES/ at once (they never become decryptable), as
// in the original; none stops the program.
func TestMalformedEncryptedValues(t *testing.T) {
	d, keys, out, _ := cryptoDownloader(t, time.Hour)
	keys.give(testKI, testSecret)
	good := encryptedMessages(t, []byte("x"), "x.txt")[0]
	topic := "lab"
	bad := [][2][]byte{
		{good.Key, []byte{0x9a, 0x00}},                           // a plain chunk on an encrypted topic
		{good.Key, []byte{0x01, 0xff}},                           // garbage after the version byte
		{good.Key, append([]byte{0x01}, 0x93, 0xc0, 0xc0, 0xc0)}, // nil items
		{[]byte("plain key"), good.Value},                        // a plain key
		{good.Key, append(bytes.Clone(good.Value[:len(good.Value)-1]), good.Value[len(good.Value)-1]^1)}, // tampered
	}
	for i, kv := range bad {
		m := &kafka.Message{TopicPartition: kafka.TopicPartition{Topic: &topic, Partition: 1, Offset: kafka.Offset(100 + i)}, Key: kv[0], Value: kv[1]}
		start := time.Now()
		if err := d.process(m, d.log); err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		if time.Since(start) > 5*time.Second {
			t.Errorf("case %d waited for a key", i)
		}
	}
	if st := d.Status(); st.MessagesUndecryptable != int64(len(bad)) || st.MessagesProcessed != 0 {
		t.Errorf("status %+v", st)
	}
	entries, _ := os.ReadDir(filepath.Join(out, EncryptedDirName))
	if len(entries) != 2*len(bad) {
		t.Errorf("%d files in ENCRYPTED_MESSAGES (same timestamp: every pair needs its own name), want %d", len(entries), 2*len(bad))
	}
}
