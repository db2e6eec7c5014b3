package storage

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// R4: open descriptors stay bounded whatever the number of unfinished
// files, and complete files still land.
func TestOpenFilesAreBounded(t *testing.T) {
	var opened, maxOpen atomic.Int64
	dir := t.TempDir()
	wrap := func(f FS) FS { return &Faults{FS: f, Opened: &opened, MaxOpen: &maxOpen} }
	te := openEngine(t, dir, wrap, Options{MaxOpenFiles: 16})
	var firsts [][]*Chunk
	for i := range 400 {
		chunks := upload(fmt.Sprintf("unfinished/%03d.bin", i), randomBytes(uint64(i), 3000), 1000, t0, 0)
		te.put(chunks[0])
		firsts = append(firsts, chunks)
		if i%37 == 0 {
			te.barrier()
		}
	}
	te.barrier()
	// Each open file has its data and its journal open.
	if m := maxOpen.Load(); m > 2*16+2 {
		t.Fatalf("%d files were open at once with 400 unfinished files, want at most %d", m, 2*16+2)
	}
	done := randomBytes(99, 2500)
	te.putAll(upload("complete/after.bin", done, 1000, t0, 0))
	te.barrier()
	assertFile(t, te.path("complete/after.bin"), done)
	// Files closed to stay in bound resume where they were, also after a restart.
	for i, chunks := range firsts[:50] {
		te.put(chunks[1])
		if i%2 == 0 {
			te.put(chunks[2])
		}
	}
	te.barrier()
	te.crash()
	opened.Store(0)
	maxOpen.Store(0)
	te2 := openEngine(t, dir, wrap, Options{MaxOpenFiles: 16})
	if m := maxOpen.Load(); m > 4 {
		t.Fatalf("recovering 400 unfinished files opened %d at once", m)
	}
	for i, chunks := range firsts[:50] {
		if i%2 == 1 {
			te2.put(chunks[2])
		}
		assertFile(t, te2.path(fmt.Sprintf("unfinished/%03d.bin", i)), chunksData(chunks))
	}
}

func chunksData(chunks []*Chunk) []byte {
	var b []byte
	for _, c := range chunks {
		b = append(b, c.Data...)
	}
	return b
}

// R4: unfinished files expire after a time without a new chunk; complete
// ones waiting to be put in place do not.
func TestUnfinishedFilesExpire(t *testing.T) {
	dir := t.TempDir()
	now := t0
	var clock atomic.Pointer[time.Time]
	clock.Store(&now)
	opts := Options{ExpireAfter: 7 * 24 * time.Hour, Now: func() time.Time { return *clock.Load() }}
	te := openEngine(t, dir, nil, opts)
	old := upload("e/old.bin", randomBytes(30, 3000), 1000, t0, 0)
	fresh := upload("e/fresh.bin", randomBytes(31, 3000), 1000, t0, 0)
	te.put(old[0])
	later := t0.Add(6 * 24 * time.Hour)
	clock.Store(&later)
	te.put(fresh[0])
	te.barrier()
	end := t0.Add(7*24*time.Hour + time.Minute)
	clock.Store(&end)
	if n := te.Expire(opts.ExpireAfter); n != 1 {
		t.Fatalf("expired %d files, want 1", n)
	}
	if te.logged(`giving up "e/old.bin"`) != 1 {
		t.Fatal("no log line for the expired file")
	}
	te.barrier()
	entries, _ := os.ReadDir(te.path(PartialDir))
	if len(entries) != 2 { // fresh.bin's data and journal
		t.Fatalf("state folder holds %d files, want 2 (the fresh file's)", len(entries))
	}
	// The expired file starts anew if its chunks come after all.
	te.putAll(old)
	te.barrier()
	assertFile(t, te.path("e/old.bin"), chunksData(old))
}

// R4: one unreadable journal or partial file at start is set aside, never
// a failed start, and the other files resume.
func TestCorruptStateIsSetAside(t *testing.T) {
	dir := t.TempDir()
	te := openEngine(t, dir, nil, Options{})
	good := upload("s/good.bin", randomBytes(32, 3000), 1000, t0, 0)
	bad := upload("s/bad.bin", randomBytes(33, 3000), 1000, t0, 0)
	short := upload("s/short.bin", randomBytes(34, 3000), 1000, t0, 0)
	te.put(good[0])
	te.put(bad[0])
	te.putAll(short[:2])
	te.barrier()
	te.crash()
	entries, _ := os.ReadDir(te.path(PartialDir))
	var journals []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".journal") {
			journals = append(journals, e.Name())
		}
	}
	// Garble one journal's header, cut another's partial file short.
	for _, j := range journals {
		p := filepath.Join(te.path(PartialDir), j)
		raw, _ := os.ReadFile(p)
		switch {
		case strings.Contains(string(raw), "bad.bin"):
			raw[10] ^= 0xff
			os.WriteFile(p, raw, 0o644)
		case strings.Contains(string(raw), "short.bin"):
			os.Truncate(strings.TrimSuffix(p, ".journal")+".part", 1500)
		}
	}
	te2 := openEngine(t, dir, nil, Options{})
	if n := te2.stats.FilesSetAside.Load(); n != 2 {
		t.Fatalf("%d set aside, want 2", n)
	}
	damaged, _ := os.ReadDir(te2.path(DamagedDir))
	if len(damaged) != 4 {
		t.Fatalf("%d files in %s, want 4", len(damaged), DamagedDir)
	}
	te2.putAll(good[1:])
	te2.barrier()
	assertFile(t, te2.path("s/good.bin"), chunksData(good))
	// The set-aside files are not lost for good: their chunks make them
	// again if they come (their offsets were committed, so only a new
	// upload brings them).
	te2.putAll(bad)
	te2.barrier()
	assertFile(t, te2.path("s/bad.bin"), chunksData(bad))
}

// Closing a file to stay within the bound does not wait for a file whose
// lock is taken (the publisher syncing it): it closes the next least
// recently used one instead, and the bound holds.
func TestRoomIsMadeAroundABusyFile(t *testing.T) {
	var opened, maxOpen atomic.Int64
	wrap := func(f FS) FS { return &Faults{FS: f, Opened: &opened, MaxOpen: &maxOpen} }
	te := openEngine(t, t.TempDir(), wrap, Options{MaxOpenFiles: 4})
	var uploads [][]*Chunk
	for i := range 4 {
		chunks := upload(fmt.Sprintf("busy/%d.bin", i), randomBytes(uint64(i), 3000), 1000, t0, 0)
		te.put(chunks[0])
		uploads = append(uploads, chunks)
	}
	te.Engine.mu.Lock()
	oldest := te.Engine.files["busy/0.bin"]
	te.Engine.mu.Unlock()
	oldest.mu.Lock()
	stored := make(chan Outcome, 1)
	next := upload("busy/4.bin", randomBytes(4, 3000), 1000, t0, 0)
	go func() { stored <- te.put(next[0]) }()
	select {
	case out := <-stored:
		if out != Written {
			t.Errorf("a chunk of a new file gave %v, want Written", out)
		}
	case <-time.After(10 * time.Second):
		oldest.mu.Unlock()
		t.Fatal("storing a chunk waited for the lock of the least recently used file")
	}
	oldest.mu.Unlock()
	if m := maxOpen.Load(); m > 2*4+2 {
		t.Fatalf("%d files were open at once, want at most %d", m, 2*4+2)
	}
	uploads = append(uploads, next)
	for i, chunks := range uploads {
		te.putAll(chunks[1:])
		assertFile(t, te.path(fmt.Sprintf("busy/%d.bin", i)), chunksData(chunks))
	}
}
