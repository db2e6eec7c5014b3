package storage

import (
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
)

// Chunks that arrive before the hashed prefix reaches them are kept in
// memory only up to the bound; the rest is hashed from the disk.
func TestRetainedDataIsBounded(t *testing.T) {
	te := openEngine(t, t.TempDir(), nil, Options{})
	const chunkSize = 64 << 10
	data := randomBytes(30, maxRetainedBytes+4*chunkSize)
	chunks := upload("big/late-start.bin", data, chunkSize, t0, 0)
	slices.Reverse(chunks) // the first chunk last: nothing can be hashed early
	for _, c := range chunks[:len(chunks)-1] {
		if out := te.put(c); out != Written {
			t.Fatalf("chunk %d: outcome %v", c.Index, out)
		}
	}
	if got := te.retainedBytes.Load(); got != maxRetainedBytes {
		t.Fatalf("%d bytes retained with the first chunk missing, want the bound %d", got, maxRetainedBytes)
	}
	if out := te.put(chunks[len(chunks)-1]); out != Completed {
		t.Fatalf("last chunk: outcome %v", out)
	}
	te.barrier()
	assertFile(t, te.path("big/late-start.bin"), data)
	if got := te.retainedBytes.Load(); got != 0 {
		t.Fatalf("%d bytes still retained after the file was published", got)
	}
}

// A journal write that fails part-way (disk full) is written again from
// the end of the last good record, so recovery reads every chunk a barrier
// made durable.
func TestTornJournalWriteIsRewritten(t *testing.T) {
	dir := t.TempDir()
	var full atomic.Bool
	te := openEngine(t, dir, func(f FS) FS {
		return &Faults{FS: f, FailWrite: func(name string, b []byte, off int64) (int, error, bool) {
			if full.Load() && strings.HasSuffix(name, ".journal") {
				return len(b)/2 + 7, &fs.PathError{Op: "write", Path: name, Err: errDiskFull}, true
			}
			return 0, nil, false
		}}
	}, Options{})
	data := randomBytes(32, 64*1024)
	chunks := upload("torn/j.bin", data, 1024, t0, 0)
	te.putAll(chunks[:10])
	te.barrier()
	te.putAll(chunks[10:40])
	full.Store(true)
	if err := te.Barrier(); !IsTrouble(err) {
		t.Fatalf("barrier with the disk full: %v, want trouble", err)
	}
	full.Store(false)
	te.barrier() // offsets of chunks 1-40 may now be committed
	te.crash()

	te2 := openEngine(t, dir, nil, Options{})
	files, _, _ := te2.Status()
	if len(files) != 1 || files[0].ChunksReceived != 40 {
		t.Fatalf("after restart %+v, want the 40 chunks a barrier made durable", files)
	}
	te2.putAll(chunks[40:]) // only what was never committed comes again
	te2.barrier()
	assertFile(t, te2.path("torn/j.bin"), data)
	assertNoPartialData(t, dir)
}

// Many small files completed at once are published in batches; all of
// them end up in place.
func TestSmallFilesArePublishedInBatches(t *testing.T) {
	te := openEngine(t, t.TempDir(), nil, Options{})
	want := map[string][]byte{}
	for i := range 300 {
		rel := fmt.Sprintf("batch/%c/f%03d.bin", 'a'+i%5, i)
		want[rel] = randomBytes(uint64(100+i), 100+i)
		if out, err := te.Put(upload(rel, want[rel], 4096, t0, 0)[0]); err != nil || out != Completed {
			t.Fatalf("%s: outcome %v, error %v", rel, out, err)
		}
	}
	te.barrier()
	for rel, data := range want {
		assertFile(t, te.path(rel), data)
	}
	assertNoPartialData(t, te.dir)
}

// A read-back that fails in the middle of a batch of the hash goroutine
// stops it after the chunks before the failed one; once reads work again,
// the file is verified from there, and never counted a mismatch.
func TestHashGoroutineResumesAfterAFailedRead(t *testing.T) {
	var reads atomic.Int64
	var broken atomic.Bool
	te := openEngine(t, t.TempDir(), func(f FS) FS {
		return &Faults{FS: f, FailRead: func(string) error {
			// The goroutine reads chunk 1 and chunk 6 back (2 to 5 are
			// kept in memory), then fails on chunk 7, in its first batch.
			if reads.Add(1) > 2 && broken.Load() {
				return syscall.EIO
			}
			return nil
		}}
	}, Options{})
	readRetryDelay = 0
	const chunkSize = 1 << 20
	data := randomBytes(43, 12*chunkSize)
	chunks := upload("r/resumed", data, chunkSize, t0, 0)
	for _, c := range chunks[1:11] {
		if out := te.put(c); out != Written {
			t.Fatalf("chunk %d: outcome %v", c.Index, out)
		}
	}
	broken.Store(true)
	reads.Store(0)
	if out := te.put(chunks[0]); out != Written {
		t.Fatalf("first chunk: outcome %v", out)
	}
	if out, err := te.Put(chunks[11]); err != nil || out != Completed {
		t.Fatalf("last chunk: %v %v, want Completed", out, err)
	}
	te.WaitVerified()
	if err := te.Barrier(); !IsTrouble(err) {
		t.Fatalf("barrier while reads fail: %v, want trouble", err)
	}
	assertMissing(t, te.path("r/resumed"))
	broken.Store(false)
	te.barrier()
	assertFile(t, te.path("r/resumed"), data)
	if n := te.stats.FilesMismatched.Load(); n != 0 {
		t.Fatalf("%d mismatches from a failed read", n)
	}
}
