package storage

import (
	"bytes"
	"crypto/sha512"
	"errors"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/sirupsen/logrus/hooks/test"
)

// upload cuts data into chunks as OpenMSIStream does, all produced at one
// time (the Kafka timestamps of one upload are close; only their order
// against other versions matters).
func upload(rel string, data []byte, chunkSize int, produced time.Time, mtime float64) []*Chunk {
	fileHash := sha512.Sum512(data)
	dir, name := "", rel
	if i := strings.LastIndexByte(rel, '/'); i >= 0 {
		dir, name = rel[:i], rel[i+1:]
	}
	paths, err := ChunkPaths(dir, name, "", false)
	if err != nil {
		panic(err)
	}
	total := (len(data) + chunkSize - 1) / chunkSize
	var chunks []*Chunk
	for i := range total {
		part := data[i*chunkSize : min(len(data), (i+1)*chunkSize)]
		sum := sha512.Sum512(part)
		chunks = append(chunks, &Chunk{
			Paths: paths, FileHash: fileHash[:], ChunkHash: sum[:],
			Offset: int64(i * chunkSize), Index: int64(i + 1), Total: int64(total),
			Data: part, Mtime: mtime, Produced: produced,
		})
	}
	return chunks
}

func randomBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// t0 is a fixed production time; versions are ordered against it.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

type testEngine struct {
	*Engine
	t    testing.TB
	dir  string
	fsys FS
	logs *test.Hook
}

// openEngine opens and recovers an engine on dir; fsys wraps the real
// folder when given (a faultFS).
func openEngine(t testing.TB, dir string, wrap func(FS) FS, opts Options) *testEngine {
	t.Helper()
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { root.Close() })
	rootFS := NewRootFS(root)
	t.Cleanup(func() { rootFS.Close() })
	var fsys FS = rootFS
	if wrap != nil {
		fsys = wrap(fsys)
	}
	logger, hook := test.NewNullLogger()
	logger.SetLevel(logrus.DebugLevel)
	opts.Log = logrus.NewEntry(logger)
	e, err := Open(fsys, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Recover(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.waitPublished(); e.Close() })
	return &testEngine{Engine: e, t: t, dir: dir, fsys: fsys, logs: hook}
}

// put stores a chunk that must be accepted and waits for its file's
// verification and publishing. A file found not to match its hash in the
// background makes the outcome Mismatch, as the downloader counts it.
func (te *testEngine) put(c *Chunk) Outcome {
	te.t.Helper()
	late := te.stats.LateMismatchChunks.Load()
	out, err := te.Put(c)
	if err != nil {
		te.t.Fatalf("chunk %d of %s: %v", c.Index, c.Paths.Rel, err)
	}
	te.WaitVerified()
	if te.stats.LateMismatchChunks.Load() != late {
		out = Mismatch
	}
	if err := te.waitPublished(); err != nil {
		te.t.Fatalf("publishing after chunk %d of %s: %v", c.Index, c.Paths.Rel, err)
	}
	return out
}

func (te *testEngine) putAll(chunks []*Chunk) {
	te.t.Helper()
	for _, c := range chunks {
		te.put(c)
	}
}

// barrier is a barrier after the files completed so far are verified, as
// at the downloader's stop: what was put before it is then in place.
// Tests of a barrier while verifications run call Barrier.
func (te *testEngine) barrier() {
	te.t.Helper()
	te.WaitVerified()
	if err := te.Barrier(); err != nil {
		te.t.Fatal(err)
	}
}

// crash drops the engine as a killed process would: open files are
// closed (the OS does that), nothing else is done.
func (te *testEngine) crash() {
	_ = te.waitPublished()
	te.Close()
}

func (te *testEngine) path(rel string) string { return filepath.Join(te.dir, filepath.FromSlash(rel)) }

func (te *testEngine) logged(substr string) int {
	n := 0
	for _, e := range te.logs.AllEntries() {
		if strings.Contains(e.Message, substr) {
			n++
		}
	}
	return n
}

func assertFile(t testing.TB, path string, want []byte) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s: %d bytes differ from the %d expected", path, len(got), len(want))
	}
}

func assertMissing(t testing.TB, path string) {
	t.Helper()
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("%s exists (err %v), want it missing", path, err)
	}
}

// assertNoPartialData checks that nothing of finished files is left behind.
func assertNoPartialData(t testing.TB, dir string) {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dir, PartialDir))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("left behind in the state folder: %s", e.Name())
	}
}
