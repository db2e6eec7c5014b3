package storage

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func sampleJournal() []byte {
	h := journalHeader{Rel: "a/b.dat", Dest: "a/b.dat", FileHash: strings.Repeat("ab", 64), Total: 3, ChunkSize: 100}
	b := appendHeaderRecord(nil, h)
	b = appendChunkRecord(b, 1, 0, 100, bytes.Repeat([]byte{1}, 64))
	b = appendChunkRecord(b, 3, 200, 50, bytes.Repeat([]byte{3}, 64))
	return appendCompleteRecord(b, journalComplete{Dest: "a/b.dat", HashOK: true})
}

func TestJournalRoundTrip(t *testing.T) {
	raw := sampleJournal()
	j, err := parseJournal(raw)
	if err != nil {
		t.Fatal(err)
	}
	if j.header.Rel != "a/b.dat" || len(j.chunks) != 2 || j.complete == nil || j.good != int64(len(raw)) {
		t.Fatalf("parsed %+v", j)
	}
	// Every torn tail keeps exactly the whole records before it.
	for cut := range len(raw) {
		j, err := parseJournal(raw[:cut])
		if err != nil {
			continue // the header itself is torn
		}
		if j.good > int64(cut) {
			t.Fatalf("cut at %d: %d good bytes", cut, j.good)
		}
	}
}

// Chunk records that contradict the header's tiling end the journal: they
// can only be garbage.
func TestJournalRefusesRecordsThatDoNotTile(t *testing.T) {
	h := journalHeader{Rel: "f", Dest: "f", FileHash: strings.Repeat("ab", 64), Total: 3, ChunkSize: 100}
	b := appendHeaderRecord(nil, h)
	b = appendChunkRecord(b, 2, 1<<30, 100, bytes.Repeat([]byte{1}, 64))
	j, err := parseJournal(b)
	if err != nil || len(j.chunks) != 0 {
		t.Fatalf("got %+v, %v; want the header alone", j, err)
	}
}

// FuzzParseJournal: no input makes the journal reader panic or promise
// more than it read.
func FuzzParseJournal(f *testing.F) {
	f.Add(sampleJournal())
	f.Add([]byte{})
	f.Add([]byte("{\"v\":1}\nc 1 0 10 00\n"))
	f.Add(appendDropRecord(appendChunkRecord(appendHeaderRecord(nil, journalHeader{Rel: "a", Dest: "a", Total: 3, ChunkSize: 10}), 2, 10, 10, make([]byte, 64)), 2))
	f.Fuzz(func(t *testing.T, raw []byte) {
		j, err := parseJournal(raw)
		if err != nil {
			return
		}
		if j.good > int64(len(raw)) || j.header.ChunkSize < 1 {
			t.Fatalf("parsed %+v from %d bytes", j, len(raw))
		}
		for _, c := range j.chunks {
			if c.offset != (c.index-1)*j.header.ChunkSize || c.length > j.header.ChunkSize {
				t.Fatalf("chunk %+v does not tile", c)
			}
		}
	})
}

// A file half received by version 0.1.0 (text journal) is resumed after
// the upgrade: its committed chunks are not lost.
func TestOldTextJournalIsResumed(t *testing.T) {
	dir := t.TempDir()
	data := randomBytes(50, 5000)
	chunks := upload("old/f.bin", data, 1000, t0, 0)
	var j strings.Builder
	fmt.Fprintf(&j, `{"v":1,"rel":"old/f.bin","dest":"old/f.bin","append":"","file_hash":"%x","total":5,"mtime":0}`+"\n", chunks[0].FileHash)
	part := make([]byte, 3000)
	for _, c := range chunks[:3] {
		copy(part[c.Offset:], c.Data)
		fmt.Fprintf(&j, "c %d %d %d %x\n", c.Index, c.Offset, len(c.Data), c.ChunkHash)
	}
	j.WriteString("c 4 30") // a torn last line
	os.MkdirAll(filepath.Join(dir, PartialDir), 0o755)
	os.WriteFile(filepath.Join(dir, PartialDir, "abc-1.journal"), []byte(j.String()), 0o644)
	os.WriteFile(filepath.Join(dir, PartialDir, "abc-1.part"), part, 0o644)

	te := openEngine(t, dir, nil, Options{})
	if te.logged("3 of 5 chunks already on disk") != 1 {
		t.Fatal("the old journal was not resumed")
	}
	te.crash()
	te2 := openEngine(t, dir, nil, Options{}) // now from the rewritten journal
	te2.putAll(chunks[3:])
	te2.barrier()
	assertFile(t, te2.path("old/f.bin"), data)
	assertNoPartialData(t, dir)
}
