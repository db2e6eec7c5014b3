package download

import (
	"bytes"
	"crypto/sha512"
	"errors"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/sirupsen/logrus"
	"github.com/sirupsen/logrus/hooks/test"

	"github.com/openmsi/datafiledownloaddirectory/test/testkit"
)

// upload cuts data into chunks as OpenMSIStream does.
func upload(rel string, data []byte, chunkSize int, mtime float64) []*Chunk {
	fileHash := sha512.Sum512(data)
	dir, name := "", rel
	if i := strings.LastIndexByte(rel, '/'); i >= 0 {
		dir, name = rel[:i], rel[i+1:]
	}
	total := (len(data) + chunkSize - 1) / chunkSize
	var chunks []*Chunk
	for i := 0; i < total; i++ {
		part := data[i*chunkSize : min(len(data), (i+1)*chunkSize)]
		sum := sha512.Sum512(part)
		chunks = append(chunks, &Chunk{
			Filename: name, Subdir: dir, FileHash: fileHash[:], ChunkHash: sum[:],
			Offset: int64(i * chunkSize), Index: int64(i + 1), Total: int64(total),
			Data: part, Mtime: mtime,
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

type testAssembler struct {
	*assembler
	t    testing.TB
	dir  string
	logs *test.Hook
}

func openAssembler(t testing.TB, dir string) *testAssembler {
	t.Helper()
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { root.Close() })
	logger, hook := test.NewNullLogger()
	logger.SetLevel(logrus.DebugLevel)
	a, err := newAssembler(root, logrus.NewEntry(logger), &counters{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.waitPublished() }) // before the folder goes
	return &testAssembler{assembler: a, t: t, dir: dir, logs: hook}
}

func (ta *testAssembler) feed(c *Chunk) outcome {
	ta.t.Helper()
	p, err := chunkPaths(c.Subdir, c.Filename, c.Append, false)
	if err != nil {
		ta.t.Fatal(err)
	}
	out, err := ta.handle(c, p)
	if err != nil {
		ta.t.Fatalf("chunk %d of %s: %v", c.Index, p.rel, err)
	}
	// Complete files are published in the background; tests look at the
	// result as of the chunk.
	if err := ta.waitPublished(); err != nil {
		ta.t.Fatalf("publishing after chunk %d of %s: %v", c.Index, p.rel, err)
	}
	return out
}

func (ta *testAssembler) mustSync() {
	ta.t.Helper()
	if err := ta.sync(); err != nil {
		ta.t.Fatal(err)
	}
}

func assertFile(t testing.TB, path string, want []byte) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s: %d bytes differ from the %d uploaded", path, len(got), len(want))
	}
}

func assertMissing(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("%s exists (err %v), want it missing", path, err)
	}
}

// assertNoPartialData checks that nothing of finished files is left behind.
func assertNoPartialData(t testing.TB, dir string) {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dir, partialDir))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("left behind in the state folder: %s", e.Name())
	}
}

// assertAllPublished makes the assembler's state durable and checks that
// every file of want was published whole, counted, and nothing is left in
// the state folder.
func (ta *testAssembler) assertAllPublished(want map[string][]byte) {
	ta.t.Helper()
	ta.mustSync()
	for rel, data := range want {
		assertFile(ta.t, filepath.Join(ta.dir, filepath.FromSlash(rel)), data)
	}
	assertNoPartialData(ta.t, ta.dir)
	if n := ta.stats.filesCompleted.Load(); n != int64(len(want)) {
		ta.t.Fatalf("filesCompleted = %d, want %d", n, len(want))
	}
}

func TestAssemblerShuffledDuplicatedChunks(t *testing.T) {
	dir := t.TempDir()
	a := openAssembler(t, dir)
	data := randomBytes(1, 100_000)
	chunks := upload("raw/2024/scan.tif", data, 4096, 0)
	order := append(append([]*Chunk{}, chunks...), chunks[3], chunks[7], chunks[0])
	rand.New(rand.NewPCG(2, 2)).Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })

	final := filepath.Join(dir, "raw", "2024", "scan.tif")
	completed := 0
	for _, c := range order {
		if completed == 0 {
			assertMissing(t, final) // never visible before it is whole
		}
		switch a.feed(c) {
		case outCompleted:
			completed++
		case outMismatch, outStale:
			t.Fatal("unexpected outcome")
		}
	}
	a.mustSync()
	if completed != 1 {
		t.Fatalf("file completed %d times, want once", completed)
	}
	assertFile(t, final, data)
	assertNoPartialData(t, dir)
	if n := a.stats.filesCompleted.Load(); n != 1 {
		t.Fatalf("filesCompleted = %d", n)
	}
}

func TestAssemblerFilenameAppend(t *testing.T) {
	dir := t.TempDir()
	a := openAssembler(t, dir)
	data := randomBytes(3, 10_000)
	for _, c := range upload("d/archive.tar.gz", data, 4096, 0) {
		c.Append = "_v2"
		a.feed(c)
	}
	assertFile(t, filepath.Join(dir, "d", "archive.tar_v2.gz"), data)
}

func TestAssemblerHashMismatchGoesAside(t *testing.T) {
	dir := t.TempDir()
	a := openAssembler(t, dir)
	data := randomBytes(4, 10_000)
	chunks := upload("x/bad.bin", data, 4096, 0)
	wrong := sha512.Sum512([]byte("something else"))
	var last outcome
	for _, c := range chunks {
		c.FileHash = wrong[:]
		last = a.feed(c)
	}
	if last != outMismatch {
		t.Fatalf("outcome %v, want mismatch", last)
	}
	// Late duplicates of it must not start a partial file.
	if out := a.feed(chunks[0]); out != outDuplicate {
		t.Fatalf("late duplicate of a mismatched file: outcome %v", out)
	}
	a.mustSync()
	assertNoPartialData(t, dir)
	assertMissing(t, filepath.Join(dir, "x", "bad.bin"))
	assertFile(t, filepath.Join(dir, MismatchDirName, "x", "bad.bin"), data)
	if len(a.logs.AllEntries()) == 0 || a.logs.LastEntry().Level != logrus.WarnLevel {
		t.Fatal("no warning logged for the mismatch")
	}
}

func TestAssemblerReuploadShorterReplaces(t *testing.T) {
	dir := t.TempDir()
	a := openAssembler(t, dir)
	v1 := randomBytes(5, 50_000)
	v2 := randomBytes(6, 5_000)
	for _, c := range upload("f.dat", v1, 4096, 100) {
		a.feed(c)
	}
	for _, c := range upload("f.dat", v2, 4096, 200) {
		a.feed(c)
	}
	a.mustSync()
	assertFile(t, filepath.Join(dir, "f.dat"), v2)
	assertNoPartialData(t, dir)
}

func TestAssemblerGenerations(t *testing.T) {
	small := randomBytes(7, 3*1024)
	bigger := randomBytes(8, 5*1024)
	same1 := randomBytes(9, 3*1024)
	same2 := randomBytes(10, 3*1024)
	tests := []struct {
		name     string
		old, new []*Chunk
		want     []byte
	}{
		{"more chunks wins", upload("g", small, 1024, 0), upload("g", bigger, 1024, 0), bigger},
		{"same count newer mtime wins", upload("g", same1, 1024, 1000), upload("g", same2, 1024, 2000), same2},
		{"same count no mtime keeps first", upload("g", same1, 1024, 0), upload("g", same2, 1024, 0), same1},
		{"fewer chunks is stale", upload("g", bigger, 1024, 0), upload("g", small, 1024, 0), bigger},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			a := openAssembler(t, dir)
			// The first upload is in progress when the second one's chunks
			// start to interleave with it.
			a.feed(tt.old[0])
			for i := range max(len(tt.old), len(tt.new)) {
				if i < len(tt.new) {
					a.feed(tt.new[i])
				}
				if i+1 < len(tt.old) {
					a.feed(tt.old[i+1])
				}
			}
			a.mustSync()
			assertFile(t, filepath.Join(dir, "g"), tt.want)
		})
	}
}

func TestAssemblerTriggeringChunkIsKept(t *testing.T) {
	// The original dropped the chunk that started a newer upload, so that
	// upload could never complete; here it must.
	dir := t.TempDir()
	a := openAssembler(t, dir)
	old := upload("k", randomBytes(11, 2048), 1024, 0)
	newer := upload("k", randomBytes(12, 3072), 1024, 0)
	a.feed(old[0])
	for _, c := range newer {
		a.feed(c)
	}
	assertFile(t, filepath.Join(dir, "k"), joinData(newer))
}

func joinData(chunks []*Chunk) []byte {
	var b []byte
	for _, c := range chunks {
		b = append(b, c.Data...)
	}
	return b
}

func TestAssemblerInconsistentChunkCountIsRejected(t *testing.T) {
	dir := t.TempDir()
	a := openAssembler(t, dir)
	chunks := upload("n", randomBytes(13, 4096), 1024, 0)
	a.feed(chunks[0])
	bad := *chunks[1]
	bad.Total = 7
	p, _ := chunkPaths("", "n", "", false)
	if _, err := a.handle(&bad, p); err == nil {
		t.Fatal("a chunk count that contradicts the file's was accepted")
	}
	for _, c := range chunks[1:] {
		a.feed(c)
	}
	assertFile(t, filepath.Join(dir, "n"), joinData(chunks))
}

func TestAssemblerLateDuplicatesLeaveNothing(t *testing.T) {
	dir := t.TempDir()
	a := openAssembler(t, dir)
	chunks := upload("late/one.bin", randomBytes(14, 8192), 1024, 0)
	for _, c := range chunks {
		a.feed(c)
	}
	a.mustSync()
	for _, c := range chunks[:3] {
		if out := a.feed(c); out != outDuplicate {
			t.Fatalf("late duplicate: outcome %v", out)
		}
	}
	a.mustSync()
	assertNoPartialData(t, dir)

	// Also after a restart, since the finished record is on disk.
	b := openAssembler(t, dir)
	for _, c := range chunks[3:5] {
		if out := b.feed(c); out != outDuplicate {
			t.Fatalf("late duplicate after restart: outcome %v", out)
		}
	}
	b.mustSync()
	assertNoPartialData(t, dir)

	// A file the user deleted is rebuilt when it is uploaded again.
	os.Remove(filepath.Join(dir, "late", "one.bin"))
	for _, c := range chunks {
		b.feed(c)
	}
	assertFile(t, filepath.Join(dir, "late", "one.bin"), joinData(chunks))
}

func TestAssemblerResumesAfterRestart(t *testing.T) {
	dir := t.TempDir()
	a := openAssembler(t, dir)
	data := randomBytes(15, 40_000)
	chunks := upload("resume/big.bin", data, 4096, 0)
	for _, c := range chunks[:6] {
		a.feed(c)
	}
	a.mustSync()
	// Chunks handled after the last barrier are lost with the process; their
	// offsets were not committed, so Kafka delivers them again.
	a.feed(chunks[6])

	b := openAssembler(t, dir)
	st, _ := b.progress()
	if len(st) != 1 || st[0].ChunksReceived != 6 {
		t.Fatalf("after restart: %+v, want 6 chunks of one file", st)
	}
	for _, c := range chunks[6:] {
		b.feed(c)
	}
	b.mustSync()
	assertFile(t, filepath.Join(dir, "resume", "big.bin"), data)
	assertNoPartialData(t, dir)
}

func TestAssemblerRecoveryDropsCorruptedChunks(t *testing.T) {
	dir := t.TempDir()
	a := openAssembler(t, dir)
	data := randomBytes(16, 8192)
	chunks := upload("c.bin", data, 1024, 0)
	for _, c := range chunks[:4] {
		a.feed(c)
	}
	a.mustSync()
	// Damage chunk 2 on disk behind the journal's back.
	var part string
	entries, _ := os.ReadDir(filepath.Join(dir, partialDir))
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".part") {
			part = filepath.Join(dir, partialDir, e.Name())
		}
	}
	f, err := os.OpenFile(part, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte("garbage"), 1024+10)
	f.Close()

	b := openAssembler(t, dir)
	st, _ := b.progress()
	if len(st) != 1 || st[0].ChunksReceived != 3 {
		t.Fatalf("after restart: %+v, want 3 verified chunks", st)
	}
	for _, c := range chunks[1:] { // chunk 2 comes again, as its offset was never committed
		b.feed(c)
	}
	assertFile(t, filepath.Join(dir, "c.bin"), data)
}

// TestAssemblerCrashPoints kills the assembler between every two steps of
// finishing a file and checks what a restart makes of the disk.
func TestAssemblerCrashPoints(t *testing.T) {
	for _, step := range []string{"publish:synced", "publish:journaled", "publish:renamed", "sync:finished-recorded"} {
		t.Run(step, func(t *testing.T) {
			dir := t.TempDir()
			a := openAssembler(t, dir)
			data := randomBytes(17, 10_000)
			chunks := upload("crash/f.bin", data, 1024, 0)
			for _, c := range chunks[:len(chunks)-1] {
				a.feed(c)
			}
			a.mustSync()
			final := filepath.Join(dir, "crash", "f.bin")

			crashAt = func(s string) bool { return s == step }
			defer func() { crashAt = func(string) bool { return false } }()
			p, _ := chunkPaths("crash", "f.bin", "", false)
			_, err := a.handle(chunks[len(chunks)-1], p)
			if err == nil {
				err = a.sync()
			}
			if !errors.Is(err, errCrashed) {
				t.Fatalf("crash point not reached: %v", err)
			}
			crashAt = func(string) bool { return false }
			if step == "publish:synced" || step == "publish:journaled" {
				assertMissing(t, final)
			}

			// The last chunk's offset was not committed, so after the restart
			// it arrives again, together with a late duplicate.
			b := openAssembler(t, dir)
			b.feed(chunks[len(chunks)-1])
			b.feed(chunks[0])
			b.mustSync()
			assertFile(t, final, data)
			assertNoPartialData(t, dir)
			if n := b.stats.filesCompleted.Load() + a.stats.filesCompleted.Load(); n < 1 {
				t.Fatal("file never reported complete")
			}
		})
	}
}

func TestAssemblerSingleChunkFileNeedsNoJournal(t *testing.T) {
	dir := t.TempDir()
	a := openAssembler(t, dir)
	data := []byte("hello")
	if out := a.feed(upload("hello.txt", data, 1024, 0)[0]); out != outCompleted {
		t.Fatalf("outcome %v", out)
	}
	a.mustSync()
	assertFile(t, filepath.Join(dir, "hello.txt"), data)
	assertNoPartialData(t, dir)
}

func TestAssemblerRefusesSymlinkEscape(t *testing.T) {
	dir := t.TempDir()
	outside := t.TempDir()
	testkit.Symlink(t, outside, filepath.Join(dir, "link"))
	a := openAssembler(t, dir)
	c := upload("link/evil.txt", []byte("x"), 1024, 0)[0]
	p, _ := chunkPaths(c.Subdir, c.Filename, "", false)
	if _, err := a.handle(c, p); err == nil {
		t.Fatal("wrote through a symlink leading out of the output folder")
	}
	assertMissing(t, filepath.Join(outside, "evil.txt"))
	a.mustSync()
	assertNoPartialData(t, dir)
}

func TestFinishedSetIsBoundedAndCompacted(t *testing.T) {
	dir := t.TempDir()
	root, _ := os.OpenRoot(dir)
	defer root.Close()
	root.Mkdir(StateDirName, 0o755)
	s, err := loadFinishedSet(root, finishedFile, 10)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	for i := range 35 {
		s.add("f"+strings.Repeat("x", i), make([]byte, hashSize))
		if err := s.write(s.takePending(), &mu); err != nil {
			t.Fatal(err)
		}
	}
	if len(s.keys) != 10 {
		t.Fatalf("remembers %d entries, want 10", len(s.keys))
	}
	raw, _ := os.ReadFile(filepath.Join(dir, finishedFile))
	if n := bytes.Count(raw, []byte("\n")); n > 20 {
		t.Fatalf("file has %d lines, want compaction to keep it at most 20", n)
	}
	s2, err := loadFinishedSet(root, finishedFile, 10)
	if err != nil {
		t.Fatal(err)
	}
	if !s2.contains("f"+strings.Repeat("x", 34), make([]byte, hashSize)) || s2.contains("f", make([]byte, hashSize)) {
		t.Fatal("reloaded set does not hold the newest entries only")
	}
}
