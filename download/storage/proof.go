package storage

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/openmsi/datafiledownloaddirectory/internal/sha512x"
)

// Chunk proofs: one SHA-512 pass per byte.
//
// An uploader sends two SHA-512s, each chunk's and the whole file's. The
// whole-file hash is computed anyway, as the chunks stream in, and a file
// whose hash matches holds exactly the bytes the uploader hashed: every
// chunk in it is proven without hashing it a second time. So a chunk is
// checked against its own hash only where that can change the outcome:
//
//   - the first chunk of a version, because its length fixes the layout
//     (the chunk size) that every later chunk must tile;
//   - the last chunk of a multi-chunk file, because its length fixes the
//     file's size, so a dropped chunk never leaves the file too long;
//   - a duplicate of a chunk not yet proven: the copy is checked and
//     compared with the stored one, and replaces it if the stored one is
//     bad (a good copy is never thrown away while it may be the only one);
//   - a single-chunk file whose chunk hash differs from its file hash (for
//     one whose hashes are equal, the file hash is the chunk check);
//   - every chunk not yet proven, against the hash recorded in the journal,
//     when the file hash fails: the bad ones are dropped and the file waits
//     for good copies, as if their messages had been skipped; only when
//     every chunk matches its own hash is the file a hash mismatch.
//
// The offset rule. A message's offset is committed once its chunk is
// durable (data synced, then its journal record with its chunk hash),
// proven or not. That is safe because eager checking would have committed
// past a bad chunk too (skipped as bad input): committing never loses a
// good chunk as long as a good copy is never discarded while the stored
// copy is unproven, which the duplicate rule ensures. A bad chunk that was
// committed is found by the file hash, from the journal's record of its
// chunk hash, also after a restart; none reaches a published file, and
// HASH_MISMATCHES gets exactly the files whose chunks all match their own
// hashes but not the file hash, as before. One outcome differs, for the
// better: a chunk with good data but a garbled chunk_hash field, which
// eager checking skipped, completes its file when the file hash matches.

// errCheckFirst asks Put to check a chunk before it starts a version entry.
var errCheckFirst = errors.New("check the chunk first")

// ChunkHashError is a chunk whose data does not match its chunk hash: bad
// input, to be skipped.
type ChunkHashError struct{ Index, Total int64 }

func (e *ChunkHashError) Error() string {
	return fmt.Sprintf("chunk %d/%d: chunk data does not match its SHA-512 chunk_hash", e.Index, e.Total)
}

func chunkHashOK(c *Chunk) bool {
	sum := sha512x.Sum512(c.Data)
	return bytes.Equal(sum[:], c.ChunkHash)
}

// checkedEarly says whether a chunk is checked against its chunk hash
// whatever the state of its file.
func checkedEarly(c *Chunk) bool {
	if c.Total == 1 {
		return !bytes.Equal(c.ChunkHash, c.FileHash)
	}
	return c.Index == c.Total
}

// needsProofLocked says whether an unchecked chunk must be checked before
// the file takes it.
func (f *partialFile) needsProofLocked(c *Chunk) bool {
	if checkedEarly(c) {
		return true
	}
	if c.Total > 1 && len(f.have) == 0 {
		// The entry's layout came from a checked chunk not yet stored, or
		// from the journal: check this one anyway, rather than reason
		// about which.
		return true
	}
	if _, ok := f.have[c.Index]; ok && !f.queued {
		_, proven := f.proven[c.Index]
		return !proven
	}
	return false
}

// abandonIfEmpty forgets a version entry that a bad chunk made and nothing
// else uses.
func (e *Engine) abandonIfEmpty(f *partialFile) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.done || len(f.have) != 0 || f.created {
		return
	}
	f.done = true
	e.mu.Lock()
	e.forgetLocked(f)
	e.mu.Unlock()
}

// settleDuplicateLocked handles a checked, good copy of a chunk that is
// stored but not proven: equal bytes prove the stored copy; different ones
// mean the stored copy is bad, and the good copy replaces it. retry means
// the file changed while its hash goroutine was waited for: look again.
func (e *Engine) settleDuplicateLocked(f *partialFile, c *Chunk) (out Outcome, retry bool, err error) {
	if f.total == 1 {
		// Not yet published: its offset was not committed, and a single
		// chunk has no journal, so it simply starts again from this copy.
		e.discardLocked(f)
		return 0, true, nil
	}
	if err := e.openLocked(f); err != nil {
		return 0, false, err
	}
	same, err := f.storedEqualsLocked(c)
	if err != nil {
		return 0, false, err
	}
	if same {
		f.proven[c.Index] = struct{}{}
		return Duplicate, false, nil
	}
	// Nothing may read the chunk while it is rewritten. Waiting lets other
	// consumers in: the file may have been settled, verified, or had the
	// bad chunk dropped meanwhile (then this copy is stored afresh).
	_ = f.waitHashLocked()
	if f.done {
		return 0, true, nil
	}
	if _, stored := f.have[c.Index]; !stored {
		return 0, true, nil
	}
	if _, proven := f.proven[c.Index]; proven || f.queued {
		return Duplicate, false, nil
	}
	if err := e.openLocked(f); err != nil { // waiting may have let it be closed
		return 0, false, err
	}
	if _, err := f.data.WriteAt(c.Data, c.Offset); err != nil {
		return 0, false, trouble("write chunk %d of %q: %w", c.Index, f.paths.Rel, err)
	}
	if c.Offset < f.hashedUpTo {
		f.resetHashLocked()
	} else if _, ok := f.retained[c.Offset]; ok {
		f.retained[c.Offset] = c.Data // same length: only the last chunk may differ, and it is proven
	}
	f.proven[c.Index] = struct{}{}
	f.pending = appendChunkRecord(f.pending, c.Index, c.Offset, int64(len(c.Data)), c.ChunkHash)
	f.lastChunk = e.opts.Now()
	e.log.WithField("file", f.paths.Rel).Warnf(
		"chunk %d of %q stored earlier does not match this good copy: the earlier message was bad; replaced", c.Index, f.paths.Rel)
	e.stats.ChunksCorrupt.Add(1)
	e.stats.BytesCorrupt.Add(int64(len(c.Data)))
	e.mu.Lock()
	e.dirty[f] = struct{}{}
	e.mu.Unlock()
	return Written, false, nil
}

// storedEqualsLocked compares a chunk with the copy stored at its offset.
func (f *partialFile) storedEqualsLocked(c *Chunk) (bool, error) {
	if d, ok := f.retained[c.Offset]; ok {
		return bytes.Equal(d, c.Data), nil
	}
	buf := make([]byte, len(c.Data))
	if err := f.readBackLocked(buf, c.Offset, c.Index); err != nil {
		return false, err
	}
	return bytes.Equal(buf, c.Data), nil
}

// readBackLocked reads a stored chunk, trying a failed read again as
// hashFromDisk does: a transient read error is never a verdict on a chunk.
func (f *partialFile) readBackLocked(buf []byte, off, idx int64) error {
	var err error
	for attempt := range readRetries {
		if attempt > 0 {
			time.Sleep(readRetryDelay)
		}
		if _, err = f.data.ReadAt(buf, off); err == nil {
			return nil
		}
	}
	return trouble("read back chunk %d of %q: %w", idx, f.paths.Rel, err)
}

// resetHashLocked starts the whole-file hash again from the first byte,
// from the partial file. No hash goroutine may be running.
func (f *partialFile) resetHashLocked() {
	f.hasher.Reset()
	f.hashedUpTo = 0
	f.releaseAllLocked()
	clear(f.unhashed)
	for idx := range f.have {
		off := (idx - 1) * f.chunkSize
		n := f.chunkSize
		if idx == f.total {
			n = f.size - off
		}
		f.unhashed[off] = n
	}
}

// badChunksLocked checks every chunk not yet proven against the chunk hash
// its journal records, after the file hash failed.
func (e *Engine) badChunksLocked(f *partialFile) ([]int64, error) {
	if f.total == 1 {
		if _, ok := f.proven[1]; ok {
			return nil, nil
		}
		return []int64{1}, nil // its chunk hash is the file hash, which failed
	}
	hashes, err := e.recordedHashesLocked(f)
	if err != nil {
		return nil, err
	}
	var bad []int64
	for idx := range f.have {
		if _, ok := f.proven[idx]; ok {
			continue
		}
		off := (idx - 1) * f.chunkSize
		n := f.chunkSize
		if idx == f.total {
			n = f.size - off
		}
		buf := make([]byte, n)
		if err := f.readBackLocked(buf, off, idx); err != nil {
			return nil, err
		}
		sum := sha512x.Sum512(buf)
		if !bytes.Equal(sum[:], hashes[idx]) {
			bad = append(bad, idx)
		}
	}
	return bad, nil
}

// recordedHashesLocked reads the chunk hashes the journal records, the
// latest record of a chunk winning (a bad chunk replaced by a good copy has
// two, and one dropped has a drop record).
func (e *Engine) recordedHashesLocked(f *partialFile) (map[int64][]byte, error) {
	if err := e.openJournalLocked(f); err != nil {
		return nil, err
	}
	raw := make([]byte, f.jsize, f.jsize+int64(len(f.pending)))
	if f.jsize > 0 {
		if _, err := f.journal.ReadAt(raw, 0); err != nil {
			return nil, trouble("read the journal of %q: %w", f.paths.Rel, err)
		}
	}
	j, err := parseJournal(append(raw, f.pending...))
	if err != nil {
		return nil, trouble("read the journal of %q: %w", f.paths.Rel, err)
	}
	hashes := make(map[int64][]byte, len(j.chunks))
	for idx, c := range j.stored() {
		hashes[idx] = c.hash
	}
	return hashes, nil
}

// dropBadLocked forgets chunks found bad after the file hash failed: the
// file waits for good copies of them. The chunk being put, cur, is
// reported to its caller as bad input; the others came in messages that
// were already handled, and are counted here.
func (e *Engine) dropBadLocked(f *partialFile, bad []int64, cur int64) (Outcome, error) {
	curBad := false
	for _, idx := range bad {
		delete(f.have, idx)
		if f.total > 1 {
			// So that a restart does not find it again.
			f.pending = appendDropRecord(f.pending, idx)
		}
		if idx == cur {
			curBad = true
			continue
		}
		n := f.chunkSize
		if idx == f.total {
			n = f.size - (idx-1)*f.chunkSize
		}
		e.stats.ChunksCorrupt.Add(1)
		e.stats.BytesCorrupt.Add(n)
		e.log.WithField("file", f.paths.Rel).Warnf(
			"chunk %d of %q does not match its SHA-512 chunk_hash (found when the file hash failed): the message that brought it was bad; waiting for another copy",
			idx, f.paths.Rel)
	}
	f.received.Store(int64(len(f.have)))
	if _, ok := f.have[f.total]; !ok {
		// Its good copy sets the size again (the last chunk is checked
		// before it is stored, so only a damaged disk gets here).
		f.size = min(f.size, (f.total-1)*f.chunkSize)
	}
	if f.total == 1 {
		e.discardLocked(f)
	} else {
		f.resetHashLocked()
		e.mu.Lock()
		e.dirty[f] = struct{}{}
		e.mu.Unlock()
	}
	if curBad {
		return 0, &ChunkHashError{Index: cur, Total: f.total}
	}
	return Written, nil
}
