package storage_test

// R7: what a power cut leaves behind. A mixed workload runs on a recording
// filesystem; for every operation it did, the power-cut simulator rebuilds
// the disk states a crash right after it may leave (writes and renames not
// yet made durable by an fsync may be lost), and each state is checked:
//
//   - recovery never fails;
//   - nothing unfinished is visible under a final name: every file outside
//     the state folder is a whole, verified version of its path;
//   - every chunk whose offset was committed (put before a barrier that
//     succeeded) is kept: the chunks Kafka would deliver again (those not
//     committed) complete every path with its newest version.

import (
	"bytes"
	"crypto/sha512"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/openmsi/datafiledownloaddirectory/download/storage"
	"github.com/openmsi/datafiledownloaddirectory/download/storage/crashfs"
)

// crashPlan is what the workload puts, in order, and what the checker
// needs to judge a state.
type crashPlan struct {
	puts     []*storage.Chunk
	newest   map[string][]byte // rel -> content of its newest version
	versions map[string][][]byte
	expired  map[string]bool // given up by expiry during the workload
	stuck    string          // its rename fails during the workload
}

func cut(rel string, data []byte, chunkSize int, produced time.Time) []*storage.Chunk {
	dir, name := "", rel
	if i := strings.LastIndexByte(rel, '/'); i >= 0 {
		dir, name = rel[:i], rel[i+1:]
	}
	paths, err := storage.ChunkPaths(dir, name, "", false)
	if err != nil {
		panic(err)
	}
	fileHash := sha512.Sum512(data)
	total := (len(data) + chunkSize - 1) / chunkSize
	var out []*storage.Chunk
	for i := range total {
		part := data[i*chunkSize : min(len(data), (i+1)*chunkSize)]
		sum := sha512.Sum512(part)
		out = append(out, &storage.Chunk{
			Paths: paths, FileHash: fileHash[:], ChunkHash: sum[:], Offset: int64(i * chunkSize),
			Index: int64(i + 1), Total: int64(total), Data: part, Produced: produced,
		})
	}
	return out
}

// newCrashPlan mixes many files (one chunk and several), re-uploads (a
// newer version after the older was published, and while it was in
// progress), late duplicates of older versions, a file that cannot be put
// in place, and one whose last chunks never come, interleaved as the
// partitions of a topic deliver them.
func newCrashPlan(seed uint64, nFiles int) *crashPlan {
	r := rand.New(rand.NewPCG(seed, seed))
	p := &crashPlan{newest: map[string][]byte{}, versions: map[string][][]byte{}, expired: map[string]bool{}}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	data := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return b
	}
	var streams [][]*storage.Chunk
	add := func(rel string, d []byte, at time.Time, chunkSize int) []*storage.Chunk {
		p.versions[rel] = append(p.versions[rel], d)
		p.newest[rel] = d // versions are added oldest first
		c := cut(rel, d, chunkSize, at)
		return c
	}
	for i := range nFiles {
		rel := fmt.Sprintf("run%d/f%02d.dat", i%3, i)
		size := []int{100, 700, 1500, 2100}[i%4]
		st := add(rel, data(size), t0.Add(time.Duration(i)*time.Second), 512)
		// Bad copies of a chunk (proof.go): before its good copy, after
		// it, or early with the good copy only after the file's last
		// chunk, so that the file hash fails and the bad one is dropped.
		if len(st) >= 3 {
			bad := badCopy(st[1])
			switch i % 7 {
			case 3:
				st = append(st[:1:1], append([]*storage.Chunk{bad}, st[1:]...)...)
			case 5:
				st = append(st[:2:2], append([]*storage.Chunk{bad}, st[2:]...)...)
			case 6:
				good := st[1]
				st = append(append(append(st[:1:1], bad), st[2:]...), good)
			}
		}
		streams = append(streams, st)
	}
	// Re-uploads: v2 after v1, with late duplicates of v1 after v2.
	for i := 0; i < nFiles; i += 5 {
		rel := fmt.Sprintf("run%d/f%02d.dat", i%3, i)
		v1 := streams[i]
		v2 := add(rel, data(900), t0.Add(time.Hour+time.Duration(i)*time.Second), 512)
		streams[i] = append(append(append([]*storage.Chunk(nil), v1...), v2...), v1[0])
	}
	p.stuck = "stuck/held.dat"
	streams = append(streams, add(p.stuck, data(1200), t0, 512))
	// The last streams are interleaved, each keeping its own order.
	var order []int
	for s, st := range streams {
		for range st {
			order = append(order, s)
		}
	}
	r.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	next := make([]int, len(streams))
	for _, s := range order {
		p.puts = append(p.puts, streams[s][next[s]])
		next[s]++
	}
	return p
}

// badCopy is a copy of a chunk whose data does not match its chunk hash,
// as a damaged message would carry.
func badCopy(c *storage.Chunk) *storage.Chunk {
	b := *c
	b.Data = bytes.Clone(c.Data)
	b.Data[len(b.Data)/2] ^= 1
	return &b
}

// putChunk puts a chunk as the consumer does: a chunk refused for its
// chunk hash is bad input, skipped (and its offset committed).
func putChunk(e *storage.Engine, c *storage.Chunk) error {
	_, err := e.Put(c)
	var che *storage.ChunkHashError
	if errors.As(err, &che) {
		return nil
	}
	return err
}

func nullLog() *logrus.Entry {
	l := logrus.New()
	l.SetOutput(io.Discard)
	return logrus.NewEntry(l)
}

// run is the workload: every chunk put, a barrier every few chunks (then
// the chunks put so far are committed), and in the middle one unfinished
// file expires.
func (p *crashPlan) run(fsys storage.FS, checkpoint func(any)) error {
	cfs := fsys.(*crashfs.FS)
	held := &storage.Faults{FS: fsys, FailRename: func(_, newname string) error {
		if newname == p.stuck {
			return syscall.EACCES // as a file open in another program
		}
		return nil
	}}
	e, err := storage.Open(held, storage.Options{Log: nullLog(), Now: cfs.Now, RetryInterval: time.Hour})
	if err != nil {
		return err
	}
	defer e.Close()
	if err := e.Recover(); err != nil {
		return err
	}
	expiring := cut("gone/never.dat", bytes.Repeat([]byte{7}, 1500), 512, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	for i, c := range p.puts {
		if err := putChunk(e, c); err != nil {
			return fmt.Errorf("put %d (%s chunk %d): %w", i, c.Paths.Rel, c.Index, err)
		}
		if i == len(p.puts)/3 {
			if _, err := e.Put(expiring[0]); err != nil {
				return err
			}
		}
		if i == len(p.puts)/2 {
			// A week later: the files then in progress expire, the one whose
			// last chunks never come among them. Their committed chunks are
			// gone by design, so the checker leaves them out.
			before, _, _ := e.Status()
			cfs.Advance(8 * 24 * time.Hour)
			e.Expire(7 * 24 * time.Hour)
			after, _, _ := e.Status()
			left := map[string]bool{}
			for _, f := range after {
				left[f.Path] = true
			}
			for _, f := range before {
				if !left[f.Path] {
					p.expired[f.Path] = true
				}
			}
			if !p.expired["gone/never.dat"] {
				return errors.New("the unfinished file did not expire")
			}
		}
		if i%6 == 5 || i == len(p.puts)-1 {
			if err := e.Barrier(); err != nil {
				return fmt.Errorf("barrier after put %d: %w", i, err)
			}
			checkpoint(i + 1)
		}
	}
	if e.Stats().ChunksCorrupt.Load() == 0 {
		return errors.New("no bad chunk was found late: the workload misses what it is meant to check")
	}
	return nil
}

// check judges one crash state; committed is how many puts were committed.
func (p *crashPlan) check(state storage.FS, committed any) error {
	n, _ := committed.(int)
	e, err := storage.Open(state, storage.Options{Log: nullLog(), Now: state.(*crashfs.FS).Now})
	if err != nil {
		return fmt.Errorf("open after the crash: %w", err)
	}
	defer e.Close()
	if err := e.Recover(); err != nil {
		return fmt.Errorf("recovery failed: %w", err)
	}
	if err := e.Barrier(); err != nil {
		return fmt.Errorf("first barrier after recovery: %w", err)
	}
	if err := p.visibleAreWhole(state); err != nil {
		return err
	}
	// Kafka delivers again what was not committed, in the same order.
	for _, c := range p.puts[n:] {
		if err := putChunk(e, c); err != nil {
			return fmt.Errorf("redelivered %s chunk %d: %w", c.Paths.Rel, c.Index, err)
		}
	}
	// A clean stop, as the downloader's: complete files are verified
	// (in the background) and put in place.
	e.WaitVerified()
	if err := e.Barrier(); err != nil {
		return fmt.Errorf("barrier after redelivery: %w", err)
	}
	for rel, want := range p.newest {
		if p.expired[rel] {
			continue
		}
		got, err := readAll(state, rel)
		if err != nil || !bytes.Equal(got, want) {
			return fmt.Errorf("%s: after redelivering the uncommitted chunks it is not the newest version (%v): a committed chunk was lost", rel, err)
		}
	}
	return nil
}

// visibleAreWhole: every file under a final name is a whole version of
// its path.
func (p *crashPlan) visibleAreWhole(state storage.FS) error {
	var walk func(dir string) error
	walk = func(dir string) error {
		entries, err := state.ReadDir(dir)
		if err != nil {
			return err
		}
		for _, en := range entries {
			name := en.Name()
			rel := name
			if dir != "." {
				rel = dir + "/" + name
			}
			if rel == storage.StateDirName {
				continue
			}
			if en.IsDir() {
				if err := walk(rel); err != nil {
					return err
				}
				continue
			}
			got, err := readAll(state, rel)
			if err != nil {
				return err
			}
			whole := false
			if rel == "gone/never.dat" {
				whole = bytes.Equal(got, bytes.Repeat([]byte{7}, 1500))
			}
			for _, v := range p.versions[rel] {
				whole = whole || bytes.Equal(got, v)
			}
			if !whole {
				return fmt.Errorf("%s is visible with %d bytes that are no whole version of it", rel, len(got))
			}
		}
		return nil
	}
	return walk(".")
}

func readAll(fsys storage.FS, name string) ([]byte, error) {
	f, err := fsys.OpenFile(name, os.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var b []byte
	buf := make([]byte, 4096)
	for off := int64(0); ; {
		n, err := f.ReadAt(buf, off)
		b = append(b, buf[:n]...)
		off += int64(n)
		if errors.Is(err, io.EOF) {
			return b, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// crashSeeds is how many workloads TestCrashConsistency checks: one in
// `make test`, more with DFDD_CRASH_SEEDS (`make crashtest`).
func crashSeeds(t *testing.T) int {
	n := 1
	if s := os.Getenv("DFDD_CRASH_SEEDS"); s != "" {
		if _, err := fmt.Sscan(s, &n); err != nil || n < 1 {
			t.Fatalf("DFDD_CRASH_SEEDS=%q: want a number of workloads", s)
		}
	}
	return n
}

func TestCrashConsistency(t *testing.T) {
	var total crashfs.Report
	for seed := range crashSeeds(t) {
		files, least := 80, 1000
		if raceEnabled {
			files, least = 24, 400
		}
		p := newCrashPlan(uint64(seed+1), files)
		rep, err := crashfs.Check(p.run, p.check, crashfs.CheckOptions{Options: crashfs.Options{MaxStates: 8, Seed: int64(seed + 1)}})
		if err != nil {
			t.Fatal(err)
		}
		if rep.CrashPoints < least {
			t.Errorf("only %d crash points: the workload is too small to mean much", rep.CrashPoints)
		}
		if rep.Violations > 0 {
			t.Errorf("workload %d: %s", seed+1, rep.String())
		}
		total.Ops += rep.Ops
		total.CrashPoints += rep.CrashPoints
		total.States += rep.States
		total.Duplicates += rep.Duplicates
		total.Violations += rep.Violations
	}
	// The line `make crashtest` shows.
	fmt.Println(total.String())
}

// The engine never renames over, or removes, a file it holds open: the
// same workload runs on Windows semantics (FAT/exFAT, SMB shares, wine),
// where that fails.
func TestWorkloadOnWindowsSemantics(t *testing.T) {
	p := newCrashPlan(2, 24)
	fsys := crashfs.NewConfig(crashfs.Config{WindowsSemantics: true})
	if err := p.run(fsys, func(any) {}); err != nil {
		t.Fatalf("on Windows semantics: %v", err)
	}
	if err := p.check(fsys, len(p.puts)); err != nil {
		var pe *fs.PathError
		errors.As(err, &pe)
		t.Fatalf("restart on Windows semantics: %v", err)
	}
}
