package download

// A rebalance while partitions are paused for disk trouble, against the
// real broker. librdkafka keeps a partition's application pause across a
// revoke and a later assignment of the same partition to the same
// consumer, while the consumer forgets its retries at the revoke: such a
// partition was never resumed, and its files never completed once the disk
// worked again (found by the disk-full and read-only tests, where the
// group's own second consumer joining late caused the rebalance).

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/openmsi/datafiledownloaddirectory/download/storage"
	"github.com/openmsi/datafiledownloaddirectory/test/kafkatest"
	"github.com/openmsi/datafiledownloaddirectory/test/uploadtest"
)

func TestRebalanceWhilePausedForDiskTrouble(t *testing.T) {
	topic := kafkatest.NewTopic(t, "rebalance_paused", 4)
	group := "g-" + topic

	// The disk is full until the test says otherwise.
	var full atomic.Bool
	var refused atomic.Int64
	full.Store(true)
	wrap := func(fsys storage.FS) storage.FS {
		return &storage.Faults{FS: fsys, FailWrite: func(name string, b []byte, off int64) (int, error, bool) {
			if full.Load() {
				refused.Add(1)
				return 0, &os.PathError{Op: "write", Path: name, Err: syscall.ENOSPC}, true
			}
			return 0, nil, false
		}}
	}

	files := map[string][]byte{}
	var msgs []uploadtest.Message
	for i := range 8 {
		rel := fmt.Sprintf("paused/f%d.bin", i)
		files[rel] = randomBytes(uint64(100+i), 30_000+i)
		msgs = append(msgs, uploadtest.FileChunks(files[rel], rel, 2048, uploadtest.Options{})...)
	}
	pctx, pcancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer pcancel()
	if err := uploadtest.Produce(pctx, kafkatest.Bootstrap(), topic, msgs); err != nil {
		t.Fatal(err)
	}

	out := t.TempDir()
	r := startLoggedFS(t, out, topic, group, false, wrap)

	// Every partition has refused a chunk and retried a few times: by
	// then the retry delay is seconds, so the partitions are paused.
	WaitFor(t, "every partition to be paused", time.Minute, func() bool {
		return strings.Count(r.logged.String(), "retried in 2s") >= 4
	})

	// A second member joins and leaves again: two rebalances, after which
	// the downloader has every partition again.
	joinAndLeave(t, group, topic)
	WaitFor(t, "the partitions to come back", time.Minute, func() bool {
		return strings.Count(r.logged.String(), "assigned partitions [0,1,2,3]") >= 2
	})
	if refused.Load() == 0 {
		t.Fatal("the disk refused nothing")
	}

	full.Store(false)
	healed := time.Now()
	WaitFor(t, "every file once the disk works again", time.Minute, func() bool {
		for rel, data := range files {
			got, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(rel)))
			if err != nil || !bytes.Equal(got, data) {
				return false
			}
		}
		return true
	})
	t.Logf("%d files complete %s after the disk works again", len(files), time.Since(healed).Round(100*time.Millisecond))
	r.running(t)
}

// joinAndLeave makes another member of the group that stays until it has
// partitions, and then leaves, committing nothing.
func joinAndLeave(t *testing.T, group, topic string) {
	t.Helper()
	kc, err := kafka.NewConsumer(kafkatest.Quiet(&kafka.ConfigMap{
		"bootstrap.servers":  kafkatest.Bootstrap(),
		"group.id":           group,
		"enable.auto.commit": false,
		"auto.offset.reset":  "earliest",
		"session.timeout.ms": 6000,
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	if err := kc.Subscribe(topic, nil); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		kc.Poll(100)
		if parts, err := kc.Assignment(); err == nil && len(parts) > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the second member got no partitions within a minute")
		}
	}
}
