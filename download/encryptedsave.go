package download

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/sirupsen/logrus"

	"github.com/openmsi/datafiledownloaddirectory/download/storage"

	"github.com/openmsi/datafiledownloaddirectory/internal/ratelimit"
)

// encryptedSaver writes messages that cannot be decrypted to
// <out>/ENCRYPTED_MESSAGES/ as OpenMSIStream does, so that its
// ReproduceUndecryptableMessages can send them again:
// encrypted_message_from_<topic>_<when>_key.bin and ..._value.bin with the
// raw bytes of the key and the value, <when> being
// produced_on_%b_%d_%Y_at_%H_%M_%S_%f (the record's CreateTime; received_on
// for LogAppendTime; consumed_on and the present time without one) in local
// time. Where the original overwrites an earlier message of the same
// millisecond, a second name gets _p<partition>_o<offset> before _key.bin
// (still a name the tool reads). The files are written to the state folder,
// fsynced, then renamed into place: the message's offset is committed only
// after both are durable.
type encryptedSaver struct {
	root    *os.Root
	topic   string
	limiter *ratelimit.Limiter

	mu sync.Mutex // one save at a time: names are chosen, then used
}

const encryptedPrefix = "encrypted_message_from_"

func encryptedNames(topic string, m *kafka.Message, now time.Time) (key, value string) {
	const layout = "Jan_02_2006_at_15_04_05"
	kind, t := "consumed", now
	switch m.TimestampType {
	case kafka.TimestampCreateTime:
		kind, t = "produced", m.Timestamp
	case kafka.TimestampLogAppendTime:
		kind, t = "received", m.Timestamp
	}
	t = t.Local()
	base := fmt.Sprintf("%s%s_%s_on_%s_%06d", encryptedPrefix, topic, kind, t.Format(layout), t.Nanosecond()/1000)
	return base + "_key.bin", base + "_value.bin"
}

func (s *encryptedSaver) save(m *kafka.Message, why string, log *logrus.Entry) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	keyName, valueName := encryptedNames(s.topic, m, time.Now())
	switch same, err := s.sameAs(keyName, valueName, m); {
	case err != nil:
		return err
	case same:
		return nil // read again after a restart: already saved
	case s.exists(keyName) || s.exists(valueName):
		suffix := fmt.Sprintf("_p%d_o%d", m.TopicPartition.Partition, m.TopicPartition.Offset)
		keyName = strings.TrimSuffix(keyName, "_key.bin") + suffix + "_key.bin"
		valueName = strings.TrimSuffix(valueName, "_value.bin") + suffix + "_value.bin"
	}
	if err := s.root.MkdirAll(EncryptedDirName, 0o755); err != nil {
		return storageErr("create %s: %w", EncryptedDirName, err)
	}
	for _, f := range []struct {
		name string
		data []byte
	}{{keyName, m.Key}, {valueName, m.Value}} {
		if err := s.writeDurably(EncryptedDirName+"/"+f.name, f.data); err != nil {
			return err
		}
	}
	if err := syncDir(s.root, EncryptedDirName); err != nil {
		return err
	}
	entry := log.WithFields(messageFields(m.TopicPartition))
	if held, ok := s.limiter.Allow("undecryptable"); ok {
		more := ""
		if held > 0 {
			more = fmt.Sprintf(" (%d more such messages in the last minute)", held)
		}
		entry.Warnf("encountered a message that failed to be decrypted (partition %d offset %d: %s). Key bytes were written to %s/%s and value bytes to %s/%s; "+
			"they are decrypted from there when the key arrives, or can be sent again with OpenMSIStream's ReproduceUndecryptableMessages%s",
			m.TopicPartition.Partition, m.TopicPartition.Offset, why, EncryptedDirName, keyName, EncryptedDirName, valueName, more)
	} else {
		entry.Debugf("message at partition %d offset %d written to %s/%s: %s", m.TopicPartition.Partition, m.TopicPartition.Offset, EncryptedDirName, valueName, why)
	}
	return nil
}

func (s *encryptedSaver) exists(name string) bool {
	_, err := s.root.Stat(EncryptedDirName + "/" + name)
	return err == nil
}

func (s *encryptedSaver) sameAs(keyName, valueName string, m *kafka.Message) (bool, error) {
	k, err := s.root.ReadFile(EncryptedDirName + "/" + keyName)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, storageErr("read %s: %w", keyName, err)
	}
	v, err := s.root.ReadFile(EncryptedDirName + "/" + valueName)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, storageErr("read %s: %w", valueName, err)
	}
	return bytes.Equal(k, m.Key) && bytes.Equal(v, m.Value), nil
}

// writeDurably writes data under a temporary name in the state folder,
// fsyncs it and renames it to name.
func (s *encryptedSaver) writeDurably(name string, data []byte) error {
	b := make([]byte, 8)
	rand.Read(b)
	tmp := StateDirName + "/encrypted-" + hex.EncodeToString(b) + ".tmp"
	f, err := s.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return storageErr("write %s: %w", name, err)
	}
	_, err = f.Write(data)
	if err == nil {
		if err = f.Sync(); err != nil {
			f.Close()
			s.root.Remove(tmp)
			return &storage.DurabilityError{Err: fmt.Errorf("sync %s: %w", name, err)}
		}
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = s.root.Rename(tmp, name)
	}
	if err != nil {
		s.root.Remove(tmp)
		return storageErr("write %s: %w", name, err)
	}
	return nil
}
