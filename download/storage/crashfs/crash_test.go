package crashfs

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
)

// The expectations here come from what POSIX and the Linux fsync(2) page
// promise (data is durable after fsync of the file, a name after fsync of
// its folder, nothing before), not from this package's code.

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// create makes name with data, optionally fsyncing the file.
func create(t *testing.T, f *FS, name, data string, sync bool) {
	t.Helper()
	h, err := f.OpenFile(name, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o644)
	must(t, err)
	_, err = h.WriteAt([]byte(data), 0)
	must(t, err)
	if sync {
		must(t, h.Sync())
	}
	must(t, h.Close())
}

// outcomes maps what look says of each state (a power cut now) to how
// many states say it. Small traces are enumerated fully.
func outcomes(t *testing.T, f *FS, look func(*FS) string) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, s := range f.CrashStates(f.Len(), 1024, 1) {
		out[look(s)]++
	}
	return out
}

// content says "absent" or the contents of name in quotes.
func content(t *testing.T, name string) func(*FS) string {
	return func(f *FS) string {
		s, ok := readFile(t, f, name)
		if !ok {
			return "absent"
		}
		return fmt.Sprintf("%q", s)
	}
}

func both(t *testing.T, a, b string) func(*FS) string {
	return func(f *FS) string { return content(t, a)(f) + " " + content(t, b)(f) }
}

func wantOutcomes(t *testing.T, got map[string]int, want ...string) {
	t.Helper()
	if g := slices.Sorted(maps.Keys(got)); !slices.Equal(g, slices.Sorted(slices.Values(want))) {
		t.Fatalf("a power cut may leave %q, want exactly %q", g, want)
	}
}

// durableFile makes name hold data durably: written, fsynced, its folder synced.
func durableFile(t *testing.T, f *FS, name, data string) {
	t.Helper()
	create(t, f, name, data, true)
	must(t, f.SyncDir(dirOf(name)))
}

func dirOf(name string) string {
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		return name[:i]
	}
	return "."
}

// Replacing a file by rename without fsyncing the new data: the rename
// may survive without the data (ext4's zero-length files of 2009).
func TestReplaceWithoutFsyncMayLeaveEmptyFile(t *testing.T) {
	f := New()
	durableFile(t, f, "final", "old")
	create(t, f, "tmp", "new", false)
	must(t, f.Rename("tmp", "final"))
	wantOutcomes(t, outcomes(t, f, content(t, "final")), `"old"`, `"new"`, `""`)
	// Syncing the folder makes the rename durable, not the data.
	must(t, f.SyncDir("."))
	wantOutcomes(t, outcomes(t, f, both(t, "final", "tmp")), `"new" absent`, `"" absent`)
}

func TestNewFileWithoutFsyncMayBeMissingOrEmpty(t *testing.T) {
	f := New()
	create(t, f, "tmp", "data", false)
	must(t, f.Rename("tmp", "final"))
	got := outcomes(t, f, both(t, "final", "tmp"))
	for _, bad := range []string{`absent absent`, `"" absent`, `absent ""`} {
		if got[bad] == 0 {
			t.Errorf("no state %s among %v", bad, got)
		}
	}
	if got[`"data" absent`] == 0 {
		t.Errorf("the clean crash state is missing: %v", got)
	}
}

// Data fsynced, then renamed, but the folder not synced: the old name may
// come back, with the complete data; the rename is never half done.
func TestRenameWithoutSyncDirMayBeUndone(t *testing.T) {
	f := New()
	durableFile(t, f, "tmp", "data")
	must(t, f.Rename("tmp", "final"))
	wantOutcomes(t, outcomes(t, f, both(t, "final", "tmp")), `absent "data"`, `"data" absent`)
}

// The correct protocol survives every power cut after it.
func TestFsyncRenameSyncDirSurvives(t *testing.T) {
	f := New()
	durableFile(t, f, "final", "old")
	create(t, f, "tmp", "new", true)
	must(t, f.Rename("tmp", "final"))
	must(t, f.SyncDir("."))
	wantOutcomes(t, outcomes(t, f, both(t, "final", "tmp")), `"new" absent`)
}

// fsync of a new file does not make its name durable.
func TestNewFileNeedsSyncDir(t *testing.T) {
	f := New()
	create(t, f, "a", "data", true)
	wantOutcomes(t, outcomes(t, f, content(t, "a")), `absent`, `"data"`)
	must(t, f.SyncDir("."))
	wantOutcomes(t, outcomes(t, f, content(t, "a")), `"data"`)
}

func TestRemoveWithoutSyncDirMayBeUndone(t *testing.T) {
	f := New()
	durableFile(t, f, "a", "data")
	must(t, f.Remove("a"))
	wantOutcomes(t, outcomes(t, f, content(t, "a")), `absent`, `"data"`)
	must(t, f.SyncDir("."))
	wantOutcomes(t, outcomes(t, f, content(t, "a")), `absent`)
}

// A rename between folders is durable once both folders are synced; before,
// it is undone or done, never both or neither.
func TestRenameBetweenFoldersNeedsBothSynced(t *testing.T) {
	f := New()
	must(t, f.Mkdir("state", 0o755))
	must(t, f.Mkdir("out", 0o755))
	must(t, f.SyncDir("."))
	durableFile(t, f, "state/a", "data")
	must(t, f.Rename("state/a", "out/a"))
	must(t, f.SyncDir("out"))
	wantOutcomes(t, outcomes(t, f, both(t, "state/a", "out/a")), `"data" absent`, `absent "data"`)
	must(t, f.SyncDir("state"))
	wantOutcomes(t, outcomes(t, f, both(t, "state/a", "out/a")), `absent "data"`)
}

// A file in a new folder is lost with the folder until the parent is synced.
func TestNewFolderNeedsParentSynced(t *testing.T) {
	f := New()
	must(t, f.Mkdir("d", 0o755))
	durableFile(t, f, "d/a", "data")
	wantOutcomes(t, outcomes(t, f, content(t, "d/a")), `absent`, `"data"`)
	must(t, f.SyncDir("."))
	wantOutcomes(t, outcomes(t, f, content(t, "d/a")), `"data"`)
}

// Unsynced writes are lost in any order; a lost write leaves what was
// there before: zeros past the old end when a later write is kept.
func TestUnsyncedWritesLostInAnyOrder(t *testing.T) {
	f := New()
	durableFile(t, f, "a", "")
	h, err := f.OpenFile("a", os.O_WRONLY, 0)
	must(t, err)
	h.WriteAt([]byte("AAAA"), 0)
	h.WriteAt([]byte("BB"), 8)
	h.Close()
	wantOutcomes(t, outcomes(t, f, content(t, "a")),
		`""`, `"AAAA"`, `"\x00\x00\x00\x00\x00\x00\x00\x00BB"`, `"AAAA\x00\x00\x00\x00BB"`)
	h, _ = f.OpenFile("a", os.O_WRONLY, 0)
	must(t, h.Sync())
	h.Close()
	wantOutcomes(t, outcomes(t, f, content(t, "a")), `"AAAA\x00\x00\x00\x00BB"`)
}

func TestTruncateAndRewriteWithoutFsync(t *testing.T) {
	f := New()
	durableFile(t, f, "a", "hello")
	h, err := f.OpenFile("a", os.O_WRONLY|os.O_TRUNC, 0)
	must(t, err)
	h.WriteAt([]byte("bye"), 0)
	h.Close()
	wantOutcomes(t, outcomes(t, f, content(t, "a")), `"hello"`, `""`, `"bye"`, `"byelo"`)
}

func TestTornWrites(t *testing.T) {
	f := New()
	durableFile(t, f, "a", "")
	h, _ := f.OpenFile("a", os.O_WRONLY, 0)
	h.WriteAt([]byte("abcdefgh"), 2) // pieces [2,4) [4,8) [8,10) at 4-byte blocks
	h.Close()
	got := map[string]bool{}
	for _, s := range NewSimulator(f.Trace(), Options{MaxStates: 64, TornWrites: 4}).States(f.Len()) {
		got[content(t, "a")(s.FS)] = true
	}
	want := []string{`""`, `"\x00\x00ab"`, `"\x00\x00\x00\x00cdef"`, `"\x00\x00\x00\x00\x00\x00\x00\x00gh"`,
		`"\x00\x00abcdef"`, `"\x00\x00ab\x00\x00\x00\x00gh"`, `"\x00\x00\x00\x00cdefgh"`, `"\x00\x00abcdefgh"`}
	if g := slices.Sorted(maps.Keys(got)); !slices.Equal(g, slices.Sorted(slices.Values(want))) {
		t.Fatalf("torn write states %q, want %q", g, want)
	}
}

// A folder entry holds the last durable change to it, even when an older
// change to it (here a rename that also waits for another folder) is still
// pending and kept.
func TestLaterDurableChangeWins(t *testing.T) {
	f := New()
	must(t, f.Mkdir("s", 0o755))
	must(t, f.Mkdir("o", 0o755))
	must(t, f.SyncDir("."))
	durableFile(t, f, "s/a", "1")
	must(t, f.Rename("s/a", "o/a"))
	must(t, f.Remove("o/a"))
	must(t, f.SyncDir("o")) // the remove is durable; the rename waits for "s"
	wantOutcomes(t, outcomes(t, f, both(t, "s/a", "o/a")), `"1" absent`, `absent absent`)
}

// A file renamed twice without a sync is under one of its three names.
func TestRenameChainLeavesOneName(t *testing.T) {
	f := New()
	durableFile(t, f, "a", "data")
	must(t, f.Rename("a", "b"))
	must(t, f.Rename("b", "c"))
	look := func(f *FS) string { return both(t, "a", "b")(f) + " " + content(t, "c")(f) }
	wantOutcomes(t, outcomes(t, f, look), `"data" absent absent`, `absent "data" absent`, `absent absent "data"`)
}
