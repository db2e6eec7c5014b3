package download

import (
	"cmp"
	"fmt"
	"path"
	"strconv"
	"sync"
)

// Publishing a verified file takes two fsyncs (its data, then its folder)
// and, for a multi-chunk file, a third (its journal). Done by the consumer
// that completed the file, they stalled that consumer for every file (most
// of the time per file in a folder of small files), and each folder fsync
// served a single file. Complete files are therefore handed to one
// publisher goroutine, which takes whatever has queued up as a batch:
// their data and journals are synced by a few workers at once, which the
// filesystem can serve with shared journal commits; they are renamed into
// place, and each folder is synced once for the whole batch. Each file
// still goes through the same steps in the same order (data synced,
// completion journaled, renamed, folder synced) before it counts as
// finished, and a barrier waits for the files queued before it, so no
// offset is committed before its file is durable.

// syncWorkers is how many data and journal fsyncs of one batch run at once.
const syncWorkers = 4

// Publishing steps a queued file has completed.
const (
	pubQueued  = iota // verified; dest and hashOK are set
	pubSynced         // data and completion record durable
	pubRenamed        // under its final name; its folder still to be synced
)

// queuePublishLocked hands a verified, complete file to the publisher.
func (a *assembler) queuePublishLocked(f *partialFile, dest string, ok bool) {
	f.queued = true
	f.dest = dest
	f.hashOK = ok
	f.pubStep = pubQueued
	a.mu.Lock()
	defer a.mu.Unlock()
	a.toPublish = append(a.toPublish, f)
	a.startPublisherLocked()
}

// startPublisherLocked starts the publisher unless it runs. a.mu is held.
func (a *assembler) startPublisherLocked() {
	if a.publishing || len(a.toPublish) == 0 {
		return
	}
	a.publishing = true
	a.publisherIdle = make(chan struct{})
	go a.publishLoop()
}

func (a *assembler) publishLoop() {
	for {
		a.mu.Lock()
		batch := a.toPublish
		a.toPublish = nil
		if len(batch) == 0 {
			a.publishing = false
			close(a.publisherIdle)
			a.mu.Unlock()
			return
		}
		a.mu.Unlock()
		failed, err := a.publishBatch(batch)
		if err != nil {
			a.mu.Lock()
			// Retried at the next barrier, which fails until then: no offset
			// past these files is committed.
			a.publishFailed = append(a.publishFailed, failed...)
			a.publishErr = err
			a.mu.Unlock()
		}
	}
}

// waitPublished requeues the files whose publishing failed, waits until
// every queued file is published or has failed again, and then returns an
// error if any has.
func (a *assembler) waitPublished() error {
	a.mu.Lock()
	a.toPublish = append(a.toPublish, a.publishFailed...)
	a.publishFailed = nil
	a.startPublisherLocked()
	for a.publishing {
		idle := a.publisherIdle
		a.mu.Unlock()
		<-idle
		a.mu.Lock()
	}
	defer a.mu.Unlock()
	if len(a.publishFailed) == 0 {
		a.publishErr = nil
		return nil
	}
	return a.publishErr
}

// publishBatch publishes files in three rounds: data and journals synced,
// renames, folders synced. It returns the files to try again and the first
// storage error.
func (a *assembler) publishBatch(batch []*partialFile) (failed []*partialFile, firstErr error) {
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
				if err := a.syncForPublish(f); err != nil {
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
		if err := a.renameForPublish(f); err != nil {
			fail(f, err)
			continue
		}
		f.mu.Lock()
		if !f.done && f.pubStep == pubRenamed {
			dir := path.Dir(f.dest)
			dirs[dir] = append(dirs[dir], f)
		}
		f.mu.Unlock()
	}

	for dir, files := range dirs {
		err := syncDir(a.root, dir)
		if err == nil && crashAt("publish:renamed") {
			err = errCrashed
		}
		for _, f := range files {
			if err != nil {
				fail(f, storageErr("sync folder of %q: %w", f.dest, err))
				continue
			}
			f.mu.Lock()
			if !f.done {
				a.finishPublishedLocked(f)
			}
			f.mu.Unlock()
		}
	}
	return failed, firstErr
}

// syncForPublish makes a queued file's data and completion record durable.
func (a *assembler) syncForPublish(f *partialFile) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.done || f.pubStep != pubQueued {
		return nil
	}
	if err := syncFile(f.data); err != nil {
		return storageErr("sync %q: %w", f.paths.rel, err)
	}
	if crashAt("publish:synced") {
		return errCrashed
	}
	if f.journal != nil {
		f.pending = fmt.Appendf(f.pending, "f %s\n", strconv.Quote(f.dest))
		if err := f.flushJournalLocked(); err != nil {
			return err
		}
	}
	if crashAt("publish:journaled") {
		return errCrashed
	}
	f.pubStep = pubSynced
	return nil
}

// renameForPublish puts a synced file under its final name. A path that no
// retry can make valid gives the file up.
func (a *assembler) renameForPublish(f *partialFile) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.done || f.pubStep != pubSynced {
		return nil
	}
	err := a.rename(f.partPath(), f.dest)
	if err == nil {
		f.pubStep = pubRenamed
		return nil
	}
	if !isPathConflict(err) {
		return storageErr("publish %q: %w", f.dest, err)
	}
	a.removeLocked(f)
	f.discard(a.root)
	a.log.WithField("file", f.paths.rel).Errorf("cannot publish %q, so it is dropped: %v", f.dest, err)
	return nil
}

func (a *assembler) finishPublishedLocked(f *partialFile) {
	a.finishLocked(f, f.dest, f.hashOK)
	if !f.hashOK {
		a.log.WithField("file", f.paths.rel).Warnf(
			"hash of %q does not match the uploaded file's hash after reconstruction; it was put in %s instead",
			f.paths.rel, f.dest)
		return
	}
	a.log.Infof("file %q reconstructed (%d bytes in %d chunks)", f.paths.dest, f.size, f.total)
}
