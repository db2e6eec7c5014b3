package download_test

import (
	"bytes"
	"context"
	"crypto/sha512"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/openmsi/datafiledownloaddirectory/download"
	"github.com/openmsi/datafiledownloaddirectory/test/kafkatest"
	"github.com/openmsi/datafiledownloaddirectory/test/uploadtest"
)

func TestMain(m *testing.M) { os.Exit(kafkatest.Shared(m)) }

// newTopic creates a fresh 4-partition topic, so chunks of one file spread
// over partitions as they do in production.
func newTopic(t *testing.T) string {
	t.Helper()
	return kafkatest.NewTopic(t, t.Name(), 4)
}

func produce(t *testing.T, topic string, msgs []uploadtest.Message) {
	t.Helper()
	uploadtest.ProduceT(t, kafkatest.Bootstrap(), topic, msgs)
}

// running is a downloader running in the background of a test.
type running struct {
	d      *download.Downloader
	cancel context.CancelFunc
	done   chan error
}

func startDownloader(t *testing.T, out, topic, group string, regex string) *running {
	t.Helper()
	cfg := download.Config{
		OutputDir: out,
		Topic:     topic,
		Consumers: 2,
		GroupID:   group,
		Kafka: map[string]string{
			"bootstrap.servers": kafkatest.Bootstrap(),
			"auto.offset.reset": "earliest",
		},
		CommitInterval: 200 * time.Millisecond,
	}
	if regex != "" {
		re, err := download.CompileRegex(regex)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Regex = re
	}
	logger := logrus.New()
	logger.SetLevel(logrus.InfoLevel)
	logger.SetOutput(testWriter{t})
	d, err := download.New(cfg, logrus.NewEntry(logger))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{d: d, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- d.Run(ctx) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

func (r *running) stop(t *testing.T) {
	t.Helper()
	if r.cancel == nil {
		return
	}
	r.cancel()
	r.cancel = nil
	select {
	case err := <-r.done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return within 30 s of cancellation")
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// waitFor polls until cond holds or the deadline passes.
var waitFor = download.WaitFor

// sampleFiles makes a folder tree of files of many sizes.
func sampleFiles(seed uint64, n int) map[string][]byte {
	r := rand.New(rand.NewPCG(seed, seed))
	files := make(map[string][]byte)
	for i := range n {
		size := []int{1, 100, 4096, 4097, 20_000, 70_000}[i%6] + r.IntN(100)
		data := make([]byte, size)
		for j := range data {
			data[j] = byte(r.Uint32())
		}
		dir := []string{"", "a", "a/b", "a/b/c", "other dir"}[i%5]
		rel := fmt.Sprintf("file_%03d.bin", i)
		if dir != "" {
			rel = dir + "/" + rel
		}
		files[rel] = data
	}
	return files
}

func chunksOf(files map[string][]byte, chunkSize int, opts uploadtest.Options) []uploadtest.Message {
	var msgs []uploadtest.Message
	for rel, data := range files {
		msgs = append(msgs, uploadtest.FileChunks(data, rel, chunkSize, opts)...)
	}
	return msgs
}

func shuffle(seed uint64, msgs []uploadtest.Message) {
	rand.New(rand.NewPCG(seed, seed)).Shuffle(len(msgs), func(i, j int) { msgs[i], msgs[j] = msgs[j], msgs[i] })
}

func filesEqual(out string, files map[string][]byte) error {
	for rel, want := range files {
		got, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(rel)))
		if err != nil {
			return err
		}
		if !bytes.Equal(got, want) {
			return fmt.Errorf("%s: content differs", rel)
		}
	}
	return nil
}

// assertOnlyFiles checks that the output folder holds exactly the given
// files outside the state folder, and no partial data.
func assertOnlyFiles(t *testing.T, out string, want map[string][]byte) {
	t.Helper()
	if err := filesEqual(out, want); err != nil {
		t.Fatal(err)
	}
	err := filepath.WalkDir(out, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(out, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel == download.StateDirName {
				return fs.SkipDir
			}
			return nil
		}
		if _, ok := want[rel]; !ok {
			t.Errorf("unexpected file in output: %s", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	partial, _ := os.ReadDir(filepath.Join(out, download.StateDirName, "partial"))
	for _, e := range partial {
		t.Errorf("partial data left behind: %s", e.Name())
	}
}

func TestDownloadNestedShuffledDuplicated(t *testing.T) {
	topic := newTopic(t)
	out := t.TempDir()
	files := sampleFiles(1, 60)
	msgs := chunksOf(files, 4096, uploadtest.Options{Mtime: 1700000000})
	// Producer retries deliver some chunks twice.
	msgs = append(msgs, msgs[:len(msgs)/5]...)
	shuffle(2, msgs)
	produce(t, topic, msgs)

	r := startDownloader(t, out, topic, "g-"+topic, "")
	waitFor(t, "all files", 2*time.Minute, func() bool { return filesEqual(out, files) == nil })
	r.stop(t)
	assertOnlyFiles(t, out, files)
	st := r.d.Status()
	if st.FilesCompleted != int64(len(files)) || st.MessagesRead != int64(len(msgs)) || st.MessagesInvalid != 0 {
		t.Fatalf("status %+v; want %d files, %d messages read", st, len(files), len(msgs))
	}
}

func TestDownloadRegexAppendAndLegacyLayout(t *testing.T) {
	topic := newTopic(t)
	out := t.TempDir()
	wanted := map[string][]byte{"keep/x.dat": []byte(strings.Repeat("x", 10_000))}
	other := map[string][]byte{"skip/y.dat": []byte("y"), "keep/z.txt": []byte("zzz")}
	msgs := chunksOf(wanted, 1024, uploadtest.Options{Legacy9: true})
	msgs = append(msgs, chunksOf(other, 1024, uploadtest.Options{})...)
	appended := map[string][]byte{"keep/data.tar.gz": []byte(strings.Repeat("a", 3000))}
	msgs = append(msgs, chunksOf(appended, 1024, uploadtest.Options{FilenameAppend: "_v2"})...)
	shuffle(3, msgs)
	produce(t, topic, msgs)

	r := startDownloader(t, out, topic, "g-"+topic, `keep/.*\.(dat|gz)`)
	want := map[string][]byte{"keep/x.dat": wanted["keep/x.dat"], "keep/data.tar_v2.gz": appended["keep/data.tar.gz"]}
	waitFor(t, "matching files", time.Minute, func() bool { return filesEqual(out, want) == nil })
	waitFor(t, "all messages read", 30*time.Second, func() bool { return r.d.Status().MessagesRead == int64(len(msgs)) })
	r.stop(t)
	assertOnlyFiles(t, out, want)
	if st := r.d.Status(); st.MessagesSkipped != 2 {
		t.Fatalf("skipped %d messages, want the 2 of the files the regex excludes", st.MessagesSkipped)
	}
}

func TestDownloadSkipsBadMessages(t *testing.T) {
	topic := newTopic(t)
	out := t.TempDir()
	good := map[string][]byte{"good/one.bin": bytes.Repeat([]byte{7}, 9000)}
	goodMsgs := chunksOf(good, 2048, uploadtest.Options{})
	data := []byte("evil")
	sum := sha512.Sum512(data)
	forge := func(subdir, name string) uploadtest.Message {
		return uploadtest.Message{Key: "k", Value: uploadtest.Encode(uploadtest.Fields{
			Filename: name, FileHash: sum[:], ChunkHash: sum[:], Offset: 0, Index: 1, Total: 1, Subdir: subdir, Data: data,
		})}
	}
	wrongHash := forge("", "wrong.bin")
	wrongHash.Value = uploadtest.Encode(uploadtest.Fields{Filename: "wrong.bin", FileHash: sum[:], ChunkHash: make([]byte, 64), Index: 1, Total: 1, Data: data})
	bad := []uploadtest.Message{
		{Key: "garbage", Value: []byte("not msgpack at all")},
		{Key: "tombstone", Value: nil},
		{Key: "\xff\xfe", Value: goodMsgs[0].Value}, // non-UTF-8 key
		forge("..", "escape.txt"),
		forge("a/../..", "escape2.txt"),
		forge("/tmp", "absolute.txt"),
		forge("", "..\\..\\backslash.txt"),
		forge(download.StateDirName, "x.part"),
		forge("HASH_MISMATCHES", "fake"),
		wrongHash,
		{Key: "k", Value: uploadtest.Encode(uploadtest.Fields{Filename: "big.bin", FileHash: sum[:], ChunkHash: sum[:], Offset: 1 << 50, Index: 1, Total: 1, Data: data})},
		{Key: "k", Value: uploadtest.Encode(uploadtest.Fields{Filename: "many.bin", FileHash: sum[:], ChunkHash: sum[:], Index: 1, Total: 1 << 40, Data: data})},
	}
	msgs := append(append([]uploadtest.Message{}, bad...), goodMsgs...)
	produce(t, topic, msgs)

	r := startDownloader(t, out, topic, "g-"+topic, "")
	waitFor(t, "the good file", time.Minute, func() bool { return filesEqual(out, good) == nil })
	waitFor(t, "all messages read", 30*time.Second, func() bool { return r.d.Status().MessagesRead == int64(len(msgs)) })
	r.stop(t)
	assertOnlyFiles(t, out, good)
	if st := r.d.Status(); st.MessagesInvalid != int64(len(bad)) {
		t.Fatalf("%d messages counted invalid, want %d", st.MessagesInvalid, len(bad))
	}
}

func TestDownloadReuploadReplacesAtomically(t *testing.T) {
	topic := newTopic(t)
	out := t.TempDir()
	v1 := map[string][]byte{"r/f.dat": bytes.Repeat([]byte("1"), 50_000)}
	v2 := map[string][]byte{"r/f.dat": bytes.Repeat([]byte("2"), 7_000)}
	produce(t, topic, chunksOf(v1, 4096, uploadtest.Options{Mtime: 100}))
	r := startDownloader(t, out, topic, "g-"+topic, "")
	waitFor(t, "first version", time.Minute, func() bool { return filesEqual(out, v1) == nil })
	produce(t, topic, chunksOf(v2, 4096, uploadtest.Options{Mtime: 200}))
	waitFor(t, "second, shorter version", time.Minute, func() bool { return filesEqual(out, v2) == nil })
	r.stop(t)
	assertOnlyFiles(t, out, v2)
}

func TestDownloadResumesWithSameGroup(t *testing.T) {
	topic := newTopic(t)
	out := t.TempDir()
	group := "g-" + topic
	data := bytes.Repeat([]byte("resume me "), 30_000)
	msgs := uploadtest.FileChunks(data, "half/file.bin", 8192, uploadtest.Options{})
	half := len(msgs) / 2

	produce(t, topic, msgs[:half])
	r := startDownloader(t, out, topic, group, "")
	waitFor(t, "first half", time.Minute, func() bool { return r.d.Status().MessagesProcessed == int64(half) })
	r.stop(t)
	if st := r.d.Status(); len(st.InProgress) != 1 || st.InProgress[0].ChunksReceived != half {
		t.Fatalf("in progress at stop: %+v", st.InProgress)
	}

	produce(t, topic, msgs[half:])
	r2 := startDownloader(t, out, topic, group, "")
	want := map[string][]byte{"half/file.bin": data}
	waitFor(t, "the whole file after restart", time.Minute, func() bool { return filesEqual(out, want) == nil })
	r2.stop(t)
	// The second run read only what the first had not committed.
	if st := r2.d.Status(); st.MessagesRead != int64(len(msgs)-half) {
		t.Fatalf("second run read %d messages, want %d", st.MessagesRead, len(msgs)-half)
	}
	assertOnlyFiles(t, out, want)
}
