package storage

import (
	"bytes"
	"container/list"
	"crypto/rand"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"hash"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/openmsi/datafiledownloaddirectory/internal/sha512x"
)

// partialFile is one version of a file being received, or complete and
// waiting to be put in place. Its data and journal live in PartialDir
// under an id of their own; both are opened lazily and closed when the
// file falls out of the most recently used (R4), so the number of
// unfinished files does not bound by descriptors.
type partialFile struct {
	// Immutable after creation.
	id        string
	paths     Paths
	version   version
	total     int64
	chunkSize int64
	append    string

	received atomic.Int64 // mirrors len(have) for Status, which must not block

	// ioMu is held for reading by a barrier's fsync of the data, which runs
	// without mu (syncUnblockingLocked); closing the data takes it for
	// writing, with mu held.
	ioMu sync.RWMutex

	mu sync.Mutex
	// Guarded by mu.
	data      File // nil while closed
	journal   File // nil while closed
	created   bool // the files exist on disk
	lruElem   *list.Element
	jsize     int64  // bytes of good records in the journal file
	pending   []byte // journal records not yet written
	flushGen  uint64 // counts the flushes of pending
	have      map[int64]struct{}
	proven    map[int64]struct{} // chunks checked against their own hash (proof.go)
	reserved  map[int64]struct{} // segments whose disk space is reserved (prealloc.go)
	noReserve bool
	size      int64
	lastChunk time.Time
	done      bool // published, superseded, expired or dropped

	// The whole-file hash (hash.go).
	unhashed   map[int64]int64 // offset -> length of stored chunks past hashedUpTo
	hasher     hash.Hash
	hashedUpTo int64
	retained   map[int64][]byte
	budget     *atomic.Int64
	hashing    bool
	hashDone   chan struct{}
	hashErr    error

	// Set while a complete file is verified in the background (verify.go);
	// lastBytes is the length of the chunk that completed it.
	verifying bool
	lastBytes int64

	// Set when the file is complete and verified (publish.go).
	queued     bool
	dest       string
	hashOK     bool
	pubStep    int
	durable    bool // its completion is on record in the journal
	waitReason string
	waitSince  time.Time
}

func (f *partialFile) partPath() string    { return PartialDir + "/" + f.id + ".part" }
func (f *partialFile) journalPath() string { return PartialDir + "/" + f.id + ".journal" }

func newID(rel string) string {
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	relSum := sha512.Sum512([]byte(rel))
	// Deterministic enough to find by path when debugging, unique so that
	// a new version never collides with an old one's leftovers.
	return hex.EncodeToString(relSum[:8]) + "-" + hex.EncodeToString(rnd[:])
}

// newPartial makes the entry of a new version in memory; its files are
// created with its first chunk, under the file's lock.
func (e *Engine) newPartial(c *Chunk, chunkSize int64, v version) *partialFile {
	f := &partialFile{
		id:        newID(c.Paths.Rel),
		paths:     c.Paths,
		version:   version{hash: bytes.Clone(v.hash), produced: v.produced, mtime: v.mtime},
		total:     c.Total,
		chunkSize: chunkSize,
		append:    c.Append,
		have:      make(map[int64]struct{}),
		proven:    make(map[int64]struct{}),
		lastChunk: e.opts.Now(),
		unhashed:  make(map[int64]int64),
		hasher:    sha512x.New(),
		budget:    &e.retainedBytes,
	}
	if f.total > 1 {
		// A single-chunk file gets a journal only if it must wait to be
		// put in place (waitLocked writes it then).
		f.pending = appendHeaderRecord(nil, f.header())
	}
	return f
}

func (f *partialFile) header() journalHeader {
	return journalHeader{
		Rel: f.paths.Rel, Dest: f.paths.Dest, Append: f.append, FileHash: hex.EncodeToString(f.version.hash),
		Total: f.total, ChunkSize: f.chunkSize, Mtime: f.version.mtime, Produced: f.version.produced,
	}
}

// openLocked makes sure the file's data and journal are open, creating
// them for a new version. Single-chunk files get no journal unless they
// must wait to be put in place: they are published before their offset is
// committed.
func (e *Engine) openLocked(f *partialFile) error {
	if f.data != nil {
		return nil
	}
	flag := os.O_RDWR
	if !f.created {
		flag |= os.O_CREATE | os.O_EXCL
	}
	data, err := e.fsys.OpenFile(f.partPath(), flag, 0o644)
	if err != nil {
		return trouble("open partial file for %q: %w", f.paths.Rel, err)
	}
	if !f.created {
		e.mu.Lock()
		e.nameDirty = true
		e.mu.Unlock()
	}
	f.created = true
	f.data = data
	if f.total > 1 || f.durable {
		if err := e.openJournalLocked(f); err != nil {
			data.Close()
			f.data = nil
			return err
		}
	}
	e.mu.Lock()
	if f.lruElem == nil {
		f.lruElem = e.lru.PushFront(f)
	}
	e.mu.Unlock()
	return nil
}

func (e *Engine) openJournalLocked(f *partialFile) error {
	if f.journal != nil {
		return nil
	}
	j, err := e.fsys.OpenFile(f.journalPath(), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return trouble("open journal for %q: %w", f.paths.Rel, err)
	}
	if f.jsize == 0 {
		e.mu.Lock()
		e.nameDirty = true
		e.mu.Unlock()
	}
	f.journal = j
	return nil
}

// closeHandlesLocked closes the file's data and journal; nothing pending is
// lost, it is written when they are opened again.
func (f *partialFile) closeHandlesLocked() {
	f.closeDataLocked()
	if f.journal != nil {
		f.journal.Close()
		f.journal = nil
	}
}

// makeRoom closes the least recently used files beyond the bound, keeping
// the one about to be used. No file lock is held by the caller, so taking
// a victim's lock cannot deadlock.
func (e *Engine) makeRoom(keep *partialFile) {
	for {
		e.mu.Lock()
		if keep.lruElem != nil {
			e.lru.MoveToFront(keep.lruElem)
		}
		if e.lru.Len() < e.opts.MaxOpenFiles {
			e.mu.Unlock()
			return
		}
		victim := e.victimLocked(keep)
		if victim == nil {
			e.mu.Unlock()
			return
		}
		e.lru.Remove(victim.lruElem)
		victim.lruElem = nil
		e.mu.Unlock()
		// Syncing before closing keeps the rule that a journal record is
		// written only after its data is durable, and leaves nothing for a
		// barrier to sync through a closed file.
		if err := e.syncLocked(victim); err != nil {
			e.log.Warnf("closing %q to stay within the open-file bound: %v", victim.paths.Rel, err)
		}
		victim.waitHashLocked()
		victim.closeHandlesLocked()
		victim.mu.Unlock()
	}
}

// victimLocked picks the file makeRoom closes, and returns it locked: the
// least recently used one whose lock is free, else the least recently used.
// A file whose lock is taken is usually being synced by the publisher, which
// closes it right after; waiting for that fsync held up consumers of many
// small files (a quarter of a second in two seconds). Called with e.mu held;
// it may release e.mu while it waits for a lock, and then looks again.
func (e *Engine) victimLocked(keep *partialFile) *partialFile {
	for el := e.lru.Back(); el != nil; el = el.Prev() {
		f := el.Value.(*partialFile)
		if f != keep && f.mu.TryLock() {
			return f
		}
	}
	victim := e.lru.Back().Value.(*partialFile)
	if victim == keep {
		return nil
	}
	// Taking a file's lock with e.mu held would break the lock order (e.mu
	// is a leaf); wait without it.
	e.mu.Unlock()
	victim.mu.Lock()
	e.mu.Lock()
	if victim.lruElem == nil {
		// Closed meanwhile.
		victim.mu.Unlock()
		if e.lru.Len() < e.opts.MaxOpenFiles {
			return nil
		}
		return e.victimLocked(keep)
	}
	return victim
}

// addLocked stores a chunk in its version. checked says the chunk was
// checked against its chunk hash; Put makes sure of it where the rules of
// proof.go ask for it. retry means the entry changed: look it up again.
func (e *Engine) addLocked(f *partialFile, c *Chunk, chunkSize int64, checked bool) (out Outcome, retry bool, err error) {
	if c.Total == 1 && f.total == 1 && !f.queued && len(f.have) == 1 {
		// A copy of a single-chunk file whose completion met storage
		// trouble; its length may differ from the stored one's if one is bad.
		if _, proven := f.proven[1]; !proven {
			return e.settleDuplicateLocked(f, c)
		}
	}
	if e.relayoutLocked(f, c, chunkSize, checked) {
		return 0, true, nil
	}
	if err := f.fitsLocked(c, chunkSize); err != nil {
		return 0, false, err
	}
	if f.queued {
		return Duplicate, false, nil
	}
	if _, ok := f.have[c.Index]; ok {
		if _, proven := f.proven[c.Index]; !proven {
			out, retry, err := e.settleDuplicateLocked(f, c)
			if err != nil || retry || out != Duplicate {
				return out, retry, err
			}
		}
		if int64(len(f.have)) == f.total && !f.verifying {
			// Complete, but verifying it met storage trouble: the
			// redelivered chunk is its next try.
			if err := e.openLocked(f); err != nil {
				return 0, false, err
			}
			out, err := e.completeLocked(f, 0)
			return out, false, err
		}
		return Duplicate, false, nil
	}
	if err := e.openLocked(f); err != nil {
		return 0, false, err
	}
	f.reserveLocked(c)
	if _, err := f.data.WriteAt(c.Data, c.Offset); err != nil {
		if classify(err) == kindBadInput {
			// Too large for this filesystem (EFBIG), say: no retry helps.
			e.dropLocked(f, fmt.Errorf("write chunk %d at offset %d: %w", c.Index, c.Offset, err))
			return 0, false, fmt.Errorf("%q cannot be stored here: %w", f.paths.Rel, err)
		}
		return 0, false, trouble("write chunk %d of %q: %w", c.Index, f.paths.Rel, err)
	}
	f.have[c.Index] = struct{}{}
	if checked {
		f.proven[c.Index] = struct{}{}
	}
	f.received.Store(int64(len(f.have)))
	f.size = max(f.size, c.Offset+int64(len(c.Data)))
	f.lastChunk = e.opts.Now()
	if f.total > 1 {
		f.pending = appendChunkRecord(f.pending, c.Index, c.Offset, int64(len(c.Data)), c.ChunkHash)
	}
	f.queueHashLocked(c)
	if int64(len(f.have)) == f.total {
		if e.verifyLaterLocked(f, int64(len(c.Data))) {
			return Completed, false, nil
		}
		out, err := e.completeLocked(f, c.Index)
		return out, false, err
	}
	e.mu.Lock()
	e.dirty[f] = struct{}{}
	e.mu.Unlock()
	return Written, false, nil
}

// relayoutLocked settles a version whose chunk size came from its last
// chunk alone when a chunk that is not the last says otherwise. The last
// chunk's offset only implies the size, while every other chunk is exactly
// that size, and a real file has more of those: so the lone last chunk is
// the one to doubt. Without this, a forged last chunk that arrived first
// (from another partition) would make every real chunk of the file bad
// input. The version is dropped (one log line) and the caller starts it
// again from this chunk; a real last chunk comes again with the file's
// other chunks only if it was not committed, but a real last chunk never
// contradicts the file's real chunks.
func (e *Engine) relayoutLocked(f *partialFile, c *Chunk, chunkSize int64, checked bool) bool {
	if chunkSize == f.chunkSize || c.Index == c.Total || c.Total != f.total || c.Append != f.append || f.queued {
		return false
	}
	if _, onlyLast := f.have[f.total]; !onlyLast || len(f.have) != 1 {
		return false
	}
	if !checked && !chunkHashOK(c) {
		return false // a bad chunk overrides nothing
	}
	e.log.WithField("file", f.paths.Rel).Warnf(
		"the last chunk of %q (at offset %d) does not fit its other chunks of %d bytes; it is dropped and the file starts again from them",
		f.paths.Rel, (f.total-1)*f.chunkSize, chunkSize)
	e.discardLocked(f)
	return true
}

// closeDataLocked closes the file's data, after a barrier's fsync of it
// that runs without mu.
func (f *partialFile) closeDataLocked() {
	if f.data == nil {
		return
	}
	f.ioMu.Lock()
	f.data.Close()
	f.data = nil
	f.ioMu.Unlock()
}

// syncLocked makes the file's data, then its journal records, durable. A
// failed fsync poisons the engine (DurabilityError).
func (e *Engine) syncLocked(f *partialFile) error {
	if f.done {
		return nil
	}
	if f.data == nil {
		// Closed to stay within the bound, after its data was synced: only
		// journal records may be left, from a failed write.
		err := e.flushJournalLocked(f)
		f.closeHandlesLocked()
		return err
	}
	if err := f.data.Sync(); err != nil {
		return e.syncFailed(f.paths.Rel, err)
	}
	if f.hashedUpTo > 0 {
		// Durable and hashed: read again only if a chunk must be checked.
		dropCache(f.data, 0, f.hashedUpTo)
	}
	return e.flushJournalLocked(f)
}

// flushJournalLocked writes the pending records after the data they
// describe was synced, and syncs them.
func (e *Engine) flushJournalLocked(f *partialFile) error {
	return e.flushJournalPrefixLocked(f, len(f.pending))
}

// flushJournalPrefixLocked writes the first n bytes of pending records.
func (e *Engine) flushJournalPrefixLocked(f *partialFile, n int) error {
	if n == 0 || (f.total == 1 && !f.durable) {
		return nil
	}
	if err := e.openJournalLocked(f); err != nil {
		return err
	}
	if f.jsize == 0 {
		// A new journal, or one whose torn tail recovery cut off.
		if err := f.journal.Truncate(0); err != nil {
			return trouble("write journal of %q: %w", f.paths.Rel, err)
		}
	}
	// Written at the end of the good records: a torn write is overwritten
	// by the next attempt instead of garbling the journal.
	if _, err := f.journal.WriteAt(f.pending[:n], f.jsize); err != nil {
		return trouble("write journal of %q: %w", f.paths.Rel, err)
	}
	if err := f.journal.Sync(); err != nil {
		return e.syncFailed("journal of "+f.paths.Rel, err)
	}
	f.jsize += int64(n)
	f.pending = append(f.pending[:0], f.pending[n:]...)
	f.flushGen++
	return nil
}

// forgetLocked removes an entry from the engine's maps. e.mu is held.
func (e *Engine) forgetLocked(f *partialFile) {
	if e.files[f.paths.Rel] == f {
		delete(e.files, f.paths.Rel)
	}
	delete(e.dirty, f)
	delete(e.waiting, f)
	if f.lruElem != nil {
		e.lru.Remove(f.lruElem)
		f.lruElem = nil
	}
}

// discardLocked closes and removes a version's files. Its removal need not
// be durable: a version that comes back after a crash loses to the newer
// one again, or expires.
func (e *Engine) discardLocked(f *partialFile) {
	f.waitHashLocked()
	f.done = true
	f.releaseAllLocked()
	f.closeHandlesLocked()
	e.mu.Lock()
	e.forgetLocked(f)
	e.nameDirty = true
	e.mu.Unlock()
	if f.created || f.jsize > 0 {
		_ = e.fsys.Remove(f.partPath())
		_ = e.fsys.Remove(f.journalPath())
	}
}

// dropLocked gives up a file as bad input.
func (e *Engine) dropLocked(f *partialFile, why error) {
	e.stats.FilesRejected.Add(1)
	e.log.WithField("file", f.paths.Rel).Errorf("giving up %q: %v. It is skipped; upload it again once the cause is fixed", f.paths.Dest, why)
	e.discardLocked(f)
}
