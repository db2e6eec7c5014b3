package download

// Disk trouble injected at the assembler's file layer (filelayer.go): every
// failure must come back as a storageError (so the consumer pauses and
// retries instead of skipping), leave nothing under the final name, and
// lose nothing once the disk works again, also across a restart.

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
)

// inject replaces one file operation for the rest of the test.
func inject[F any](t *testing.T, op *F, fn F) {
	t.Helper()
	orig := *op
	*op = fn
	t.Cleanup(func() { *op = orig })
}

// feedErr hands a chunk to the assembler and returns its error.
func (ta *testAssembler) feedErr(c *Chunk) (outcome, error) {
	p, err := chunkPaths(c.Subdir, c.Filename, c.Append, false)
	if err != nil {
		ta.t.Fatal(err)
	}
	return ta.handle(c, p)
}

func requireStorageError(t *testing.T, err error, want syscall.Errno) {
	t.Helper()
	var se *storageError
	if !errors.As(err, &se) {
		t.Fatalf("got %v, want a storage error (retried, never skipped)", err)
	}
	if !errors.Is(err, want) {
		t.Fatalf("got %v, want it to say %v", err, want)
	}
}

// A failed chunk write is not counted: the chunk must come again, and the
// file completes only then, byte for byte.
func TestFaultChunkWriteDiskFull(t *testing.T) {
	dir := t.TempDir()
	a := openAssembler(t, dir)
	data := randomBytes(31, 40_000)
	chunks := upload("full/a.bin", data, 4096, 0)
	var full atomic.Bool
	inject(t, &writeAt, func(f *os.File, b []byte, off int64) (int, error) {
		if full.Load() {
			// A partial write, as a filesystem filling up does.
			n, _ := f.WriteAt(b[:len(b)/3], off)
			return n, &os.PathError{Op: "write", Path: f.Name(), Err: syscall.ENOSPC}
		}
		return f.WriteAt(b, off)
	})
	for _, c := range chunks[:5] {
		a.feed(c)
	}
	full.Store(true)
	var failed []*Chunk
	for _, c := range chunks[5:] {
		_, err := a.feedErr(c)
		requireStorageError(t, err, syscall.ENOSPC)
		failed = append(failed, c)
	}
	a.mustSync()
	assertMissing(t, filepath.Join(dir, "full", "a.bin"))
	if files, _ := a.progress(); len(files) != 1 || files[0].ChunksReceived != 5 {
		t.Fatalf("progress %+v: chunks that could not be written were counted", files)
	}
	full.Store(false)
	for _, c := range failed {
		a.feed(c)
	}
	a.mustSync()
	assertFile(t, filepath.Join(dir, "full", "a.bin"), data)
	assertNoPartialData(t, dir)
}

// A journal write torn by a full disk must not garble the journal: after
// the disk works again and the program restarts, every chunk whose offset
// a successful barrier allowed to commit is still known to be on disk.
func TestFaultTornJournalWrite(t *testing.T) {
	dir := t.TempDir()
	a := openAssembler(t, dir)
	data := randomBytes(32, 64*1024)
	chunks := upload("torn/j.bin", data, 1024, 0)
	var full atomic.Bool
	inject(t, &write, func(f *os.File, b []byte) (int, error) {
		if full.Load() && strings.HasSuffix(f.Name(), ".journal") {
			n, _ := f.Write(b[:len(b)/2+7]) // ends mid-line
			return n, &os.PathError{Op: "write", Path: f.Name(), Err: syscall.ENOSPC}
		}
		return f.Write(b)
	})
	for _, c := range chunks[:10] {
		a.feed(c)
	}
	a.mustSync()
	for _, c := range chunks[10:40] {
		a.feed(c)
	}
	full.Store(true)
	requireStorageError(t, a.sync(), syscall.ENOSPC)
	full.Store(false)
	a.mustSync() // offsets of chunks 1-40 may now be committed
	a.close()

	b := openAssembler(t, dir)
	files, _ := b.progress()
	if len(files) != 1 || files[0].ChunksReceived != 40 {
		t.Fatalf("after restart %+v, want the 40 chunks a barrier made durable", files)
	}
	for _, c := range chunks[40:] { // only what was never committed comes again
		b.feed(c)
	}
	b.mustSync()
	assertFile(t, filepath.Join(dir, "torn", "j.bin"), data)
	assertNoPartialData(t, dir)
}

// After a failed fsync, the next barrier must fsync again before it lets
// offsets be committed, even when nothing new was written.
func TestFaultJournalSyncFails(t *testing.T) {
	dir := t.TempDir()
	a := openAssembler(t, dir)
	chunks := upload("sync/j.bin", randomBytes(33, 8192), 1024, 0)
	var broken atomic.Bool
	var journalSyncs atomic.Int32
	inject(t, &syncFile, func(f *os.File) error {
		if strings.HasSuffix(f.Name(), ".journal") {
			if broken.Load() {
				return &os.PathError{Op: "sync", Path: f.Name(), Err: syscall.EIO}
			}
			journalSyncs.Add(1)
		}
		return f.Sync()
	})
	for _, c := range chunks[:3] {
		a.feed(c)
	}
	broken.Store(true)
	requireStorageError(t, a.sync(), syscall.EIO)
	broken.Store(false)
	a.mustSync()
	if journalSyncs.Load() == 0 {
		t.Fatal("the barrier after a failed fsync succeeded without fsyncing the journal")
	}
}

// Publishing a complete file fails (folder not writable, disk full at the
// rename, fsync error): nothing appears under the final name, no barrier
// succeeds meanwhile, and the file is published once the trouble is gone.
func TestFaultPublishFails(t *testing.T) {
	for _, tc := range []struct {
		name  string
		errno syscall.Errno
		setup func(t *testing.T, on *atomic.Bool)
	}{
		{"rename permission denied", syscall.EACCES, func(t *testing.T, on *atomic.Bool) {
			inject(t, &rename, func(r *os.Root, from, to string) error {
				if on.Load() {
					return &os.LinkError{Op: "renameat", Old: from, New: to, Err: syscall.EACCES}
				}
				return r.Rename(from, to)
			})
		}},
		{"data fsync fails", syscall.EIO, func(t *testing.T, on *atomic.Bool) {
			inject(t, &syncFile, func(f *os.File) error {
				if on.Load() && strings.HasSuffix(f.Name(), ".part") {
					return &os.PathError{Op: "sync", Path: f.Name(), Err: syscall.EIO}
				}
				return f.Sync()
			})
		}},
		{"journal read-only", syscall.EROFS, func(t *testing.T, on *atomic.Bool) {
			inject(t, &write, func(f *os.File, b []byte) (int, error) {
				if on.Load() {
					return 0, &os.PathError{Op: "write", Path: f.Name(), Err: syscall.EROFS}
				}
				return f.Write(b)
			})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			a := openAssembler(t, dir)
			data := randomBytes(34, 10_000)
			chunks := upload("pub/f.bin", data, 1024, 0)
			var on atomic.Bool
			tc.setup(t, &on)
			for _, c := range chunks[:len(chunks)-1] {
				a.feed(c)
			}
			a.mustSync()
			on.Store(true)
			last := chunks[len(chunks)-1]
			for range 3 { // retried while the trouble lasts
				// Publishing may fail in handle, or, when it is left to
				// the commit barrier, there: either way before any offset
				// is committed.
				_, err := a.feedErr(last)
				if err == nil {
					err = a.sync()
				}
				requireStorageError(t, err, tc.errno)
				assertMissing(t, filepath.Join(dir, "pub", "f.bin"))
			}
			on.Store(false)
			if _, err := a.feedErr(last); err != nil {
				t.Fatalf("after the trouble: %v", err)
			}
			a.mustSync()
			assertFile(t, filepath.Join(dir, "pub", "f.bin"), data)
			assertNoPartialData(t, dir)
		})
	}
}

// A partial file that cannot be created (read-only folder) leaves nothing
// behind and starts properly when the chunk comes again.
func TestFaultCreateReadOnly(t *testing.T) {
	dir := t.TempDir()
	a := openAssembler(t, dir)
	data := randomBytes(35, 5000)
	chunks := upload("ro/f.bin", data, 1024, 0)
	var ro atomic.Bool
	inject(t, &openFile, func(r *os.Root, name string, flag int, perm os.FileMode) (*os.File, error) {
		if ro.Load() && strings.HasSuffix(name, ".journal") {
			return nil, &os.PathError{Op: "openat", Path: name, Err: syscall.EROFS}
		}
		return r.OpenFile(name, flag, perm)
	})
	ro.Store(true)
	_, err := a.feedErr(chunks[2])
	requireStorageError(t, err, syscall.EROFS)
	assertNoPartialData(t, dir)
	ro.Store(false)
	for _, c := range chunks {
		a.feed(c)
	}
	a.mustSync()
	assertFile(t, filepath.Join(dir, "ro", "f.bin"), data)
}

// A torn write of the finished-files record must not lose the record of
// the file it tore: a late duplicate after a restart must not start a
// partial file that could never complete.
func TestFaultTornFinishedRecord(t *testing.T) {
	dir := t.TempDir()
	a := openAssembler(t, dir)
	var full atomic.Bool
	inject(t, &write, func(f *os.File, b []byte) (int, error) {
		if full.Load() && strings.HasSuffix(f.Name(), "finished.log") {
			n, _ := f.Write(b[:len(b)/2])
			return n, &os.PathError{Op: "write", Path: f.Name(), Err: syscall.ENOSPC}
		}
		return f.Write(b)
	})
	chunks := upload("fin/f.bin", randomBytes(36, 4096), 1024, 0)
	for _, c := range chunks {
		a.feed(c)
	}
	full.Store(true)
	requireStorageError(t, a.sync(), syscall.ENOSPC)
	full.Store(false)
	a.mustSync()
	a.close()

	b := openAssembler(t, dir)
	if out := b.feed(chunks[1]); out != outDuplicate {
		t.Fatalf("late duplicate after restart: outcome %v, want a duplicate", out)
	}
	b.mustSync()
	assertNoPartialData(t, dir)
}

// A read-back error while hashing must not turn a good file into a hash
// mismatch, nor keep its chunk out of the next barrier.
func TestFaultReadBackWhileHashing(t *testing.T) {
	dir := t.TempDir()
	a := openAssembler(t, dir)
	data := randomBytes(37, 8192)
	chunks := upload("rd/f.bin", data, 1024, 0)
	// Out of order, so that chunk 1 makes the hasher read 2..4 back.
	for _, c := range chunks[1:4] {
		a.feed(c)
	}
	f := a.files["rd/f.bin"]
	f.mu.Lock()
	good := f.data
	bad, err := os.OpenFile(os.DevNull, os.O_RDWR, 0) // reads give EOF: a read error
	if err != nil {
		t.Fatal(err)
	}
	f.data = bad
	f.mu.Unlock()
	// WriteAt on /dev/null succeeds and stores nothing, so write chunk 1
	// through the real file first.
	if _, err := good.WriteAt(chunks[0].Data, 0); err != nil {
		t.Fatal(err)
	}
	a.feed(chunks[0])
	f.mu.Lock()
	f.data = good
	f.mu.Unlock()
	bad.Close()
	for _, c := range chunks[4:] {
		a.feed(c)
	}
	a.mustSync()
	assertFile(t, filepath.Join(dir, "rd", "f.bin"), data)
	if n := a.stats.filesMismatched.Load(); n != 0 {
		t.Fatalf("%d hash mismatches", n)
	}
}
