package download

// maxRetainedBytes bounds the chunk data, across all files, kept in memory
// for the whole-file hash. A chunk that does not fit is hashed from the
// partial file instead (the page cache, usually), so the bound costs a copy,
// never correctness.
const maxRetainedBytes = 4 << 20

// The whole-file SHA-512 is the program's single largest cost, and it is
// sequential within a file. Computing it in the consumer, under the file's
// lock, made every other consumer with a chunk of that file wait, and kept
// two cores from hashing at once. Instead each file has at most one hash
// goroutine at a time, started when a stored chunk continues the hashed
// prefix; it hashes without the file's lock, and the consumer that
// completes the file waits for it before verifying.

// queueHashLocked records a stored chunk for the whole-file hash and starts
// the file's hash goroutine if the chunk continues the hashed prefix.
func (f *partialFile) queueHashLocked(c *Chunk) {
	f.unhashed[c.Offset] = int64(len(c.Data))
	n := int64(len(c.Data))
	if f.budget.Add(n) <= maxRetainedBytes {
		if f.retained == nil {
			f.retained = make(map[int64][]byte)
		}
		f.retained[c.Offset] = c.Data
	} else {
		f.budget.Add(-n)
	}
	if int64(len(f.have)) == f.total {
		// The file is complete: its last consumer hashes what is left
		// itself (publishLocked), which for a single-chunk file saves a
		// goroutine per file.
		return
	}
	if _, ok := f.unhashed[f.hashedUpTo]; ok && !f.hashing {
		f.hashing = true
		f.hashDone = make(chan struct{})
		go f.hashLoop()
	}
}

// hashLoop feeds the hash with the chunks that continue the hashed prefix
// until there are none, the file is finished or abandoned, or reading one
// back fails; that error is kept for the consumer that completes the file.
// While f.hashing is set, only this goroutine touches f.hasher.
func (f *partialFile) hashLoop() {
	f.mu.Lock()
	defer func() {
		f.hashing = false
		close(f.hashDone)
		f.mu.Unlock()
	}()
	for !f.done && f.hashErr == nil {
		off := f.hashedUpTo
		n, ok := f.unhashed[off]
		if !ok {
			return
		}
		data := f.retained[off]
		f.mu.Unlock()
		var err error
		if data != nil {
			f.hasher.Write(data)
		} else {
			// Stored chunks are never rewritten, so reading one while
			// consumers write others is safe.
			err = f.hashFromDisk(off, n)
		}
		f.mu.Lock()
		if err != nil {
			f.hashErr = err
			return
		}
		f.releaseLocked(off)
		delete(f.unhashed, off)
		f.hashedUpTo += n
	}
}

// waitHashLocked waits for the file's hash goroutine to stop. It releases
// f.mu while waiting, so the caller must check f.done again afterwards.
func (f *partialFile) waitHashLocked() error {
	for f.hashing {
		done := f.hashDone
		f.mu.Unlock()
		<-done
		f.mu.Lock()
	}
	err := f.hashErr
	// A later attempt (a redelivered chunk) reads back from the disk again.
	f.hashErr = nil
	return err
}

func (f *partialFile) releaseLocked(off int64) {
	if d, ok := f.retained[off]; ok {
		f.budget.Add(-int64(len(d)))
		delete(f.retained, off)
	}
}

// releaseAllLocked gives back the memory of a file that is finished or
// abandoned.
func (f *partialFile) releaseAllLocked() {
	for off := range f.retained {
		f.releaseLocked(off)
	}
}
