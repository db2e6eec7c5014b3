package storage

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// The chunk-hash rules of proof.go keep every outcome of checking each
// chunk before storing it: whatever order good and bad copies come in, the
// published file is the one eager checking gives, a bad chunk never
// reaches a published file, and HASH_MISMATCHES gets the same files.

// corrupted is a copy of c whose data no longer matches its chunk hash.
func corrupted(c *Chunk, at int) *Chunk {
	b := *c
	b.Data = bytes.Clone(c.Data)
	b.Data[at%len(b.Data)] ^= 0x40
	return &b
}

func isChunkHashError(err error) bool {
	var che *ChunkHashError
	return errors.As(err, &che)
}

func TestCorruptChunkThenGoodDuplicate(t *testing.T) {
	te := openEngine(t, t.TempDir(), nil, Options{})
	data := randomBytes(61, 10_000)
	chunks := upload("p/f.bin", data, 1000, t0, 0)
	te.put(chunks[0])
	// A middle chunk with bad data is stored unchecked, then its good copy
	// comes: it is checked, differs from the stored one and replaces it.
	te.put(corrupted(chunks[4], 7))
	if out := te.put(chunks[4]); out != Written {
		t.Fatalf("good copy after a bad one: %v, want Written", out)
	}
	te.putAll(chunks[1:4])
	te.putAll(chunks[5:])
	te.barrier()
	assertFile(t, te.path("p/f.bin"), data)
	if n := te.stats.ChunksCorrupt.Load(); n != 1 {
		t.Fatalf("ChunksCorrupt = %d, want 1", n)
	}
	assertNoPartialData(t, te.dir)
}

func TestCorruptChunkFoundByFileHashWaitsForGoodCopy(t *testing.T) {
	te := openEngine(t, t.TempDir(), nil, Options{})
	data := randomBytes(62, 10_000)
	chunks := upload("p/f.bin", data, 1000, t0, 0)
	te.put(chunks[0])
	te.put(corrupted(chunks[3], 1))
	te.put(corrupted(chunks[6], 2))
	te.putAll(chunks[1:3])
	te.putAll(chunks[4:6])
	te.putAll(chunks[7:9])
	// The last chunk completes the file, whose hash fails: the two bad
	// chunks are found and dropped; nothing is published anywhere.
	te.put(chunks[9])
	te.barrier()
	assertMissing(t, te.path("p/f.bin"))
	assertMissing(t, te.path(MismatchDirName+"/p/f.bin"))
	if n := te.stats.ChunksCorrupt.Load(); n != 2 {
		t.Fatalf("ChunksCorrupt = %d, want 2", n)
	}
	if n := te.logged("does not match its SHA-512 chunk_hash"); n != 2 {
		t.Fatalf("%d log lines about bad chunks, want 2", n)
	}
	in, _, _ := te.Status()
	if len(in) != 1 || in[0].ChunksReceived != 8 {
		t.Fatalf("in progress: %+v, want the file with 8 of 10 chunks", in)
	}
	te.put(chunks[6])
	te.put(chunks[3])
	te.barrier()
	assertFile(t, te.path("p/f.bin"), data)
	if te.stats.FilesMismatched.Load() != 0 {
		t.Fatal("counted as a hash mismatch")
	}
	assertNoPartialData(t, te.dir)
}

func TestGoodChunkThenCorruptDuplicate(t *testing.T) {
	te := openEngine(t, t.TempDir(), nil, Options{})
	data := randomBytes(63, 10_000)
	chunks := upload("p/f.bin", data, 1000, t0, 0)
	te.putAll(chunks[:5])
	if _, err := te.Put(corrupted(chunks[2], 0)); !isChunkHashError(err) {
		t.Fatalf("bad copy of an unproven chunk: %v, want a ChunkHashError", err)
	}
	te.putAll(chunks[5:])
	te.barrier()
	assertFile(t, te.path("p/f.bin"), data)
	if n := te.stats.ChunksCorrupt.Load(); n != 0 {
		t.Fatalf("ChunksCorrupt = %d, want 0 (the bad copy was refused when it came)", n)
	}
}

// The chunks that fix the layout and the size are checked at once, as is a
// single-chunk file's only chunk when its hashes differ.
func TestLayoutChunksAreCheckedAtOnce(t *testing.T) {
	te := openEngine(t, t.TempDir(), nil, Options{})
	data := randomBytes(64, 10_500)
	chunks := upload("p/f.bin", data, 1000, t0, 0)
	// A shortened first chunk would fix a wrong chunk size for the file.
	short := *chunks[0]
	short.Data = chunks[0].Data[:900]
	for _, bad := range []*Chunk{corrupted(chunks[5], 3), &short, corrupted(chunks[10], 0)} {
		if _, err := te.Put(bad); !isChunkHashError(err) {
			t.Fatalf("bad chunk %d first: %v, want a ChunkHashError", bad.Index, err)
		}
	}
	if in, _, _ := te.Status(); len(in) != 0 {
		t.Fatalf("a refused chunk left a file in progress: %+v", in)
	}
	te.putAll(chunks[:10])
	if _, err := te.Put(corrupted(chunks[10], 0)); !isChunkHashError(err) {
		t.Fatalf("bad last chunk: %v, want a ChunkHashError", err)
	}
	te.put(chunks[10])
	te.barrier()
	assertFile(t, te.path("p/f.bin"), data)

	// A single-chunk file whose chunk hash is its file hash: the file hash
	// is the check, and a bad chunk is refused as before.
	one := upload("p/one.bin", randomBytes(65, 700), 1000, t0, 0)[0]
	if _, err := te.Put(corrupted(one, 9)); !isChunkHashError(err) {
		t.Fatalf("bad single chunk: %v, want a ChunkHashError", err)
	}
	te.barrier()
	assertMissing(t, te.path("p/one.bin"))
	assertMissing(t, te.path(MismatchDirName+"/p/one.bin"))
	te.put(one)
	te.barrier()
	assertFile(t, te.path("p/one.bin"), one.Data)
	assertNoPartialData(t, te.dir)
}

// HASH_MISMATCHES gets a file whose chunks all match their own hashes but
// not the file hash, also when bad chunks came first.
func TestMismatchOnlyWhenEveryChunkIsGood(t *testing.T) {
	te := openEngine(t, t.TempDir(), nil, Options{})
	data := randomBytes(66, 5_000)
	chunks := upload("m/x.dat", data, 1000, t0, 0)
	wrong := bytes.Clone(chunks[0].FileHash)
	wrong[0] ^= 1
	for _, c := range chunks {
		c.FileHash = wrong
	}
	te.put(chunks[0])
	te.put(corrupted(chunks[2], 5))
	te.put(chunks[1])
	te.put(chunks[3])
	if out := te.put(chunks[4]); out == Mismatch {
		t.Fatal("a bad chunk made it a mismatch, instead of waiting for a good copy")
	}
	assertMissing(t, te.path(MismatchDirName+"/m/x.dat"))
	if in, _, _ := te.Status(); len(in) != 1 || in[0].ChunksReceived != 4 {
		t.Fatalf("in progress: %+v, want the file with 4 of 5 chunks", in)
	}
	if out := te.put(chunks[2]); out != Mismatch {
		t.Fatalf("with every chunk good: %v, want Mismatch", out)
	}
	te.barrier()
	assertFile(t, te.path(MismatchDirName+"/m/x.dat"), data)
	assertMissing(t, te.path("m/x.dat"))

	// One chunk with a different chunk hash: checked at once, and its
	// file is a mismatch, as before.
	one := upload("m/one.dat", randomBytes(67, 300), 1000, t0, 0)[0]
	one.FileHash = wrong
	if out := te.put(one); out != Mismatch {
		t.Fatalf("single chunk, good data, wrong file hash: %v, want Mismatch", out)
	}
	te.barrier()
	assertFile(t, te.path(MismatchDirName+"/m/one.dat"), one.Data)
	if n := te.stats.FilesMismatched.Load(); n != 2 {
		t.Fatalf("FilesMismatched = %d, want 2", n)
	}
}

// A bad chunk committed before a restart is found from the chunk hash its
// journal records.
func TestCorruptChunkFoundAfterRestart(t *testing.T) {
	dir := t.TempDir()
	te := openEngine(t, dir, nil, Options{})
	data := randomBytes(68, 10_000)
	chunks := upload("r/f.bin", data, 1000, t0, 0)
	te.putAll(chunks[:3])
	te.put(corrupted(chunks[3], 4))
	te.putAll(chunks[4:7])
	te.barrier() // all seven committed, the bad one too
	te.crash()

	te2 := openEngine(t, dir, nil, Options{})
	te2.putAll(chunks[7:])
	te2.barrier()
	assertMissing(t, te2.path("r/f.bin"))
	if n := te2.stats.ChunksCorrupt.Load(); n != 1 {
		t.Fatalf("ChunksCorrupt = %d, want 1", n)
	}
	te2.barrier()
	te2.crash()

	// And again across a restart after the drop: the bad chunk's record is
	// still in the journal, the file completes, fails, and waits again.
	te3 := openEngine(t, dir, nil, Options{})
	te3.put(chunks[3])
	te3.barrier()
	assertFile(t, te3.path("r/f.bin"), data)
	assertNoPartialData(t, dir)
}

// A chunk whose data is good but whose chunk_hash field is garbled was
// skipped by eager checking; here the file hash proves it. The one
// outcome that differs, and for the better.
func TestGarbledChunkHashWithGoodData(t *testing.T) {
	te := openEngine(t, t.TempDir(), nil, Options{})
	data := randomBytes(69, 5_000)
	chunks := upload("g/f.bin", data, 1000, t0, 0)
	chunks[2].ChunkHash = make([]byte, 64)
	te.putAll(chunks)
	te.barrier()
	assertFile(t, te.path("g/f.bin"), data)
}

// Every order of good and bad copies, with restarts: the files are those
// that checking every chunk before storing it gives (derived from the rule,
// not from an engine): a path is published, under its name or in
// HASH_MISMATCHES, once every chunk has come with good data at least once.
func TestLazyCheckingMatchesEagerChecking(t *testing.T) {
	rounds := 300
	if testing.Short() {
		rounds = 60
	}
	for round := range rounds {
		r := rand.New(rand.NewPCG(uint64(round), 99))
		dir := t.TempDir()
		te := openEngine(t, dir, nil, Options{})
		type plan struct {
			rel      string
			data     []byte
			mismatch bool
			complete bool // every chunk has a good copy in the stream
		}
		var plans []plan
		var msgs []*Chunk
		eagerInvalid := 0
		for i := range 3 {
			p := plan{rel: fmt.Sprintf("d/f%d.bin", i), mismatch: r.IntN(4) == 0}
			nChunks := 1 + r.IntN(6)
			p.data = randomBytes(uint64(round*10+i), (nChunks-1)*100+1+r.IntN(100))
			chunks := upload(p.rel, p.data, 100, t0, 0)
			if p.mismatch {
				wrong := bytes.Clone(chunks[0].FileHash)
				wrong[1] ^= 1
				for _, c := range chunks {
					c.FileHash = wrong
				}
			}
			p.complete = true
			for _, c := range chunks {
				good := false
				for range 1 + r.IntN(3) {
					if r.IntN(3) == 0 {
						bad := corrupted(c, r.IntN(len(c.Data)))
						if r.IntN(4) == 0 && len(c.Data) > 1 {
							bad.Data = bad.Data[:len(bad.Data)-1] // a length that breaks the layout
						}
						msgs = append(msgs, bad)
						eagerInvalid++
					} else {
						msgs = append(msgs, c)
						good = true
					}
				}
				p.complete = p.complete && good
			}
			plans = append(plans, p)
		}
		r.Shuffle(len(msgs), func(i, j int) { msgs[i], msgs[j] = msgs[j], msgs[i] })
		restartAt := r.IntN(len(msgs) + 1)
		lazyInvalid := 0
		for i, c := range msgs {
			if i == restartAt {
				te.barrier() // a clean stop: complete files verified first
				lazyInvalid += int(te.stats.ChunksCorrupt.Load())
				te.crash()
				te = openEngine(t, dir, nil, Options{})
			}
			if _, err := te.Put(c); err != nil {
				if IsTrouble(err) || IsDurability(err) {
					t.Fatalf("round %d: %v", round, err)
				}
				lazyInvalid++
			}
			if err := te.waitPublished(); err != nil {
				t.Fatal(err)
			}
		}
		te.barrier()
		lazyInvalid += int(te.stats.ChunksCorrupt.Load())
		for _, p := range plans {
			name, other := p.rel, MismatchDirName+"/"+p.rel
			if p.mismatch {
				name, other = other, name
			}
			if p.complete {
				assertFile(t, te.path(name), p.data)
			} else {
				assertMissing(t, te.path(name))
			}
			assertMissing(t, te.path(other))
		}
		// Bad copies of a chunk already proven are duplicates here, and
		// found bad there: never more invalid messages than eager checking.
		if lazyInvalid > eagerInvalid {
			t.Fatalf("round %d: %d messages found invalid, eager checking finds %d (restart at %d of %d)", round, lazyInvalid, eagerInvalid, restartAt, len(msgs))
		}
		te.crash()
	}
}

// A chunk found bad gets a drop record; its good copy a chunk record of
// its own, which is the one that counts.
func TestJournalDropRecords(t *testing.T) {
	h := journalHeader{Rel: "a/b.dat", Dest: "a/b.dat", FileHash: strings.Repeat("ab", 64), Total: 3, ChunkSize: 100}
	b := appendHeaderRecord(nil, h)
	b = appendChunkRecord(b, 1, 0, 100, bytes.Repeat([]byte{1}, 64))
	b = appendChunkRecord(b, 2, 100, 100, bytes.Repeat([]byte{2}, 64))
	b = appendDropRecord(b, 2)
	b = appendChunkRecord(b, 3, 200, 50, bytes.Repeat([]byte{3}, 64))
	j, err := parseJournal(b)
	if err != nil {
		t.Fatal(err)
	}
	if got := j.stored(); len(got) != 2 || got[2].hash != nil {
		t.Fatalf("after the drop: %+v, want chunks 1 and 3", got)
	}
	b = appendChunkRecord(b, 2, 100, 100, bytes.Repeat([]byte{9}, 64))
	if j, err = parseJournal(b); err != nil {
		t.Fatal(err)
	}
	if got := j.stored(); len(got) != 3 || !bytes.Equal(got[2].hash, bytes.Repeat([]byte{9}, 64)) {
		t.Fatalf("after the good copy: %+v", got)
	}
	if n, _, _ := DescribeJournal(b); n != 3 {
		t.Fatalf("DescribeJournal says %d chunks, want 3", n)
	}
	// A drop record of a chunk the file cannot have ends the journal there.
	bad := appendDropRecord(appendHeaderRecord(nil, h), 4)
	if j, err := parseJournal(bad); err != nil || len(j.chunks) != 0 {
		t.Fatalf("drop of chunk 4 of 3: %+v, %v", j, err)
	}
}
