package storage

import (
	"bytes"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"time"

	"github.com/openmsi/datafiledownloaddirectory/internal/sha512x"
)

// Recover resumes what a previous run left in the state folder: unfinished
// files continue where their journal says, complete files are put in place
// (or wait), and anything unreadable is set aside in DamagedDir with a log
// line, never a failed start. Journaled chunks are trusted without reading
// them back, because a record is only written after its data was synced;
// the whole-file hash checks every byte before a file is put in place.
// Recover must run before the first Put.
func (e *Engine) Recover() error {
	entries, err := e.fsys.ReadDir(PartialDir)
	if err != nil {
		return trouble("read the state folder %s: %w", PartialDir, err)
	}
	parts := make(map[string]bool)
	var journals []string
	for _, en := range entries {
		name := en.Name()
		switch {
		case strings.HasSuffix(name, ".part"):
			parts[strings.TrimSuffix(name, ".part")] = true
		case strings.HasSuffix(name, ".journal"):
			journals = append(journals, strings.TrimSuffix(name, ".journal"))
		case strings.HasSuffix(name, ".tmp"):
			_ = e.fsys.Remove(PartialDir + "/" + name)
		}
	}
	if len(journals) > 0 {
		e.log.Infof("resuming from the state folder: %d unfinished or unpublished files", len(journals))
	}
	start := time.Now()
	lastReport := start
	var found []*partialFile
	for i, id := range journals {
		if f := e.recoverOne(id, parts[id]); f != nil {
			found = append(found, f)
		}
		delete(parts, id)
		if time.Since(lastReport) > 5*time.Second {
			lastReport = time.Now()
			e.log.Infof("resuming: %d of %d files read", i+1, len(journals))
		}
	}
	// A partial file without a journal was never committed: a single-chunk
	// file not yet published, or a new file whose journal a crash took. Its
	// chunks come again.
	for id := range parts {
		_ = e.fsys.Remove(PartialDir + "/" + id + ".part")
	}
	e.adopt(found)
	if err := e.waitPublished(); err != nil {
		// Retried at every barrier; no reason not to start.
		e.log.Errorf("putting in place files completed before the restart: %v; %s", err, Hint(err))
	}
	if err := e.syncDurable(e.takeDirty()); err != nil {
		return err
	}
	if len(journals) > 0 {
		e.log.Infof("resumed from the state folder in %s", time.Since(start).Round(time.Millisecond))
	}
	return nil
}

// recoverOne reads one file's journal; nil means nothing to resume.
func (e *Engine) recoverOne(id string, hasPart bool) *partialFile {
	jpath := PartialDir + "/" + id + ".journal"
	ppath := PartialDir + "/" + id + ".part"
	raw, err := readFile(e.fsys, jpath)
	if err != nil {
		e.setAside(id, hasPart, fmt.Errorf("read its journal: %w", err))
		return nil
	}
	j, err := parseJournal(raw)
	if err != nil {
		e.setAside(id, hasPart, err)
		return nil
	}
	h := j.header
	fileHash, _ := hex.DecodeString(h.FileHash)
	dir := path.Dir("/" + h.Rel)[1:]
	paths, err := ChunkPaths(dir, path.Base(h.Rel), h.Append, e.opts.Windows)
	if err != nil || len(fileHash) != sha512.Size || paths.Dest != h.Dest {
		e.setAside(id, hasPart, fmt.Errorf("its journal names a bad path or hash: %v", err))
		return nil
	}
	v := version{hash: fileHash, produced: h.Produced, mtime: h.Mtime}
	if !hasPart {
		if j.complete != nil && e.isInPlace(j.complete, fileHash) {
			// Put in place just before the restart, before its journal went.
			e.mu.Lock()
			e.published.add(h.Rel, v)
			e.toRemove = append(e.toRemove, jpath)
			e.mu.Unlock()
			e.log.WithField("file", h.Rel).Infof("file %q was put in place just before the restart", j.complete.Dest)
		} else {
			// Its data never reached the disk for good (a power cut took
			// the partial file's name before it was put in place), so its
			// offsets were never committed: the chunks come again.
			_ = e.fsys.Remove(jpath)
		}
		return nil
	}
	f := &partialFile{
		id: id, paths: paths, version: v, total: h.Total, chunkSize: h.ChunkSize, append: h.Append,
		created: true, jsize: j.good,
		have: make(map[int64]struct{}), proven: make(map[int64]struct{}), unhashed: make(map[int64]int64),
		hasher: sha512x.New(), budget: &e.retainedBytes,
	}
	for idx, c := range j.stored() {
		f.have[idx] = struct{}{}
		f.unhashed[c.offset] = c.length
		f.size = max(f.size, c.offset+c.length)
	}
	f.received.Store(int64(len(f.have)))
	fi, err := e.fsys.Lstat(ppath)
	if err != nil || fi.Size() < f.size {
		e.setAside(id, true, fmt.Errorf("its partial file holds less than its journal records (%v)", err))
		return nil
	}
	if jfi, err := e.fsys.Lstat(jpath); err == nil {
		f.lastChunk = jfi.ModTime()
	} else {
		f.lastChunk = e.opts.Now()
	}
	if j.legacy {
		// Rewritten in the current format, atomically (the file is closed).
		b := appendHeaderRecord(nil, f.header())
		for _, c := range j.chunks {
			b = appendChunkRecord(b, c.index, c.offset, c.length, c.hash)
		}
		if j.complete != nil {
			b = appendCompleteRecord(b, *j.complete)
		}
		if err := writeFileDurably(e.fsys, jpath, b); err != nil {
			e.setAside(id, true, fmt.Errorf("rewrite its journal of version 0.1.0: %w", err))
			return nil
		}
		f.jsize = int64(len(b))
		e.log.WithField("file", h.Rel).Infof("converted the journal of %q from version 0.1.0", h.Rel)
	}
	if j.complete != nil {
		if int64(len(f.have)) != f.total && f.total > 1 {
			e.setAside(id, true, errors.New("its journal says complete, but lists missing chunks"))
			return nil
		}
		f.queued, f.durable, f.pubStep = true, true, pubSynced
		f.dest, f.hashOK = j.complete.Dest, j.complete.HashOK
		f.size = fi.Size()
	}
	return f
}

// isInPlace says whether a file whose journal says complete, and whose
// partial file is gone, is really in place: a power cut may also have
// taken the partial file's name before it was renamed.
func (e *Engine) isInPlace(c *journalComplete, fileHash []byte) bool {
	f, err := e.fsys.OpenFile(c.Dest, os.O_RDONLY, 0)
	if err != nil {
		return false
	}
	defer f.Close()
	if !c.HashOK {
		return true // in HASH_MISMATCHES, where no hash can tell
	}
	h := sha512x.New()
	buf := make([]byte, 256<<10)
	for off := int64(0); ; {
		n, err := f.ReadAt(buf, off)
		h.Write(buf[:n])
		off += int64(n)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return false
		}
	}
	return bytes.Equal(h.Sum(nil), fileHash)
}

// adopt applies the version rules to what was recovered (a crash may leave
// a version that had been superseded) and takes the survivors in.
func (e *Engine) adopt(found []*partialFile) {
	for _, f := range found {
		e.mu.Lock()
		pub, isPublished := e.published.get(f.paths.Rel)
		other := e.files[f.paths.Rel]
		e.mu.Unlock()
		switch {
		case isPublished && pub.same(f.version) && f.queued && !e.exists(f.dest):
			// On record as published, yet not in place: put it there.
		case isPublished && (pub.same(f.version) || !f.version.newerThan(pub)):
			e.discardLocked(f)
			continue
		case other != nil && !f.version.newerThan(other.version):
			e.discardLocked(f)
			continue
		case other != nil:
			e.discardLocked(other)
		}
		e.mu.Lock()
		e.files[f.paths.Rel] = f
		if f.queued {
			e.toPublish = append(e.toPublish, f)
		}
		e.mu.Unlock()
		switch {
		case f.queued:
		case int64(len(f.have)) == f.total:
			// Complete but not yet verified when the program stopped.
			f.mu.Lock()
			err := e.openLocked(f)
			if err == nil {
				_, err = e.completeLocked(f, 0)
			}
			f.mu.Unlock()
			if err != nil {
				e.log.Errorf("finishing %q: %v", f.paths.Rel, err)
			}
		default:
			e.log.WithField("file", f.paths.Rel).Infof("resuming %q: %d of %d chunks already on disk", f.paths.Rel, len(f.have), f.total)
		}
	}
}

// setAside moves what is left of a file that cannot be resumed to
// DamagedDir, where a user can look at it, and goes on.
func (e *Engine) setAside(id string, hasPart bool, why error) {
	e.stats.FilesSetAside.Add(1)
	names := []string{id + ".journal"}
	if hasPart {
		names = append(names, id+".part")
	}
	err := mkdirAll(e.fsys, DamagedDir, nil)
	for _, n := range names {
		if err == nil {
			err = e.fsys.Rename(PartialDir+"/"+n, DamagedDir+"/"+n)
		}
	}
	e.mu.Lock()
	e.nameDirty = true
	e.mu.Unlock()
	if err != nil {
		e.log.Errorf("cannot resume the unfinished file %s (%v), nor set it aside: %v; it is ignored", id, why, err)
		return
	}
	e.log.Warnf("cannot resume the unfinished file %s: %v; it was set aside in %s", id, why, DamagedDir)
}

func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }
