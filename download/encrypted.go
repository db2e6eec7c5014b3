package download

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/sirupsen/logrus"

	"github.com/openmsi/datafiledownloaddirectory/kafkacrypto"
)

// Encrypted topics (KafkaCrypto). Every message's key and value are
// decrypted before the chunk is decoded. A message whose key (topic secret)
// has not arrived waits for it, at most KeyWait per key index counted from
// the first message that needed it; then, and for messages that can never
// be decrypted, the raw key and value are written to ENCRYPTED_MESSAGES/
// under the original's names.
//
// The offset rule: a message's offset is committed only after its chunk is
// handled, or after its raw bytes are durable in ENCRYPTED_MESSAGES/. A
// message stopped while waiting (shutdown) is not committed and is read
// again. From ENCRYPTED_MESSAGES/ this program decrypts and handles the
// messages of its topic itself as soon as their keys arrive, in this run or
// a later one (they are rescanned at start), and removes them once their
// chunks are durable; OpenMSIStream's ReproduceUndecryptableMessages can
// also send them again. So no message is lost for good because its key
// came late.

// CryptoConfig turns decryption on.
type CryptoConfig struct {
	Node *kafkacrypto.Node
	// Kafka holds the librdkafka settings of the key exchange's clients:
	// the config file's [broker] section.
	Kafka map[string]string
	// KeyWait is the longest messages of one key index wait for its key
	// (OpenMSIStream waits 60 s for the first message). 0 means 60 s.
	KeyWait time.Duration
}

// DefaultKeyWait is OpenMSIStream's max_initial_wait_per_decrypt.
const DefaultKeyWait = 60 * time.Second

// keySource is what decryption needs from the key exchange
// (*kafkacrypto.Client); tests give a fake.
type keySource interface {
	Secret(kafkacrypto.KeyIndex) ([]byte, bool)
	Want(kafkacrypto.KeyIndex)
	Wait(context.Context, kafkacrypto.KeyIndex, time.Time) ([]byte, bool)
}

// errSavedEncrypted: the message went to ENCRYPTED_MESSAGES/; it is handled.
var errSavedEncrypted = errors.New("saved to " + EncryptedDirName)

// errStopping: the program stops while the message waits for its key; it
// is neither handled nor committed.
var errStopping = errors.New("stopping while waiting for a key")

type decrypter struct {
	keys  keySource
	wait  time.Duration
	topic string
	saver *encryptedSaver

	mu        sync.Mutex
	deadlines map[string]time.Time // by key index ID
}

func newDecrypter(keys keySource, wait time.Duration, topic string, saver *encryptedSaver) *decrypter {
	if wait <= 0 {
		wait = DefaultKeyWait
	}
	return &decrypter{keys: keys, wait: wait, topic: topic, saver: saver, deadlines: map[string]time.Time{}}
}

// deadline is when messages of ki stop waiting for its key: KeyWait after
// the first message that waited for it. Later messages of a key index that
// timed out wait no more, so an untrusted node does not wait per message.
func (dc *decrypter) deadline(ki kafkacrypto.KeyIndex) time.Time {
	id := ki.ID()
	dc.mu.Lock()
	defer dc.mu.Unlock()
	d, ok := dc.deadlines[id]
	if !ok {
		d = time.Now().Add(dc.wait)
		dc.deadlines[id] = d
	}
	return d
}

// secret returns the topic secret of ki, waiting for it up to its deadline.
func (dc *decrypter) secret(ctx context.Context, ki kafkacrypto.KeyIndex) ([]byte, error) {
	if s, ok := dc.keys.Secret(ki); ok {
		return s, nil
	}
	dc.keys.Want(ki)
	s, ok := dc.keys.Wait(ctx, ki, dc.deadline(ki))
	if ok {
		return s, nil
	}
	if ctx.Err() != nil {
		return nil, errStopping
	}
	return nil, nil
}

// decrypt returns a copy of m with its key and value decrypted. When it
// cannot, it saves m to ENCRYPTED_MESSAGES/ and returns errSavedEncrypted
// (or a storage error, to be retried). An empty value (a tombstone) is
// passed on as it is, for the chunk decoder to refuse.
func (d *Downloader) decrypt(ctx context.Context, m *kafka.Message, log *logrus.Entry) (*kafka.Message, error) {
	dc := d.crypto
	if len(m.Value) == 0 {
		return m, nil
	}
	out := *m
	var why string
	var err error
	if out.Value, why, err = dc.open(ctx, m.Value, kafkacrypto.ValuePart); err == nil && why == "" && len(m.Key) > 0 {
		out.Key, why, err = dc.open(ctx, m.Key, kafkacrypto.KeyPart)
	}
	if err != nil {
		return nil, err
	}
	if why == "" {
		d.stats.messagesDecrypted.Add(1)
		return &out, nil
	}
	if err := dc.saver.save(m, why, log); err != nil {
		return nil, err
	}
	d.stats.messagesUndecryptable.Add(1)
	return nil, errSavedEncrypted
}

// open decrypts one part; why says why it cannot ("" when it could).
func (dc *decrypter) open(ctx context.Context, b []byte, part kafkacrypto.Part) (plain []byte, why string, err error) {
	env, err := kafkacrypto.ParseEnvelope(b)
	if err != nil {
		return nil, fmt.Sprintf("its %s is not encrypted with KafkaCrypto (%v)", part, err), nil
	}
	secret, err := dc.secret(ctx, env.KeyIndex)
	if err != nil {
		return nil, "", err
	}
	if secret == nil {
		return nil, fmt.Sprintf("no key for key index %s arrived within %s", env.KeyIndex, dc.wait), nil
	}
	plain, err = env.Open(secret, part)
	if err != nil {
		return nil, fmt.Sprintf("its %s does not open with the key of key index %s (%v)", part, env.KeyIndex, err), nil
	}
	return plain, "", nil
}

// useKeys turns decryption on with the given key source.
func (d *Downloader) useKeys(keys keySource, wait time.Duration) {
	d.crypto = newDecrypter(keys, wait, d.cfg.Topic, &encryptedSaver{root: d.root, topic: d.cfg.Topic, limiter: d.limiter})
}
