package crashfs

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openmsi/datafiledownloaddirectory/download/storage"
)

// toy is a small store with the publish protocol of the engine: a file is
// written in chunks under state/, fsynced, renamed into out/, both folders
// synced, and only then promised (committed). Each flag drops one step.
type toy struct {
	files, chunks                      int
	noDataSync, noOutSync, noStateSync bool
}

const toyChunk = 16

func toyData(name string, chunks int) []byte {
	return bytes.Repeat([]byte(name+"-"), chunks*toyChunk/(len(name)+1)+1)[:chunks*toyChunk]
}

func (c toy) workload(fsys storage.FS, checkpoint func(any)) error {
	for _, d := range []string{"state", "out"} {
		if err := fsys.Mkdir(d, 0o755); err != nil {
			return err
		}
	}
	if err := fsys.SyncDir("."); err != nil {
		return err
	}
	var done []string
	for i := range c.files {
		name := fmt.Sprintf("f%03d", i)
		h, err := fsys.OpenFile("state/"+name+".part", os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o644)
		if err != nil {
			return err
		}
		data := toyData(name, c.chunks)
		for k := range c.chunks {
			if _, err := h.WriteAt(data[k*toyChunk:(k+1)*toyChunk], int64(k*toyChunk)); err != nil {
				return err
			}
		}
		if !c.noDataSync {
			if err := h.Sync(); err != nil {
				return err
			}
		}
		if err := h.Close(); err != nil {
			return err
		}
		if err := fsys.Rename("state/"+name+".part", "out/"+name); err != nil {
			return err
		}
		if !c.noOutSync {
			if err := fsys.SyncDir("out"); err != nil {
				return err
			}
		}
		if !c.noStateSync {
			if err := fsys.SyncDir("state"); err != nil {
				return err
			}
		}
		done = append(done, name)
		checkpoint(slices.Clone(done))
	}
	return nil
}

// check wants every committed file in out/ and every file in out/ complete.
func (c toy) check(state storage.FS, committed any) error {
	promised, _ := committed.([]string)
	ents, err := state.ReadDir("out")
	if errors.Is(err, os.ErrNotExist) && len(promised) == 0 {
		return nil
	}
	if err != nil {
		return err
	}
	have := map[string]bool{}
	for _, e := range ents {
		h, err := state.OpenFile("out/"+e.Name(), os.O_RDONLY, 0)
		if err != nil {
			return err
		}
		want := toyData(e.Name(), c.chunks)
		got := make([]byte, len(want)+1)
		n, err := h.ReadAt(got, 0)
		h.Close()
		if err != nil && err != io.EOF {
			return err
		}
		if !bytes.Equal(got[:n], want) {
			return fmt.Errorf("out/%s is not complete: %q", e.Name(), got[:n])
		}
		have[e.Name()] = true
	}
	for _, p := range promised {
		if !have[p] {
			return fmt.Errorf("out/%s was committed and is missing", p)
		}
	}
	return nil
}

func TestCheckPassesTheCorrectProtocol(t *testing.T) {
	c := toy{files: 20, chunks: 3}
	rep, err := Check(c.workload, c.check, CheckOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Log(rep)
	// 3 folder ops, then per file: create, 3 writes, sync, rename, 2 syncdirs.
	if rep.Ops != 3+20*8 || rep.CrashPoints != rep.Ops+1 || rep.States < rep.CrashPoints || rep.Violations != 0 {
		t.Fatalf("%v", rep)
	}
}

func TestCheckCatchesEachMissingSync(t *testing.T) {
	for name, c := range map[string]toy{
		"no fsync of the data":       {files: 5, chunks: 3, noDataSync: true},
		"no sync of the destination": {files: 5, chunks: 3, noOutSync: true},
		"no sync of the source":      {files: 5, chunks: 3, noStateSync: true},
	} {
		rep, err := Check(c.workload, c.check, CheckOptions{})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %v", name, rep)
		if rep.Violations == 0 || len(rep.First) == 0 {
			t.Errorf("%s: not caught: %v", name, rep)
		}
	}
}

func TestCheckCatchesReplaceWithoutFsyncAmongMany(t *testing.T) {
	// A single missing fsync, in file 7 of 40, among many correct ones.
	c := toy{files: 40, chunks: 3}
	w := func(fsys storage.FS, checkpoint func(any)) error {
		return c.workload(skipSync{fsys, "state/f007.part"}, checkpoint)
	}
	rep, err := Check(w, c.check, CheckOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Violations == 0 {
		t.Fatalf("not caught: %v", rep)
	}
	for _, v := range rep.First {
		if !strings.Contains(v.Err.Error(), "f007") {
			t.Fatalf("a violation not about f007: %v", v)
		}
	}
}

// skipSync is an FS whose files named name are never synced.
type skipSync struct {
	storage.FS
	name string
}

func (s skipSync) OpenFile(name string, flag int, perm os.FileMode) (storage.File, error) {
	h, err := s.FS.OpenFile(name, flag, perm)
	if err != nil || name != s.name {
		return h, err
	}
	return noSync{h}, nil
}

type noSync struct{ storage.File }

func (noSync) Sync() error { return nil }

func TestCheckReportsWorkloadFailureAndPanics(t *testing.T) {
	w := func(fsys storage.FS, checkpoint func(any)) error {
		h, err := fsys.OpenFile("a", os.O_CREATE|os.O_RDWR, 0o644)
		if err != nil {
			return err
		}
		defer h.Close()
		return fsys.Rename("a", "b") // an open file: Windows refuses
	}
	if _, err := Check(w, func(storage.FS, any) error { return nil }, CheckOptions{FS: Config{WindowsSemantics: true}}); !errors.Is(err, ErrAccessDenied) {
		t.Fatalf("Windows semantics: %v", err)
	}
	rep, err := Check(w, func(storage.FS, any) error { panic("boom") }, CheckOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Violations != rep.States || rep.States == 0 || !strings.Contains(rep.First[0].Err.Error(), "boom") {
		t.Fatalf("a panicking checker: %v", rep)
	}
}

// Thousands of crash points must be checked in seconds (R7 runs in make test).
func TestCheckScales(t *testing.T) {
	c := toy{files: 400, chunks: 4}
	start := time.Now()
	rep, err := Check(c.workload, c.check, CheckOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%v in %v", rep, time.Since(start))
	if rep.CrashPoints < 3000 || rep.Violations != 0 {
		t.Fatalf("%v", rep)
	}
}

// Duplicates are skipped only when a checker could not tell the states
// apart: same names, kinds, contents, times and clock.
func TestFingerprint(t *testing.T) {
	build := func(edit func(f *FS)) uint64 {
		f := New()
		must(t, f.Mkdir("d", 0o755))
		writeFile(t, f, "d/a", "abc")
		writeFile(t, f, "b", "")
		edit(f)
		return fingerprint(f)
	}
	same := build(func(*FS) {})
	if build(func(*FS) {}) != same {
		t.Fatal("the same tree hashes differently")
	}
	for name, edit := range map[string]func(f *FS){
		"a byte":          func(f *FS) { writeFile(t, f, "d/a", "abd") },
		"a name":          func(f *FS) { must(t, f.Rename("d/a", "d/c")) },
		"a move":          func(f *FS) { must(t, f.Rename("d/a", "a")) },
		"an empty file":   func(f *FS) { writeFile(t, f, "c", "") },
		"an empty folder": func(f *FS) { must(t, f.Mkdir("e", 0o755)) },
		"the clock":       func(f *FS) { f.Advance(time.Second) },
		"a time":          func(f *FS) { f.Advance(time.Second); writeFile(t, f, "d/a", "abc") },
		"a file for a folder": func(f *FS) {
			must(t, f.Remove("b"))
			must(t, f.Mkdir("b", 0o644))
		},
	} {
		if build(edit) == same {
			t.Errorf("changing %s keeps the fingerprint", name)
		}
	}
}

func TestCheckNoDedup(t *testing.T) {
	c := toy{files: 5, chunks: 2}
	a, _ := Check(c.workload, c.check, CheckOptions{})
	b, _ := Check(c.workload, c.check, CheckOptions{NoDedup: true})
	if a.Duplicates == 0 || b.Duplicates != 0 || b.States != a.States+a.Duplicates {
		t.Fatalf("dedup %v; without %v", a, b)
	}
}
