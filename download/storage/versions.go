package storage

import (
	"bytes"
	"errors"
	"fmt"
	"time"
)

// Versions. A path may be uploaded many times; each upload is a version,
// named by its file hash. Versions are ordered by when the uploader
// produced them: the Kafka timestamp (CreateTime, which a producer's retry
// keeps) of the version's first chunk seen, then the file's mtime. So a
// late duplicate of an old version, even one that comes after a newer
// version started, never displaces it, and a file uploaded again from a
// backup (old mtime) is still the newer version. A chunk count says
// nothing about age.

// version is what orders one version of a path.
type version struct {
	hash     []byte
	produced int64 // Unix milliseconds; 0 when unknown
	mtime    float64
}

func unixMilli(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// newerThan says whether v was produced after w. Unknown times compare as
// equal, and two versions that cannot be told apart keep the one seen
// first: a newcomer must prove it is newer.
func (v version) newerThan(w version) bool {
	if v.produced != 0 && w.produced != 0 && v.produced != w.produced {
		return v.produced > w.produced
	}
	if v.mtime > 0 && w.mtime > 0 && v.mtime != w.mtime {
		return v.mtime > w.mtime
	}
	return false
}

func (v version) same(w version) bool { return bytes.Equal(v.hash, w.hash) }

// impliedChunkSize checks that a chunk can tile its file (offset =
// (index-1) x C, every chunk but the last exactly C long, the last at most
// C) and returns C. Anything else is bad input: it would make files grow
// past what their chunks cover.
func impliedChunkSize(c *Chunk) (int64, error) {
	n := int64(len(c.Data))
	switch {
	case len(c.FileHash) != hashSize || len(c.ChunkHash) != hashSize:
		return 0, errors.New("file or chunk hash has the wrong length")
	case c.Total < 1 || c.Total > MaxChunksPerFile:
		return 0, fmt.Errorf("n_total_chunks %d is out of range", c.Total)
	case c.Index < 1 || c.Index > c.Total:
		return 0, fmt.Errorf("chunk_i %d is out of range 1..%d", c.Index, c.Total)
	case n == 0:
		return 0, errors.New("chunk has no data")
	}
	var size int64
	switch {
	case c.Index < c.Total:
		size = n
		if c.Offset != (c.Index-1)*size {
			return 0, fmt.Errorf("chunk %d of %d is %d bytes long, so its offset must be %d, not %d", c.Index, c.Total, n, (c.Index-1)*size, c.Offset)
		}
	case c.Total == 1:
		size = n
		if c.Offset != 0 {
			return 0, fmt.Errorf("the only chunk of a file must be at offset 0, not %d", c.Offset)
		}
	default:
		if c.Offset <= 0 || c.Offset%(c.Total-1) != 0 {
			return 0, fmt.Errorf("last chunk %d at offset %d does not follow %d chunks of one size", c.Index, c.Offset, c.Total-1)
		}
		size = c.Offset / (c.Total - 1)
		if n > size {
			return 0, fmt.Errorf("last chunk is %d bytes long, longer than the chunk size %d", n, size)
		}
	}
	if size > MaxChunkSize || (c.Total-1)*size+n > MaxFileSize {
		return 0, fmt.Errorf("chunk size %d for %d chunks is out of range", size, c.Total)
	}
	return size, nil
}

// fitsLocked checks a chunk against the version it belongs to.
func (f *partialFile) fitsLocked(c *Chunk, chunkSize int64) error {
	switch {
	case c.Total != f.total:
		return fmt.Errorf("chunk says the file has %d chunks, but earlier chunks with the same file hash said %d", c.Total, f.total)
	case c.Append != f.append:
		return fmt.Errorf("chunk has filename_append %q, but earlier chunks of the file had %q", c.Append, f.append)
	case chunkSize != f.chunkSize:
		return fmt.Errorf("chunk %d implies chunks of %d bytes, but earlier chunks of the file are %d bytes", c.Index, chunkSize, f.chunkSize)
	}
	return nil
}

// lookup finds the version entry a chunk belongs to, applying the version
// rules; it returns a nil entry with the outcome when the chunk needs none,
// and errCheckFirst when an unchecked chunk would start an entry.
func (e *Engine) lookup(c *Chunk, chunkSize int64, checked bool) (*partialFile, Outcome, error) {
	incoming := version{hash: c.FileHash, produced: unixMilli(c.Produced), mtime: c.Mtime}
	rel := c.Paths.Rel
	for {
		e.mu.Lock()
		f := e.files[rel]
		if f != nil && f.version.same(incoming) {
			e.mu.Unlock()
			return f, 0, nil
		}
		pub, isPublished := e.published.get(rel)
		if f == nil && isPublished && pub.same(incoming) {
			e.mu.Unlock()
			// A late duplicate of the published version must not start a
			// file that can never complete. Only if the user removed the
			// file since is it rebuilt.
			if e.exists(c.Paths.Dest) || e.exists(MismatchDirName+"/"+c.Paths.Dest) {
				return nil, Duplicate, nil
			}
			e.mu.Lock()
			if e.files[rel] != nil {
				e.mu.Unlock()
				continue
			}
		} else if isPublished && pub.same(incoming) {
			// Published, and an older or newer version is in progress:
			// either way this chunk adds nothing.
			e.mu.Unlock()
			return nil, Duplicate, nil
		} else {
			newest, have := pub, isPublished
			if f != nil && (!have || f.version.newerThan(newest)) {
				newest, have = f.version, true
			}
			if have && !incoming.newerThan(newest) {
				e.staleLocked(c, newest)
				e.mu.Unlock()
				return nil, Stale, nil
			}
			if !checked && c.Total > 1 {
				// A bad chunk must not supersede anything (proof.go).
				e.mu.Unlock()
				return nil, 0, errCheckFirst
			}
			if f != nil {
				// The chunk's version is newer than the one in progress
				// (or waiting to be put in place): that one is superseded.
				e.forgetLocked(f)
				e.mu.Unlock()
				e.supersede(f, incoming)
				e.mu.Lock()
				if e.files[rel] != nil {
					e.mu.Unlock()
					continue
				}
			}
		}
		if !checked && c.Total > 1 {
			// The new entry's layout would come from this chunk (proof.go).
			e.mu.Unlock()
			return nil, 0, errCheckFirst
		}
		nf := e.newPartial(c, chunkSize, incoming)
		e.files[rel] = nf
		e.mu.Unlock()
		return nf, 0, nil
	}
}

// staleLocked reports, once per version, that its chunks come too late.
func (e *Engine) staleLocked(c *Chunk, newest version) {
	key := string(c.FileHash) + c.Paths.Rel
	if _, ok := e.warned[key]; ok {
		return
	}
	if len(e.warned) > 10000 {
		clear(e.warned)
	}
	e.warned[key] = struct{}{}
	e.stats.VersionsDropped.Add(1)
	e.log.WithField("file", c.Paths.Rel).Warnf(
		"dropping chunks of an older version of %q (hash %x..., produced %s): a newer version (hash %x..., produced %s) was already received",
		c.Paths.Rel, c.FileHash[:4], describeTime(unixMilli(c.Produced), c.Mtime), newest.hash[:4], describeTime(newest.produced, newest.mtime))
}

func describeTime(ms int64, mtime float64) string {
	if ms != 0 {
		return time.UnixMilli(ms).UTC().Format("2006-01-02 15:04:05.000Z")
	}
	if mtime > 0 {
		return "with mtime " + time.Unix(int64(mtime), 0).UTC().Format(time.RFC3339)
	}
	return "at an unknown time"
}

// supersede drops an older version that a newer one replaces.
func (e *Engine) supersede(f *partialFile, by version) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.done {
		return
	}
	e.stats.VersionsDropped.Add(1)
	e.log.WithField("file", f.paths.Rel).Warnf(
		"a newer version of %q arrived (hash %x..., produced %s); dropping the older one (hash %x..., %d of %d chunks)",
		f.paths.Rel, by.hash[:4], describeTime(by.produced, by.mtime), f.version.hash[:4], len(f.have), f.total)
	e.discardLocked(f)
}

func (e *Engine) exists(name string) bool {
	_, err := e.fsys.Lstat(name)
	return err == nil
}
