package storage

import "errors"

// takeDirty takes the files touched since the last barrier, for the
// barrier that begins. It must come before the barrier waits for the
// publisher: a file verified in the background leaves the dirty files for
// the publisher's queue at any time, and one that left after that wait and
// before the files were taken was in neither, so a barrier passed it
// without syncing its last chunk (TestBarrierCoversAFileVerifiedMeanwhile).
func (e *Engine) takeDirty() map[*partialFile]struct{} {
	e.mu.Lock()
	defer e.mu.Unlock()
	dirty := e.dirty
	e.dirty = make(map[*partialFile]struct{})
	return dirty
}

// giveBackDirty returns files taken by a barrier that failed.
func (e *Engine) giveBackDirty(dirty map[*partialFile]struct{}) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for f := range dirty {
		e.dirty[f] = struct{}{}
	}
}

// syncDurable is the part of a barrier that follows the publishing: the
// unfinished files touched since the last barrier get their data synced,
// then their journal records written and synced; the names created in the
// state folder are synced; then the published versions go on record, and
// only then may the journals of published files go (a crash before that
// replays the publish from the journal). dirty are the files taken with
// takeDirty when the barrier began. The caller holds barrierMu or, while
// recovering, has the engine to itself.
func (e *Engine) syncDurable(dirty map[*partialFile]struct{}) error {
	e.mu.Lock()
	lines := e.published.takePending()
	remove := e.toRemove
	e.toRemove = nil
	nameDirty := e.nameDirty
	e.nameDirty = false
	e.mu.Unlock()

	restore := func() {
		e.mu.Lock()
		for f := range dirty {
			e.dirty[f] = struct{}{}
		}
		e.published.pending = append(lines, e.published.pending...)
		e.toRemove = append(e.toRemove, remove...)
		e.nameDirty = e.nameDirty || nameDirty
		e.mu.Unlock()
	}

	var firstErr error
	for f := range dirty {
		f.mu.Lock()
		err := e.syncUnblockingLocked(f)
		f.mu.Unlock()
		if err != nil {
			if IsDurability(err) {
				return err
			}
			firstErr = err
			break
		}
	}
	if firstErr == nil && nameDirty {
		if err := e.fsys.SyncDir(PartialDir); err != nil {
			return e.syncFailed("folder "+PartialDir, err)
		}
	}
	if firstErr == nil && len(lines) > 0 {
		if err := e.published.write(lines); err != nil {
			var de *DurabilityError
			if errors.As(err, &de) {
				return e.syncFailed("the record of published files", de.Err)
			}
			firstErr = trouble("record published files: %w", err)
		}
	}
	if firstErr != nil {
		restore()
		return firstErr
	}
	e.mu.Lock()
	if e.published.needsCompaction() {
		if err := e.published.compact(); err != nil {
			e.log.Warnf("%v", err)
		}
	}
	e.mu.Unlock()
	for _, j := range remove {
		if err := e.fsys.Remove(j); err != nil && !isNotExist(err) {
			e.log.Warnf("remove journal %s: %v", j, err)
		}
	}
	return nil
}

// syncUnblockingLocked is syncLocked for the barrier. The data's fsync
// writes a second's worth of chunks to the disk; holding the file's lock
// meanwhile stopped every consumer with a chunk of the file (one 1 GiB
// file: 65-120 ms of each second). So it runs without the lock, and only
// the journal records of chunks written before it began are written after
// it; later ones wait for the next barrier. Called, and returns, with f.mu
// held.
func (e *Engine) syncUnblockingLocked(f *partialFile) error {
	if f.done || f.data == nil {
		return e.syncLocked(f)
	}
	data, n, gen := f.data, len(f.pending), f.flushGen
	f.ioMu.RLock() // f.data stays open
	f.mu.Unlock()
	err := data.Sync()
	f.ioMu.RUnlock()
	f.mu.Lock()
	if err != nil {
		return e.syncFailed(f.paths.Rel, err)
	}
	if f.done || f.flushGen != gen {
		// Finished, or its records were flushed by a path that synced the
		// data itself first.
		return nil
	}
	if f.data != nil && f.hashedUpTo > 0 {
		dropCache(f.data, 0, f.hashedUpTo)
	}
	return e.flushJournalPrefixLocked(f, n)
}
