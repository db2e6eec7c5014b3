package storage

import (
	"cmp"
	"fmt"
	"sync"
	"time"
)

// Publishing a verified file takes two fsyncs (its data, then its folder)
// and, for a multi-chunk file, a third (its journal). Complete files are
// handed to one publisher goroutine, which takes whatever has queued up as
// a batch: their data and journals are synced by a few workers at once,
// they are renamed into place, and each folder is synced once for the
// whole batch. A barrier waits for the files queued before it.
//
// One file never holds up the others (R2). A file that cannot be renamed
// into place because of something outside the program (the old version
// open in another program, a folder without rights) has its completion on
// record in its journal, so its offsets may be committed; it waits in the
// state folder and is tried again every RetryInterval until it is in
// place. A path that can never work is bad input: the file is dropped.
// Only trouble of the storage itself fails the barrier.

// syncWorkers is how many data and journal fsyncs of one batch run at once.
const syncWorkers = 4

// Publishing steps a queued file has completed.
const (
	pubQueued  = iota // verified; dest and hashOK are set
	pubSynced         // data and completion record durable
	pubRenamed        // under its final name; its folder still to be synced
)

// completeLocked verifies a complete file and queues it for publishing.
// If its hash fails, the chunks not yet proven are checked against their
// own hashes (proof.go): bad ones are dropped and the file waits for good
// copies; only a file whose chunks are all good is a mismatch. cur is the
// chunk being put (0: none).
func (e *Engine) completeLocked(f *partialFile, cur int64) (Outcome, error) {
	if err := f.waitHashLocked(); err != nil {
		return 0, err
	}
	if f.done || f.queued {
		return Duplicate, nil
	}
	// Waiting let makeRoom close it.
	if err := e.openLocked(f); err != nil {
		return 0, err
	}
	ok, err := f.verifyLocked()
	if err != nil {
		return 0, err
	}
	if !ok {
		bad, err := e.badChunksLocked(f)
		if err != nil {
			return 0, err
		}
		if len(bad) > 0 {
			return e.dropBadLocked(f, bad, cur)
		}
	}
	dest := f.paths.Dest
	if !ok {
		dest = MismatchDirName + "/" + f.paths.Dest
	}
	e.queuePublishLocked(f, dest, ok)
	if !ok {
		return Mismatch, nil
	}
	return Completed, nil
}

// queuePublishLocked hands a verified, complete file to the publisher.
func (e *Engine) queuePublishLocked(f *partialFile, dest string, ok bool) {
	f.queued = true
	f.dest = dest
	f.hashOK = ok
	if f.total > 1 || f.durable {
		f.pending = appendCompleteRecord(f.pending, journalComplete{Dest: dest, HashOK: ok})
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.dirty, f)
	e.toPublish = append(e.toPublish, f)
	e.startPublisherLocked()
}

// startPublisherLocked starts the publisher unless it runs. e.mu is held.
func (e *Engine) startPublisherLocked() {
	if e.publishing || len(e.toPublish) == 0 {
		return
	}
	e.publishing = true
	e.publisherIdle = make(chan struct{})
	go e.publishLoop()
}

func (e *Engine) publishLoop() {
	for {
		e.mu.Lock()
		batch := e.toPublish
		e.toPublish = nil
		if len(batch) == 0 {
			e.publishing = false
			close(e.publisherIdle)
			e.mu.Unlock()
			return
		}
		e.mu.Unlock()
		failed, err := e.publishBatch(batch)
		if err != nil {
			e.mu.Lock()
			e.publishFailed = append(e.publishFailed, failed...)
			e.publishErr = err
			e.mu.Unlock()
		}
	}
}

// waitPublished requeues the files whose publishing met storage trouble,
// waits until every queued file is published, waiting or has failed again,
// and returns an error if any has failed.
func (e *Engine) waitPublished() error {
	e.mu.Lock()
	e.toPublish = append(e.toPublish, e.publishFailed...)
	e.publishFailed = nil
	e.startPublisherLocked()
	for e.publishing {
		idle := e.publisherIdle
		e.mu.Unlock()
		<-idle
		e.mu.Lock()
	}
	defer e.mu.Unlock()
	if len(e.publishFailed) == 0 {
		e.publishErr = nil
		return nil
	}
	return e.publishErr
}

// retryWaiting queues the files waiting to be put in place again.
func (e *Engine) retryWaiting() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for f := range e.waiting {
		e.toPublish = append(e.toPublish, f)
	}
	clear(e.waiting)
	e.startPublisherLocked()
}

// StartRetries tries the files waiting to be put in place every
// RetryInterval, and gives up unfinished files after ExpireAfter (checked
// every hour), until Close.
func (e *Engine) StartRetries() {
	e.Expire(e.opts.ExpireAfter)
	e.stopRetry = make(chan struct{})
	e.retryDone = make(chan struct{})
	go func() {
		defer close(e.retryDone)
		t := time.NewTicker(e.opts.RetryInterval)
		defer t.Stop()
		expiry := time.NewTicker(min(time.Hour, max(e.opts.ExpireAfter/4, time.Second)))
		defer expiry.Stop()
		for {
			select {
			case <-e.stopRetry:
				return
			case <-t.C:
				e.retryWaiting()
			case <-expiry.C:
				e.Expire(e.opts.ExpireAfter)
			}
		}
	}()
}

// publishBatch publishes files in three rounds: data and journals synced,
// renames, folders synced. It returns the files to try again and the first
// storage error.
func (e *Engine) publishBatch(batch []*partialFile) (failed []*partialFile, firstErr error) {
	var mu sync.Mutex // guards failed and firstErr in the first round
	fail := func(f *partialFile, err error) {
		mu.Lock()
		failed = append(failed, f)
		firstErr = cmp.Or(firstErr, err)
		mu.Unlock()
	}

	work := make(chan *partialFile)
	var wg sync.WaitGroup
	for range min(syncWorkers, len(batch)) {
		wg.Go(func() {
			for f := range work {
				if err := e.syncForPublish(f); err != nil {
					fail(f, err)
				}
			}
		})
	}
	for _, f := range batch {
		work <- f
	}
	close(work)
	wg.Wait()

	dirs := make(map[string][]*partialFile)
	for _, f := range batch {
		if err := e.renameForPublish(f); err != nil {
			fail(f, err)
			continue
		}
		f.mu.Lock()
		if !f.done && f.pubStep == pubRenamed {
			dir := parentDir(f.dest)
			dirs[dir] = append(dirs[dir], f)
		}
		f.mu.Unlock()
	}

	// A rename between folders is durable once both are synced: the
	// destinations, and the state folder the files left (POSIX promises no
	// more, whatever ext4 does).
	var srcErr error
	if len(dirs) > 0 {
		if err := e.fsys.SyncDir(PartialDir); err != nil {
			srcErr = e.syncFailed("folder "+PartialDir, err)
		}
	}
	for dir, files := range dirs {
		err := srcErr
		if err == nil {
			if err = e.fsys.SyncDir(dir); err != nil {
				err = e.syncFailed("folder "+dir, err)
			}
		}
		for _, f := range files {
			if err != nil {
				fail(f, err)
				continue
			}
			f.mu.Lock()
			if !f.done {
				e.finishLocked(f)
			}
			f.mu.Unlock()
		}
	}
	return failed, firstErr
}

// syncForPublish makes a queued file's data durable and then closes it
// (nothing may be renamed while the program holds it open: Windows refuses
// that outside NTFS), and puts its completion on record.
func (e *Engine) syncForPublish(f *partialFile) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.done || f.pubStep != pubQueued {
		return nil
	}
	if f.data != nil {
		if err := f.data.Sync(); err != nil {
			return e.syncFailed(f.paths.Rel, err)
		}
		dropCache(f.data, 0, 0)
		f.closeDataLocked()
	}
	if f.total > 1 || f.durable {
		if err := e.flushJournalLocked(f); err != nil {
			return err
		}
		f.durable = true
		if f.journal != nil {
			f.journal.Close()
			f.journal = nil
		}
	}
	e.mu.Lock()
	if f.lruElem != nil {
		e.lru.Remove(f.lruElem)
		f.lruElem = nil
	}
	e.mu.Unlock()
	f.pubStep = pubSynced
	return nil
}

// renameForPublish puts a synced file under its final name.
func (e *Engine) renameForPublish(f *partialFile) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.done || f.pubStep != pubSynced {
		return nil
	}
	e.mu.Lock()
	pub, ok := e.published.get(f.paths.Rel)
	e.mu.Unlock()
	if ok && !pub.same(f.version) && pub.newerThan(f.version) {
		// A newer version was put in place while this one waited.
		e.stats.VersionsDropped.Add(1)
		e.log.WithField("file", f.paths.Rel).Warnf("dropping an older version of %q (hash %x...): a newer one is already in place", f.paths.Rel, f.version.hash[:4])
		e.discardLocked(f)
		return nil
	}
	err := e.mkdirAllDurable(parentDir(f.dest))
	if IsDurability(err) {
		return err
	}
	if err == nil {
		err = e.fsys.Rename(f.partPath(), f.dest)
	}
	if err == nil {
		f.pubStep = pubRenamed
		if f.waitReason != "" {
			e.log.WithField("file", f.paths.Rel).Infof("%q is now in place (it waited since %s)", f.dest, f.waitSince.Format(time.DateTime))
		}
		return nil
	}
	switch classify(err) {
	case kindBadInput:
		e.dropLocked(f, fmt.Errorf("cannot put it in place: %w", err))
		return nil
	case kindObstacle:
		return e.waitLocked(f, err)
	}
	return trouble("put %q in place: %w", f.dest, err)
}

// waitLocked keeps a complete file in the state folder until it can be put
// in place. Its completion goes on record first, so that offsets past it
// may be committed.
func (e *Engine) waitLocked(f *partialFile, cause error) error {
	if !f.durable {
		f.durable = true
		f.pending = appendHeaderRecord(nil, f.header())
		f.pending = appendCompleteRecord(f.pending, journalComplete{Dest: f.dest, HashOK: f.hashOK})
		err := e.flushJournalLocked(f)
		if f.journal != nil {
			f.journal.Close()
			f.journal = nil
		}
		if err != nil {
			f.durable = false
			return err
		}
	}
	if f.waitReason == "" {
		f.waitSince = e.opts.Now()
		e.log.WithField("file", f.paths.Rel).Warnf(
			"%q is complete and verified but cannot be put in place: %v; %s. It is kept in %s meanwhile, and other files go on",
			f.dest, cause, obstacleHint(cause), PartialDir)
	} else {
		e.log.WithField("file", f.paths.Rel).Debugf("%q is still blocked: %v", f.dest, cause)
	}
	f.waitReason = obstacleHint(cause)
	e.mu.Lock()
	e.waiting[f] = struct{}{}
	e.nameDirty = true
	e.mu.Unlock()
	return nil
}

func (f *partialFile) waitingInfo() *WaitingFile {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.waitReason == "" || f.done {
		return nil
	}
	return &WaitingFile{Path: f.dest, Reason: f.waitReason, Since: f.waitSince}
}

// finishLocked records a published file and forgets its in-progress state.
func (e *Engine) finishLocked(f *partialFile) {
	f.done = true
	f.releaseAllLocked()
	f.closeHandlesLocked()
	e.mu.Lock()
	defer e.mu.Unlock()
	e.forgetLocked(f)
	e.published.add(f.paths.Rel, f.version)
	if f.total > 1 || f.durable {
		e.toRemove = append(e.toRemove, f.journalPath())
	}
	if !f.hashOK {
		e.stats.FilesMismatched.Add(1)
		e.log.WithField("file", f.paths.Rel).Warnf(
			"hash of %q does not match the uploaded file's hash after reconstruction; it was put in %s instead",
			f.paths.Rel, f.dest)
		return
	}
	e.stats.FilesCompleted.Add(1)
	e.recent = append(e.recent, f.paths.Dest)
	if len(e.recent) > RecentLimit {
		e.recent = e.recent[len(e.recent)-RecentLimit:]
	}
	e.log.Infof("file %q reconstructed (%s in %s)", f.paths.Dest, plural(f.size, "byte"), plural(f.total, "chunk"))
}

func plural(n int64, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}
