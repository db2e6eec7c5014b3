package storage

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
)

// R5: a failed fsync is never retried and trusted. The barrier fails with
// a DurabilityError, and so does every later call: the program must stop
// without committing.
func TestFailedFsyncStopsForGood(t *testing.T) {
	var fail atomic.Bool
	te := openEngine(t, t.TempDir(), func(f FS) FS {
		return &Faults{FS: f, FailSync: func(name string) error {
			if fail.Load() {
				return syscall.EIO
			}
			return nil
		}}
	}, Options{})
	chunks := upload("s/f", randomBytes(40, 3000), 1000, t0, 0)
	te.put(chunks[0])
	fail.Store(true)
	err := te.Barrier()
	if !IsDurability(err) || !errors.Is(err, syscall.EIO) {
		t.Fatalf("barrier after a failed fsync: %v, want a DurabilityError", err)
	}
	fail.Store(false) // the disk "works" again: no matter
	if err := te.Barrier(); !IsDurability(err) {
		t.Fatalf("second barrier: %v, want the DurabilityError again", err)
	}
	if _, err := te.Put(chunks[1]); !IsDurability(err) {
		t.Fatalf("put after a failed fsync: %v, want the DurabilityError", err)
	}
}

func TestFailedFolderSyncStops(t *testing.T) {
	te := openEngine(t, t.TempDir(), func(f FS) FS {
		return &Faults{FS: f, FailSyncDir: func(name string) error {
			if name == "pub" {
				return syscall.EIO
			}
			return nil
		}}
	}, Options{})
	for _, c := range upload("pub/f", []byte("data"), 10, t0, 0) {
		te.Put(c)
	}
	if err := te.Barrier(); !IsDurability(err) {
		t.Fatalf("barrier after a failed folder sync: %v, want a DurabilityError", err)
	}
}

// R5: a read error while hashing is retried, then storage trouble; never
// a hash mismatch.
func TestReadErrorWhileHashingIsNeverAMismatch(t *testing.T) {
	var failures, skip atomic.Int64
	te := openEngine(t, t.TempDir(), func(f FS) FS {
		return &Faults{FS: f, FailRead: func(name string) error {
			if skip.Add(-1) >= 0 {
				return nil
			}
			if failures.Load() > 0 {
				failures.Add(-1)
				return syscall.EIO
			}
			return nil
		}}
	}, Options{})
	readRetryDelay = 0
	// Larger than what is kept in memory, so the hash reads back.
	data := randomBytes(41, 6<<20)
	chunks := upload("r/f", data, 1<<20, t0, 0)
	// The first chunk comes last, so that nothing is hashed before the
	// file is complete; it does not fit in memory and is read back.
	for _, c := range chunks[1:] {
		te.put(c)
	}
	// Every attempt of one read fails: the second part of a chunk, after
	// the first was hashed.
	skip.Store(1)
	// Every attempt of it in the background, and the barrier's next one.
	failures.Store(2 * readRetries)
	// The file is verified in the background; the next barrier tries
	// again and reports the trouble, so that no offset is committed.
	if out, err := te.Put(chunks[0]); err != nil || out != Completed {
		t.Fatalf("last chunk: %v %v, want Completed", out, err)
	}
	te.WaitVerified()
	if err := te.Barrier(); !IsTrouble(err) {
		t.Fatalf("barrier after a read error while hashing: %v, want trouble", err)
	}
	assertMissing(t, te.path("r/f"))
	failures.Store(readRetries - 1) // a transient one: retried and fine
	te.barrier()
	assertFile(t, te.path("r/f"), data)
	if te.stats.FilesMismatched.Load() != 0 {
		t.Fatal("a read error made a hash mismatch")
	}
}

// R5: journal records have no length limit; a path as long as the OS takes
// (about 100 KB in folders of 250-byte names on Linux, 3.5 KB on Windows) is
// resumed.
func TestVeryLongPathResumes(t *testing.T) {
	dir := t.TempDir()
	var parts []string
	for i := range longPathParts {
		parts = append(parts, fmt.Sprintf("%03d", i)+strings.Repeat("d", 247))
	}
	rel := strings.Join(parts, "/") + "/f.bin"
	data := randomBytes(42, 3000)
	chunks := upload(rel, data, 1000, t0, 0)
	te := openEngine(t, dir, nil, Options{})
	te.putAll(chunks[:2])
	te.barrier()
	te.crash()
	te2 := openEngine(t, dir, nil, Options{})
	if te2.logged("2 of 3 chunks already on disk") != 1 {
		t.Fatal("the long-path file was not resumed")
	}
	te2.put(chunks[2])
	te2.barrier()
	root, _ := os.OpenRoot(dir)
	defer root.Close()
	f, err := root.Open(rel)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got := make([]byte, len(data)+1)
	n, _ := f.Read(got)
	if n != len(data) || string(got[:n]) != string(data) {
		t.Fatalf("read back %d bytes, want the %d uploaded", n, len(data))
	}
}
