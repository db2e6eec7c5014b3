package storage

import (
	"crypto/sha512"
	"path/filepath"
	"syscall"
	"testing"
)

// allocated returns the size and the bytes of disk blocks of the one
// unfinished data file in dir.
func allocated(t *testing.T, dir string) (size, blocks int64) {
	t.Helper()
	parts, err := filepath.Glob(filepath.Join(dir, filepath.FromSlash(PartialDir), "*.part"))
	if err != nil || len(parts) != 1 {
		t.Fatalf("want one partial file, found %v (%v)", parts, err)
	}
	var st syscall.Stat_t
	if err := syscall.Stat(parts[0], &st); err != nil {
		t.Fatal(err)
	}
	return st.Size, st.Blocks * 512
}

// Disk space is reserved a segment of chunks at a time around the chunks
// that arrived, without changing the file's size, and a published file
// keeps no block past its end.
func TestSpaceIsReservedAroundArrivedChunks(t *testing.T) {
	const chunk = 64 << 10
	dir := t.TempDir()
	te := openEngine(t, dir, nil, Options{})
	data := randomBytes(7, 40*chunk-1000)
	chunks := upload("r/big", data, chunk, t0, 0)

	te.put(chunks[0])
	size, blocks := allocated(t, dir)
	if size != chunk {
		t.Fatalf("size %d after the first chunk, want %d: reserving space must not change it", size, chunk)
	}
	if blocks < preallocChunks*chunk {
		t.Fatalf("%d bytes of blocks after the first chunk, want its segment of %d reserved", blocks, preallocChunks*chunk)
	}
	te.put(chunks[19]) // in the third segment
	size, blocks = allocated(t, dir)
	if size != 20*chunk {
		t.Fatalf("size %d after chunk 20, want %d", size, 20*chunk)
	}
	// Two segments, and room for the filesystem's own extent blocks.
	if want := int64(2 * preallocChunks * chunk); blocks < want || blocks > want+chunk {
		t.Fatalf("%d bytes of blocks with two segments reserved, want %d", blocks, want)
	}

	for i, c := range chunks {
		if i != 0 && i != 19 {
			te.put(c)
		}
	}
	te.barrier()
	assertFile(t, te.path("r/big"), data)
	var st syscall.Stat_t
	if err := syscall.Stat(te.path("r/big"), &st); err != nil {
		t.Fatal(err)
	}
	if limit := (int64(len(data)) + 4095) &^ 4095; st.Blocks*512 > limit+4096 {
		t.Fatalf("published file of %d bytes holds %d bytes of blocks", len(data), st.Blocks*512)
	}
}

// A chunk that claims a huge file reserves no more than its segment.
func TestClaimOfAHugeFileReservesOneSegment(t *testing.T) {
	const chunk = 64 << 10
	dir := t.TempDir()
	te := openEngine(t, dir, nil, Options{})
	data := randomBytes(8, chunk)
	paths, err := ChunkPaths("r", "claimed", "", false)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha512.Sum512(data)
	total := int64(MaxChunksPerFile)
	c := &Chunk{
		Paths: paths, FileHash: make([]byte, 64), ChunkHash: sum[:],
		Offset: (total/2 - 1) * chunk, Index: total / 2, Total: total,
		Data: data, Produced: t0,
	}
	te.put(c)
	size, blocks := allocated(t, dir)
	if size != c.Offset+chunk {
		t.Fatalf("size %d, want %d", size, c.Offset+chunk)
	}
	if limit := int64(preallocChunks*chunk + chunk); blocks > limit {
		t.Fatalf("one chunk of a claimed %d-chunk file holds %d bytes of blocks, want at most %d", total, blocks, limit)
	}
}

// A chunk larger than a segment's bound reserves only its own space.
func TestLargeChunkReservesOnlyItself(t *testing.T) {
	const chunk = preallocBytes
	dir := t.TempDir()
	te := openEngine(t, dir, nil, Options{})
	data := randomBytes(9, 2*chunk+1)
	chunks := upload("r/large-chunks", data, chunk, t0, 0)
	te.put(chunks[0])
	_, blocks := allocated(t, dir)
	if blocks < chunk || blocks > chunk+1<<20 {
		t.Fatalf("%d bytes of blocks after one chunk of %d, want about the chunk", blocks, chunk)
	}
}
