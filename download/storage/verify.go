package storage

// A file of several chunks is verified in the background once its last
// chunk is stored. The consumer that stored that chunk used to wait for
// the whole-file hash to catch up and check it: on 64 files of 16 MiB the
// two consumers spent 1.3 s of a 2.4 s run waiting so, while one core
// hashed and the other was a third idle. Now they go on reading the
// chunks of other files, whose hashes run meanwhile.
//
// Nothing about durability changes: until it is verified and queued for
// publishing, a complete file stays among the dirty files, so a barrier
// makes its chunks durable and their offsets may be committed, as for any
// unfinished file; after a crash, recovery verifies it. A verification that
// meets storage trouble is tried again by the next barrier, which fails
// until it succeeds, so no offset is committed while it fails.
//
// Single-chunk files are still verified by their consumer: their hash is
// the consumer's own work either way, and they have no journal to keep
// their chunk durable until a background verification ends.

// maxVerifying bounds the files verified in the background at once. Past
// it the consumer that completes a file verifies it itself, which holds
// consumption to the pace of hashing, as before.
const maxVerifying = 8

// verifyLaterLocked hands a complete file of several chunks to a goroutine
// that verifies and queues it, and reports whether it did. lastBytes is the
// length of the chunk that completed it.
func (e *Engine) verifyLaterLocked(f *partialFile, lastBytes int64) bool {
	if f.total == 1 {
		return false
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.verifying >= maxVerifying {
		return false
	}
	if e.verifying == 0 {
		e.verifyIdle = make(chan struct{})
	}
	e.verifying++
	e.dirty[f] = struct{}{}
	f.verifying = true
	f.lastBytes = lastBytes
	go e.verifyInBackground(f)
	return true
}

func (e *Engine) verifyInBackground(f *partialFile) {
	err := e.verify(f, false)
	f.mu.Lock()
	f.verifying = false
	f.mu.Unlock()
	e.mu.Lock()
	defer e.mu.Unlock()
	if err != nil {
		e.verifyFailed = append(e.verifyFailed, f)
	}
	e.verifying--
	if e.verifying == 0 {
		close(e.verifyIdle)
	}
}

// verify checks a complete file against its hash and queues it, unless it
// was queued, superseded or dropped meanwhile, or, for a retry, is being
// verified in the background again. A mismatch found so is
// counted as late: Put said Completed for the chunk that completed the
// file, and the downloader takes that message off its processed ones, as
// it does when Put says Mismatch.
func (e *Engine) verify(f *partialFile, retry bool) error {
	f.mu.Lock()
	if f.done || f.queued || (retry && f.verifying) || int64(len(f.have)) != f.total {
		f.mu.Unlock()
		return nil
	}
	var out Outcome
	err := e.openLocked(f) // makeRoom may have closed it since
	if err == nil {
		f.hashRestLocked()
		out, err = e.completeLocked(f, 0)
	}
	lastBytes := f.lastBytes
	f.mu.Unlock()
	if out == Mismatch {
		e.stats.LateMismatchChunks.Add(1)
		e.stats.LateMismatchBytes.Add(lastBytes)
	}
	return err
}

// hashRestLocked feeds the whole-file hash with what is left of a complete
// file, releasing f.mu while each chunk is hashed (hashLoop): a barrier
// needs the lock to sync the file, and on a large file that arrived out of
// order what is left can take seconds.
func (f *partialFile) hashRestLocked() {
	if f.hashing || f.done {
		return
	}
	f.hashing = true
	f.hashDone = make(chan struct{})
	f.mu.Unlock()
	f.hashLoop() // takes f.mu and releases it
	f.mu.Lock()
}

// WaitVerified waits until the files being verified in the background are
// verified and queued for publishing; a Barrier after it puts them in
// place. The downloader calls it before its last barrier, so that a
// complete file is in place when the program stops.
func (e *Engine) WaitVerified() {
	e.mu.Lock()
	for e.verifying > 0 {
		idle := e.verifyIdle
		e.mu.Unlock()
		<-idle
		e.mu.Lock()
	}
	e.mu.Unlock()
}

// retryVerifications verifies again the complete files whose background
// verification met storage trouble. Called by Barrier.
func (e *Engine) retryVerifications() error {
	e.mu.Lock()
	failed := e.verifyFailed
	e.verifyFailed = nil
	e.mu.Unlock()
	for i, f := range failed {
		if err := e.verify(f, true); err != nil {
			e.mu.Lock()
			e.verifyFailed = append(e.verifyFailed, failed[i:]...)
			e.mu.Unlock()
			return err
		}
	}
	return nil
}
