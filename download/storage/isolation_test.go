package storage

import (
	"errors"
	"io/fs"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// R2: a complete file that cannot be put in place (the old version open in
// another program, a folder without rights) does not hold up barriers or
// other files; it waits in the state folder, is listed, and is put in
// place as soon as the obstacle is gone, without a restart.
func TestStuckFileDoesNotBlockOthers(t *testing.T) {
	var locked atomic.Bool
	locked.Store(true)
	wrap := func(f FS) FS {
		return &Faults{FS: f, FailRename: func(_, newname string) error {
			if locked.Load() && strings.HasPrefix(newname, "locked1/") {
				return syscall.EPERM
			}
			return nil
		}}
	}
	te := openEngine(t, t.TempDir(), wrap, Options{RetryInterval: 20 * time.Millisecond})
	te.StartRetries()
	stuck := randomBytes(20, 3000)
	other := randomBytes(21, 3000)
	te.putAll(upload("locked1/a.dat", stuck, 1000, t0, 0))
	if err := te.Barrier(); err != nil {
		t.Fatalf("a stuck file must not fail the barrier (offsets are committed past it): %v", err)
	}
	te.putAll(upload("free/b.dat", other, 1000, t0, 0))
	te.barrier()
	assertFile(t, te.path("free/b.dat"), other)
	assertMissing(t, te.path("locked1/a.dat"))
	_, waiting, _ := te.Status()
	if len(waiting) != 1 || waiting[0].Path != "locked1/a.dat" || waiting[0].Reason == "" {
		t.Fatalf("waiting = %+v, want locked1/a.dat with a reason", waiting)
	}
	time.Sleep(100 * time.Millisecond) // several retries, all failing
	if n := te.logged("cannot be put in place"); n != 1 {
		t.Fatalf("%d warnings about the stuck file, want exactly 1", n)
	}
	locked.Store(false)
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := os.Stat(te.path("locked1/a.dat")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the file was not put in place after the obstacle went")
		}
		time.Sleep(10 * time.Millisecond)
	}
	te.barrier()
	assertFile(t, te.path("locked1/a.dat"), stuck)
	assertNoPartialData(t, te.dir)
	if _, waiting, _ := te.Status(); len(waiting) != 0 {
		t.Fatalf("still waiting: %+v", waiting)
	}
}

// A waiting file's completion is durable: after a restart (its chunks will
// not come again, their offsets were committed) it is put in place.
func TestStuckFileSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	for _, size := range []int{500, 3000} { // one chunk (no journal until stuck) and three
		rel := "locked2/f" + string(rune('0'+size/1000))
		data := randomBytes(uint64(size), size)
		te := openEngine(t, dir, func(f FS) FS {
			return &Faults{FS: f, FailRename: func(_, n string) error {
				if n == rel {
					return syscall.EACCES
				}
				return nil
			}}
		}, Options{})
		te.putAll(upload(rel, data, 1000, t0, 0))
		te.barrier()
		te.crash()
		te2 := openEngine(t, dir, nil, Options{})
		te2.barrier()
		assertFile(t, te2.path(rel), data)
		assertNoPartialData(t, dir)
		te2.crash()
	}
}

// A newer version replaces one that waits to be put in place.
func TestNewerVersionReplacesWaitingOne(t *testing.T) {
	var locked atomic.Bool
	locked.Store(true)
	te := openEngine(t, t.TempDir(), func(f FS) FS {
		return &Faults{FS: f, FailRename: func(_, n string) error {
			if locked.Load() {
				return syscall.EPERM
			}
			return nil
		}}
	}, Options{})
	te.putAll(upload("w/f", randomBytes(22, 2000), 1000, t0, 0))
	te.barrier()
	locked.Store(false)
	v2 := randomBytes(23, 1500)
	te.putAll(upload("w/f", v2, 1000, t0.Add(time.Minute), 0))
	te.barrier()
	te.retryWaiting()
	te.barrier()
	assertFile(t, te.path("w/f"), v2)
	assertNoPartialData(t, te.dir)
}

// A path that can never work is bad input for that file alone: a file
// where its folder must be.
func TestPathConflictIsBadInputNotTrouble(t *testing.T) {
	te := openEngine(t, t.TempDir(), nil, Options{})
	os.WriteFile(te.path("taken"), []byte("a file, not a folder"), 0o644)
	for _, c := range upload("taken/f.bin", []byte("x"), 10, t0, 0) {
		if _, err := te.Put(c); err != nil {
			t.Fatal(err)
		}
	}
	if err := te.Barrier(); err != nil {
		t.Fatalf("barrier: %v, want nil (bad input is skipped)", err)
	}
	if te.stats.FilesRejected.Load() != 1 {
		t.Fatal("not counted as rejected")
	}
	other := randomBytes(24, 100)
	te.putAll(upload("ok/f", other, 10, t0, 0))
	te.barrier()
	assertFile(t, te.path("ok/f"), other)
	assertNoPartialData(t, te.dir)
}

// EFBIG (a file larger than the filesystem holds: FAT32's 4 GiB) is bad
// input for that file, never a paused partition.
func TestFileTooLargeIsBadInput(t *testing.T) {
	te := openEngine(t, t.TempDir(), func(f FS) FS {
		return &Faults{FS: f, FailWrite: func(name string, b []byte, off int64) (int, error, bool) {
			if strings.HasSuffix(name, ".part") && off >= 2000 {
				return 0, &fs.PathError{Op: "write", Path: name, Err: syscall.EFBIG}, true
			}
			return 0, nil, false
		}}
	}, Options{})
	chunks := upload("big/f", randomBytes(25, 5000), 1000, t0, 0)
	te.putAll(chunks[:2])
	_, err := te.Put(chunks[2])
	if err == nil || IsTrouble(err) || !errors.Is(err, syscall.EFBIG) {
		t.Fatalf("EFBIG: %v, want bad input", err)
	}
	te.barrier()
	assertNoPartialData(t, te.dir)
}

// Storage trouble is retried, never skipped: a full disk fails the chunk
// with a TroubleError, and it is stored once space is back.
func TestDiskFullIsTrouble(t *testing.T) {
	var full atomic.Bool
	te := openEngine(t, t.TempDir(), func(f FS) FS {
		return &Faults{FS: f, FailWrite: func(name string, b []byte, off int64) (int, error, bool) {
			if full.Load() {
				return 0, &fs.PathError{Op: "write", Path: name, Err: errDiskFull}, true
			}
			return 0, nil, false
		}}
	}, Options{})
	data := randomBytes(26, 4000)
	chunks := upload("full/f", data, 1000, t0, 0)
	te.putAll(chunks[:2])
	full.Store(true)
	if _, err := te.Put(chunks[2]); !IsTrouble(err) || !strings.Contains(Hint(err), "full") {
		t.Fatalf("disk full: %v (hint %q), want trouble saying the disk is full", err, Hint(err))
	}
	full.Store(false)
	te.putAll(chunks[2:])
	te.barrier()
	assertFile(t, te.path("full/f"), data)
}
