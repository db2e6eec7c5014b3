package storage

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openmsi/datafiledownloaddirectory/test/testkit"
)

func TestShuffledDuplicatedChunksMakeTheFile(t *testing.T) {
	te := openEngine(t, t.TempDir(), nil, Options{})
	data := randomBytes(1, 100_000)
	chunks := upload("a/b/c.bin", data, 4096, t0, 0)
	all := append(append([]*Chunk(nil), chunks...), chunks[:7]...)
	rand.New(rand.NewPCG(2, 2)).Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	outs := map[Outcome]int{}
	for _, c := range all {
		outs[te.put(c)]++
	}
	te.barrier()
	assertFile(t, te.path("a/b/c.bin"), data)
	assertNoPartialData(t, te.dir)
	if outs[Completed] != 1 || outs[Written] != len(chunks)-1 || outs[Duplicate] != 7 {
		t.Fatalf("outcomes %v: want 1 completed, %d written, 7 duplicates", outs, len(chunks)-1)
	}
}

func TestConcurrentChunksOfManyFiles(t *testing.T) {
	te := openEngine(t, t.TempDir(), nil, Options{MaxOpenFiles: 8})
	want := map[string][]byte{}
	var chunks []*Chunk
	for i := range 40 {
		rel := filepath.ToSlash(filepath.Join("many", strings.Repeat("x", i%3+1), "f"+string(rune('a'+i%26))+string(rune('0'+i/26))+".bin"))
		data := randomBytes(uint64(i+10), 20_000+i*100)
		want[rel] = data
		chunks = append(chunks, upload(rel, data, 1500, t0, 0)...)
	}
	rand.New(rand.NewPCG(3, 3)).Shuffle(len(chunks), func(i, j int) { chunks[i], chunks[j] = chunks[j], chunks[i] })
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := w; i < len(chunks); i += 4 {
				if _, err := te.Put(chunks[i]); err != nil {
					t.Error(err)
				}
				if i%50 == 0 {
					if err := te.Barrier(); err != nil {
						t.Error(err)
					}
				}
			}
		})
	}
	wg.Wait()
	te.barrier()
	for rel, data := range want {
		assertFile(t, te.path(rel), data)
	}
	assertNoPartialData(t, te.dir)
	if n := te.stats.FilesCompleted.Load(); n != int64(len(want)) {
		t.Fatalf("FilesCompleted = %d, want %d", n, len(want))
	}
}

func TestHashMismatchGoesAside(t *testing.T) {
	te := openEngine(t, t.TempDir(), nil, Options{})
	data := randomBytes(4, 10_000)
	chunks := upload("m/x.dat", data, 4000, t0, 0)
	chunks[0].FileHash = append([]byte(nil), chunks[0].FileHash...)
	chunks[0].FileHash[0] ^= 1
	for _, c := range chunks {
		c.FileHash = chunks[0].FileHash
	}
	var last Outcome
	for _, c := range chunks {
		last = te.put(c)
	}
	te.barrier()
	if last != Mismatch {
		t.Fatalf("last outcome %v, want Mismatch", last)
	}
	assertFile(t, te.path(MismatchDirName+"/m/x.dat"), data)
	assertMissing(t, te.path("m/x.dat"))
	if te.stats.FilesMismatched.Load() != 1 {
		t.Fatal("mismatch not counted")
	}
}

func TestResumesAfterRestart(t *testing.T) {
	dir := t.TempDir()
	te := openEngine(t, dir, nil, Options{})
	data := randomBytes(5, 50_000)
	chunks := upload("r/resume.bin", data, 5000, t0, 0)
	te.putAll(chunks[:6])
	te.barrier() // these six are committed
	te.putAll(chunks[6:8])
	te.crash() // the last two were not: they come again

	te2 := openEngine(t, dir, nil, Options{})
	if got := te2.logged("6 of 10 chunks already on disk"); got != 1 {
		t.Fatalf("want one line saying 6 of 10 chunks were resumed, got %d", got)
	}
	te2.putAll(chunks[6:])
	te2.barrier()
	assertFile(t, te2.path("r/resume.bin"), data)
	assertNoPartialData(t, dir)
}

func TestReuploadShorterReplaces(t *testing.T) {
	te := openEngine(t, t.TempDir(), nil, Options{})
	long := randomBytes(6, 30_000)
	short := randomBytes(7, 3_000)
	te.putAll(upload("v/f.txt", long, 4096, t0, 100))
	te.putAll(upload("v/f.txt", short, 4096, t0.Add(time.Minute), 200))
	te.barrier()
	assertFile(t, te.path("v/f.txt"), short)
}

// R1: a late duplicate of an older version never displaces a newer one,
// whatever their chunk counts, in progress or published.
func TestVersionsLateDuplicateOfOlderVersion(t *testing.T) {
	te := openEngine(t, t.TempDir(), nil, Options{})
	v1 := upload("run/sample.dat", randomBytes(8, 6*1000), 1000, t0, 100)
	v2data := randomBytes(9, 2*1000)
	v2 := upload("run/sample.dat", v2data, 1000, t0.Add(time.Minute), 200)
	te.putAll(v1)
	te.barrier()
	te.put(v2[0])
	// A producer retry delivers two v1 chunks with their original times.
	if out := te.put(v1[2]); out != Duplicate {
		t.Fatalf("late v1 chunk: %v, want Duplicate", out)
	}
	if out := te.put(v1[4]); out != Duplicate {
		t.Fatalf("late v1 chunk: %v, want Duplicate", out)
	}
	te.put(v2[1])
	te.barrier()
	assertFile(t, te.path("run/sample.dat"), v2data)
	// And after v2 is published, v1's chunks are older still.
	for _, c := range v1 {
		if out := te.put(c); out != Stale {
			t.Fatalf("v1 chunk after v2 published: %v, want Stale", out)
		}
	}
	te.barrier()
	assertFile(t, te.path("run/sample.dat"), v2data)
	assertNoPartialData(t, te.dir)
	if n := te.logged("older version"); n != 1 {
		t.Fatalf("%d log lines about the dropped version, want 1", n)
	}
}

func TestVersionsOlderInProgressIsSuperseded(t *testing.T) {
	te := openEngine(t, t.TempDir(), nil, Options{})
	v1 := upload("p/f.bin", randomBytes(10, 8*500), 500, t0, 100)
	v2data := randomBytes(11, 3*500)
	v2 := upload("p/f.bin", v2data, 500, t0.Add(time.Second), 100)
	te.putAll(v1[:4])
	te.put(v2[0]) // newer: v1 in progress is dropped
	for _, c := range v1[4:] {
		if out := te.put(c); out != Stale {
			t.Fatalf("chunk of superseded v1: %v, want Stale", out)
		}
	}
	te.putAll(v2[1:])
	te.barrier()
	assertFile(t, te.path("p/f.bin"), v2data)
	assertNoPartialData(t, te.dir)
}

// A file uploaded again from a backup has an old mtime, but it was
// produced later: it is the newer version.
func TestVersionsOrderedByProductionThenMtime(t *testing.T) {
	te := openEngine(t, t.TempDir(), nil, Options{})
	cur := randomBytes(12, 900)
	backup := randomBytes(13, 900) // same chunk count, another hash
	te.putAll(upload("b/f", cur, 300, t0, 2000))
	te.putAll(upload("b/f", backup, 300, t0.Add(time.Hour), 1000))
	te.barrier()
	assertFile(t, te.path("b/f"), backup)

	// Without Kafka timestamps, the mtime decides.
	te.putAll(upload("c/f", cur, 300, time.Time{}, 2000))
	for _, c := range upload("c/f", backup, 300, time.Time{}, 1000) {
		if out := te.put(c); out != Stale {
			t.Fatalf("older mtime without timestamps: %v, want Stale", out)
		}
	}
	te.barrier()
	assertFile(t, te.path("c/f"), cur)
}

// Versions must survive a restart: the published record and the journal
// keep what orders them.
func TestVersionsAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	te := openEngine(t, dir, nil, Options{})
	v1 := upload("x/f", randomBytes(14, 3000), 1000, t0, 0)
	v2data := randomBytes(15, 3000)
	v2 := upload("x/f", v2data, 1000, t0.Add(time.Minute), 0)
	v3 := upload("x/f", randomBytes(16, 3000), 1000, t0.Add(30*time.Second), 0)
	te.putAll(v2)
	te.barrier()
	te.crash()
	te2 := openEngine(t, dir, nil, Options{})
	for _, c := range append(v1, v3...) {
		if out := te2.put(c); out != Stale {
			t.Fatalf("older version after restart: %v, want Stale", out)
		}
	}
	te2.barrier()
	assertFile(t, te2.path("x/f"), v2data)
}

// R3: offsets must tile the file; nothing grows past its chunks.
func TestHostileOffsetsAreBadInput(t *testing.T) {
	te := openEngine(t, t.TempDir(), nil, Options{})
	data := randomBytes(17, 300)
	chunks := upload("h/f.bin", data, 100, t0, 0)
	te.put(chunks[0])
	evil := *chunks[2]
	evil.Offset = 1 << 30
	if _, err := te.Put(&evil); err == nil || IsTrouble(err) {
		t.Fatalf("last chunk at 2^30 after 100-byte chunks: %v, want bad input", err)
	}
	far := *chunks[2]
	far.Offset = 1<<44 - 16
	if _, err := te.Put(&far); err == nil || IsTrouble(err) {
		t.Fatalf("chunk at 2^44-16: %v, want bad input", err)
	}
	fi, err := os.Stat(te.path(PartialDir))
	if err != nil || !fi.IsDir() {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(te.path(PartialDir))
	for _, e := range entries {
		if info, _ := e.Info(); info.Size() > 300 {
			t.Fatalf("%s grew to %d bytes", e.Name(), info.Size())
		}
	}
	te.putAll(chunks[1:])
	te.barrier()
	assertFile(t, te.path("h/f.bin"), data)
}

func TestImpliedChunkSize(t *testing.T) {
	h := make([]byte, 64)
	mk := func(off, idx, total int64, n int) *Chunk {
		return &Chunk{FileHash: h, ChunkHash: h, Offset: off, Index: idx, Total: total, Data: make([]byte, n)}
	}
	tests := []struct {
		c    *Chunk
		want int64 // 0: refused
	}{
		{mk(0, 1, 1, 10), 10},
		{mk(5, 1, 1, 10), 0},
		{mk(0, 1, 3, 100), 100},
		{mk(100, 2, 3, 100), 100},
		{mk(99, 2, 3, 100), 0},
		{mk(200, 3, 3, 50), 100},
		{mk(200, 3, 3, 101), 0}, // last longer than the others
		{mk(201, 3, 3, 50), 0},  // does not divide
		{mk(0, 3, 3, 50), 0},    // last chunk at 0
		{mk(1<<30, 3, 3, 1), 1 << 29},
		{mk(0, 0, 3, 1), 0},
		{mk(0, 4, 3, 1), 0},
		{mk(0, 1, 1<<25, 1), 0},
		{mk(2*MaxChunkSize+2, 3, 3, 1), 0}, // chunks larger than a message
	}
	for i, tt := range tests {
		got, err := impliedChunkSize(tt.c)
		if tt.want == 0 && err == nil {
			t.Errorf("%d: %+v accepted with size %d, want refused", i, tt.c, got)
		}
		if tt.want != 0 && (err != nil || got != tt.want) {
			t.Errorf("%d: got %d, %v; want %d", i, got, err, tt.want)
		}
	}
}

func TestLateDuplicatesOfPublishedFileLeaveNothing(t *testing.T) {
	te := openEngine(t, t.TempDir(), nil, Options{})
	data := randomBytes(18, 5000)
	chunks := upload("d/f", data, 1000, t0, 0)
	te.putAll(chunks)
	te.barrier()
	for _, c := range chunks {
		if out := te.put(c); out != Duplicate {
			t.Fatalf("late duplicate: %v", out)
		}
	}
	te.barrier()
	assertNoPartialData(t, te.dir)
	// Unless the user removed the file: then it is rebuilt.
	os.Remove(te.path("d/f"))
	te.putAll(chunks)
	te.barrier()
	assertFile(t, te.path("d/f"), data)
}

func TestSymlinkEscapeIsBadInput(t *testing.T) {
	dir := t.TempDir()
	outside := t.TempDir()
	testkit.Symlink(t, outside, filepath.Join(dir, "link"))
	te := openEngine(t, dir, nil, Options{})
	for _, c := range upload("link/f", []byte("data"), 10, t0, 0) {
		if _, err := te.Put(c); err != nil {
			t.Fatal(err)
		}
	}
	if err := te.waitPublished(); err != nil {
		t.Fatalf("a symlink leading out must be bad input, not trouble: %v", err)
	}
	te.barrier()
	assertMissing(t, filepath.Join(outside, "f"))
	if te.stats.FilesRejected.Load() != 1 {
		t.Fatal("rejected file not counted")
	}
}

func TestPublishedSetIsBoundedAndCompacted(t *testing.T) {
	dir := t.TempDir()
	root, _ := os.OpenRoot(dir)
	defer root.Close()
	fsys := RootFS{Root: root}
	mkdirAll(fsys, StateDirName, nil)
	s, err := loadPublished(fsys, publishedFile, 10)
	if err != nil {
		t.Fatal(err)
	}
	h := make([]byte, 64)
	for i := range 50 {
		s.add("f"+string(rune('A'+i)), version{hash: h, produced: int64(i)})
		if err := s.write(s.takePending()); err != nil {
			t.Fatal(err)
		}
		if s.needsCompaction() {
			if err := s.compact(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(s.latest) != 10 {
		t.Fatalf("%d remembered, want 10", len(s.latest))
	}
	s2, err := loadPublished(fsys, publishedFile, 10)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s2.get("f" + string(rune('A'+49))); !ok || len(s2.latest) != 10 {
		t.Fatalf("reloaded %d entries, want the last 10", len(s2.latest))
	}
	if s2.lines > 20 {
		t.Fatalf("file has %d lines, want it compacted to at most 20", s2.lines)
	}
}

// A forged last chunk that arrives first (from another partition) does not
// make the file's real chunks bad input: they agree with each other, and
// the lone last chunk that implied another chunk size is dropped.
func TestForgedLastChunkFirstDoesNotBlockTheFile(t *testing.T) {
	te := openEngine(t, t.TempDir(), nil, Options{})
	data := randomBytes(60, 300)
	chunks := upload("h/first.bin", data, 100, t0, 0)
	forged := *chunks[2]
	forged.Offset = 1 << 30 // implies chunks of 2^29 bytes
	if _, err := te.Put(&forged); err != nil {
		t.Fatalf("a lone last chunk is consistent on its own: %v", err)
	}
	te.putAll(chunks)
	te.barrier()
	assertFile(t, te.path("h/first.bin"), data)
	assertNoPartialData(t, te.dir)
	if te.logged("does not fit its other chunks") != 1 {
		t.Fatal("want one line about the dropped last chunk")
	}
}
