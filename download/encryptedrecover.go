package download

import (
	"context"
	"errors"
	"io/fs"
	"strings"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/openmsi/datafiledownloaddirectory/kafkacrypto"
)

// recoverEvery rescans ENCRYPTED_MESSAGES/ even without new keys, for
// files that could not be handled for lack of disk space or similar.
const recoverEvery = 5 * time.Minute

// runRecovery decrypts the messages of this topic saved in
// ENCRYPTED_MESSAGES/ once their keys are there: at start (asking for
// their keys), whenever new keys arrive (kick), and every recoverEvery.
// Each is handled as if just read; its two files are removed once its
// chunk is durable.
func (d *Downloader) runRecovery(ctx context.Context, keys keySource, kick <-chan struct{}) {
	tick := time.NewTicker(recoverEvery)
	defer tick.Stop()
	failed := map[string]bool{} // never decryptable: left for people and their tools
	for {
		d.recoverSaved(ctx, keys, failed)
		select {
		case <-ctx.Done():
			return
		case <-kick:
		case <-tick.C:
		}
	}
}

// savedTopic is the topic in a saved message's name, parsed as
// ReproduceUndecryptableMessages parses it.
func savedTopic(name string) (string, bool) {
	rest, ok := strings.CutPrefix(name, encryptedPrefix)
	if !ok || !strings.HasSuffix(name, "_key.bin") {
		return "", false
	}
	cut := -1
	for _, mark := range []string{"_consumed_", "_produced_", "_received_"} {
		if i := strings.Index(rest, mark); i >= 0 && (cut < 0 || i < cut) {
			cut = i
		}
	}
	if cut < 0 {
		return "", false
	}
	return rest[:cut], true
}

func (d *Downloader) recoverSaved(ctx context.Context, keys keySource, failed map[string]bool) {
	entries, err := fs.ReadDir(d.root.FS(), EncryptedDirName)
	if err != nil {
		return // none saved yet
	}
	log := d.log.WithField("from", EncryptedDirName)
	var done []string
	for _, e := range entries {
		if ctx.Err() != nil {
			return
		}
		name := e.Name()
		if topic, ok := savedTopic(name); !ok || topic != d.cfg.Topic || failed[name] {
			continue
		}
		valueName := strings.TrimSuffix(name, "_key.bin") + "_value.bin"
		rawKey, err1 := d.root.ReadFile(EncryptedDirName + "/" + name)
		rawValue, err2 := d.root.ReadFile(EncryptedDirName + "/" + valueName)
		if err := errors.Join(err1, err2); err != nil {
			log.Debugf("cannot read %s: %v", name, err)
			continue
		}
		env, err := kafkacrypto.ParseEnvelope(rawValue)
		if err != nil {
			failed[name] = true
			continue
		}
		secret, ok := keys.Secret(env.KeyIndex)
		if !ok {
			keys.Want(env.KeyIndex)
			continue
		}
		value, err := env.Open(secret, kafkacrypto.ValuePart)
		var key []byte
		if err == nil && len(rawKey) > 0 {
			var kenv *kafkacrypto.Envelope
			if kenv, err = kafkacrypto.ParseEnvelope(rawKey); err == nil {
				if ks, ok := keys.Secret(kenv.KeyIndex); !ok {
					keys.Want(kenv.KeyIndex)
					continue
				} else {
					key, err = kenv.Open(ks, kafkacrypto.KeyPart)
				}
			}
		}
		if err != nil {
			failed[name] = true
			log.Warnf("%s/%s cannot be decrypted (%v); it is left there", EncryptedDirName, name, err)
			continue
		}
		topic := d.cfg.Topic
		m := &kafka.Message{TopicPartition: kafka.TopicPartition{Topic: &topic, Partition: -1, Offset: -1}, Key: key, Value: value}
		if err := d.handle(m, log.WithField("file", name)); err != nil {
			log.Warnf("%s/%s is decrypted but cannot be stored yet: %v; retried later", EncryptedDirName, name, err)
			break
		}
		d.stats.messagesRecovered.Add(1)
		done = append(done, name, valueName)
	}
	if len(done) == 0 {
		return
	}
	if err := d.store.Barrier(); err != nil {
		log.Warnf("the chunks decrypted from %s are not durable yet (%v); their files are kept", EncryptedDirName, err)
		return
	}
	for _, name := range done {
		if err := d.root.Remove(EncryptedDirName + "/" + name); err != nil {
			log.Warnf("remove %s/%s: %v", EncryptedDirName, name, err)
		}
	}
	syncDir(d.root, EncryptedDirName)
	log.Infof("%d message(s) saved in %s were decrypted with keys that came later and handled", len(done)/2, EncryptedDirName)
}
