package storage

import (
	"time"
)

// DefaultExpiry is how long an unfinished file waits for its next chunk
// before it is given up. An upload whose last chunks never come (the
// uploader was stopped for good, its messages were deleted by retention)
// would otherwise keep its partial data forever.
const DefaultExpiry = 7 * 24 * time.Hour

// Expire gives up the unfinished files that have had no new chunk for
// maxAge: their partial data and journal are removed, with one log line
// each. Complete files waiting to be put in place never expire. It returns
// how many files it gave up.
func (e *Engine) Expire(maxAge time.Duration) int {
	if maxAge <= 0 {
		return 0
	}
	now := e.opts.Now()
	e.mu.Lock()
	var old []*partialFile
	for _, f := range e.files {
		old = append(old, f)
	}
	e.mu.Unlock()
	n := 0
	for _, f := range old {
		f.mu.Lock()
		if !f.done && !f.queued && now.Sub(f.lastChunk) > maxAge {
			e.stats.FilesExpired.Add(1)
			e.log.WithField("file", f.paths.Rel).Warnf(
				"giving up %q: no new chunk for %s (%d of %d chunks received since %s); its partial data is removed",
				f.paths.Dest, now.Sub(f.lastChunk).Round(time.Minute), len(f.have), f.total, f.lastChunk.Format(time.DateTime))
			e.discardLocked(f)
			n++
		}
		f.mu.Unlock()
	}
	return n
}
