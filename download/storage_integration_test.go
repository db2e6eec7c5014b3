package download

// The storage engine's rules where Kafka is involved, against the real
// broker: versions ordered by the record timestamps a producer's retry
// keeps (R1), offsets committed past a file that cannot be put in place
// (R2), hostile offsets skipped without pausing a partition (R3).

import (
	"bytes"
	"crypto/sha512"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/openmsi/datafiledownloaddirectory/download/storage"
	"github.com/openmsi/datafiledownloaddirectory/test/kafkatest"
	"github.com/openmsi/datafiledownloaddirectory/test/uploadtest"
)

func produceAll(t *testing.T, topic string, msgs []uploadtest.Message) {
	t.Helper()
	uploadtest.ProduceT(t, kafkatest.Bootstrap(), topic, msgs)
}

func stamped(msgs []uploadtest.Message, at time.Time) []uploadtest.Message {
	out := append([]uploadtest.Message(nil), msgs...)
	for i := range out {
		out[i].Timestamp = at
	}
	return out
}

func fileIs(out, rel string, want []byte) bool {
	got, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(rel)))
	return err == nil && bytes.Equal(got, want)
}

// R1: v1 of run/sample.dat (6 chunks) is downloaded; v2 (2 chunks, later)
// starts; a producer retry then delivers two v1 chunks with their original
// timestamps. v2 must win, also when v1 was still in progress.
func TestLateRetryOfOlderVersionNeverWins(t *testing.T) {
	topic := kafkatest.NewTopic(t, "late_retry", 4)
	out := t.TempDir()
	r := startLogged(t, out, topic, "g-"+topic, false)
	t1 := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	t2 := t1.Add(time.Minute)
	v1 := randomBytes(201, 6*1000)
	v2 := randomBytes(202, 2*1000)
	// The same mtime on purpose: only the timestamps tell the versions apart.
	v1msgs := stamped(uploadtest.FileChunks(v1, "run/sample.dat", 1000, uploadtest.Options{Mtime: 1.7e9}), t1)
	v2msgs := stamped(uploadtest.FileChunks(v2, "run/sample.dat", 1000, uploadtest.Options{Mtime: 1.7e9}), t2)

	produceAll(t, topic, v1msgs)
	WaitFor(t, "v1 downloaded", time.Minute, func() bool { return fileIs(out, "run/sample.dat", v1) })
	produceAll(t, topic, v2msgs[:1])
	produceAll(t, topic, []uploadtest.Message{v1msgs[2], v1msgs[4]})
	produceAll(t, topic, v2msgs[1:])
	WaitFor(t, "v2 downloaded", time.Minute, func() bool { return fileIs(out, "run/sample.dat", v2) })

	// The same with v1 still in progress when v2 comes.
	w1 := randomBytes(203, 6*1000)
	w2 := randomBytes(204, 2*1000)
	w1msgs := stamped(uploadtest.FileChunks(w1, "run/other.dat", 1000, uploadtest.Options{}), t1)
	w2msgs := stamped(uploadtest.FileChunks(w2, "run/other.dat", 1000, uploadtest.Options{}), t2)
	produceAll(t, topic, w1msgs[:4])
	WaitFor(t, "4 chunks of w1", time.Minute, func() bool {
		files, _, _ := r.d.store.Status()
		return len(files) == 1 && files[0].ChunksReceived == 4
	})
	produceAll(t, topic, w2msgs)
	produceAll(t, topic, w1msgs[4:])
	WaitFor(t, "w2 downloaded", time.Minute, func() bool { return fileIs(out, "run/other.dat", w2) })
	marker := randomBytes(205, 10)
	produceAll(t, topic, uploadtest.FileChunks(marker, "run/marker", 100, uploadtest.Options{}))
	WaitFor(t, "a later file", time.Minute, func() bool { return fileIs(out, "run/marker", marker) })
	if !fileIs(out, "run/sample.dat", v2) || !fileIs(out, "run/other.dat", w2) {
		t.Fatal("an older version replaced a newer one")
	}
	if n := strings.Count(r.logged.String(), "older version"); n != 1 {
		t.Fatalf("%d log lines about dropped older versions, want 1 (w1, superseded)", n)
	}
	r.running(t)
}

// R2: a complete file that cannot be put in place (EPERM, as a folder the
// service may not write to) does not stop offsets being committed, on any
// partition; it is put in place once the obstacle is gone, without a
// restart.
func TestStuckFileDoesNotStopCommits(t *testing.T) {
	topic := kafkatest.NewTopic(t, "stuck_file", 4)
	group := "g-" + topic
	out := t.TempDir()
	var locked atomic.Bool
	locked.Store(true)
	wrap := func(fsys storage.FS) storage.FS {
		return &storage.Faults{FS: fsys, FailRename: func(_, newname string) error {
			if locked.Load() && strings.HasPrefix(newname, "locked1/") {
				return syscall.EPERM
			}
			return nil
		}}
	}
	r := startLoggedFS(t, out, topic, group, false, wrap)
	stuck := randomBytes(210, 50_000)
	var msgs []uploadtest.Message
	msgs = append(msgs, uploadtest.FileChunks(stuck, "locked1/a.dat", 4096, uploadtest.Options{})...)
	others := map[string][]byte{}
	for i := range 8 {
		rel := fmt.Sprintf("free/f%d.dat", i)
		others[rel] = randomBytes(uint64(220+i), 20_000)
		msgs = append(msgs, uploadtest.FileChunks(others[rel], rel, 4096, uploadtest.Options{})...)
	}
	produceAll(t, topic, msgs)
	WaitFor(t, "the other files", time.Minute, func() bool {
		for rel, data := range others {
			if !fileIs(out, rel, data) {
				return false
			}
		}
		return true
	})
	WaitFor(t, "every offset committed past the stuck file", time.Minute, func() bool { return kafkatest.CommittedAll(t, kafkatest.Bootstrap(), group, topic, 4) })
	if _, err := os.Stat(filepath.Join(out, "locked1", "a.dat")); err == nil {
		t.Fatal("the stuck file is in place although its rename fails")
	}
	st := r.d.Status()
	if len(st.WaitingToPublish) != 1 || st.WaitingToPublish[0].Path != "locked1/a.dat" {
		t.Fatalf("waiting = %+v, want locked1/a.dat", st.WaitingToPublish)
	}
	if strings.Contains(r.logged.String(), "no offsets are committed") {
		t.Fatal("the stuck file failed a barrier")
	}
	locked.Store(false)
	released := time.Now()
	WaitFor(t, "the stuck file in place after the release", 30*time.Second, func() bool { return fileIs(out, "locked1/a.dat", stuck) })
	t.Logf("in place %s after the release", time.Since(released).Round(100*time.Millisecond))
	if n := strings.Count(r.logged.String(), "cannot be put in place"); n != 1 {
		t.Fatalf("%d warnings about the stuck file, want 1", n)
	}
	r.running(t)
}

// R3: chunks whose offsets do not tile their file are skipped as bad input:
// no partition pauses, no file grows to a gigabyte.
func TestHostileOffsetsAreSkipped(t *testing.T) {
	topic := kafkatest.NewTopic(t, "hostile_offsets", 4)
	out := t.TempDir()
	r := startLogged(t, out, topic, "g-"+topic, false)
	data := randomBytes(230, 300)
	msgs := uploadtest.FileChunks(data, "evil/f.bin", 100, uploadtest.Options{})
	forged := func(offset int64) uploadtest.Message {
		sum := sha512Sum(data[200:])
		whole := sha512Sum(data)
		return uploadtest.Message{Key: "evil", Value: uploadtest.Encode(uploadtest.Fields{
			Filename: "f.bin", Subdir: "evil", FileHash: whole, ChunkHash: sum,
			Offset: offset, Index: 3, Total: 3, Data: data[200:],
		})}
	}
	good := randomBytes(231, 5000)
	// The forged chunks may come before the real ones (they spread over
	// partitions); either way the real file must complete.
	produceAll(t, topic, []uploadtest.Message{msgs[0], forged(1 << 30), forged(1<<44 - 16), msgs[1]})
	produceAll(t, topic, uploadtest.FileChunks(good, "fine/g.bin", 1000, uploadtest.Options{}))
	WaitFor(t, "the good file", time.Minute, func() bool { return fileIs(out, "fine/g.bin", good) })
	WaitFor(t, "the forged chunk far out skipped", time.Minute, func() bool { return r.d.Status().MessagesInvalid >= 1 })
	log := r.logged.String()
	if strings.Contains(log, "paused") || strings.Contains(log, "cannot store a chunk") {
		t.Fatal("a hostile offset paused a partition")
	}
	produceAll(t, topic, msgs[2:])
	WaitFor(t, "the real file", time.Minute, func() bool { return fileIs(out, "evil/f.bin", data) })
	var total int64
	filepath.Walk(out, func(_ string, fi os.FileInfo, _ error) error {
		if fi != nil && !fi.IsDir() {
			total += fi.Size()
		}
		return nil
	})
	if total > 1<<20 {
		t.Fatalf("the output folder holds %d bytes", total)
	}
	r.running(t)
}

func sha512Sum(b []byte) []byte {
	s := sha512.Sum512(b)
	return s[:]
}

// R5: after a failed fsync the downloader stops without committing what
// came since the last good barrier, and Run returns the error (the program
// exits non-zero, the service manager restarts it, Kafka delivers again).
func TestFailedFsyncStopsWithoutCommitting(t *testing.T) {
	topic := kafkatest.NewTopic(t, "failed_fsync", 4)
	group := "g-" + topic
	out := t.TempDir()
	var broken atomic.Bool
	wrap := func(fsys storage.FS) storage.FS {
		return &storage.Faults{FS: fsys, FailSync: func(string) error {
			if broken.Load() {
				return syscall.EIO
			}
			return nil
		}}
	}
	r := startLoggedFS(t, out, topic, group, false, wrap)
	first := randomBytes(240, 20_000)
	produceAll(t, topic, uploadtest.FileChunks(first, "ok/first.dat", 4096, uploadtest.Options{}))
	WaitFor(t, "the first file", time.Minute, func() bool { return fileIs(out, "ok/first.dat", first) })
	WaitFor(t, "its offsets committed", time.Minute, func() bool { return kafkatest.CommittedAll(t, kafkatest.Bootstrap(), group, topic, 4) })

	broken.Store(true)
	produceAll(t, topic, uploadtest.FileChunks(randomBytes(241, 20_000), "lost/second.dat", 4096, uploadtest.Options{}))
	select {
	case <-r.done:
	case <-time.After(time.Minute):
		t.Fatal("the downloader went on after a failed fsync")
	}
	if !storage.IsDurability(r.err) {
		t.Fatalf("Run returned %v, want the failed fsync", r.err)
	}
	if kafkatest.CommittedAll(t, kafkatest.Bootstrap(), group, topic, 4) {
		t.Fatal("offsets of data whose fsync failed were committed")
	}
}
