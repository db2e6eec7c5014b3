package storage

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
)

// publishedLimit bounds how many paths' published versions are remembered.
// Late duplicates come within a few commit intervals of the file's
// completion, so the most recent twenty thousand paths are plenty.
const publishedLimit = 20000

// publishedSet remembers the latest published version of recently
// published paths, on disk (one line each, appended, compacted when it has
// grown to twice the limit), so that the version rules hold across
// restarts. Its methods other than write are called with the engine's lock
// held.
type publishedSet struct {
	fsys    FS
	path    string
	limit   int
	latest  map[string]version
	order   []string       // paths, oldest first; a path may appear more than once
	count   map[string]int // how often each path appears in order
	pending []byte         // lines not yet written
	size    int64          // bytes of whole lines in the file
	lines   int
}

func publishedLine(rel string, v version) []byte {
	return fmt.Appendf(nil, "%x %d %s %s\n", v.hash, v.produced, strconv.FormatFloat(v.mtime, 'g', -1, 64), strconv.Quote(rel))
}

func parsePublishedLine(line string) (string, version, bool) {
	f := strings.SplitN(line, " ", 4)
	if len(f) != 4 {
		return "", version{}, false
	}
	h, err := hex.DecodeString(f[0])
	if err != nil || len(h) != hashSize {
		return "", version{}, false
	}
	produced, err1 := strconv.ParseInt(f[1], 10, 64)
	mtime, err2 := strconv.ParseFloat(f[2], 64)
	rel, err3 := strconv.Unquote(f[3])
	if err1 != nil || err2 != nil || err3 != nil {
		return "", version{}, false
	}
	return rel, version{hash: h, produced: produced, mtime: mtime}, true
}

func loadPublished(fsys FS, path string, limit int) (*publishedSet, error) {
	s := &publishedSet{fsys: fsys, path: path, limit: limit, latest: make(map[string]version), count: make(map[string]int)}
	raw, err := readFile(fsys, path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	for len(raw) > 0 {
		i := bytes.IndexByte(raw, '\n')
		if i < 0 {
			break // a torn last line: the next append overwrites it
		}
		line := string(raw[:i])
		raw = raw[i+1:]
		s.size += int64(i + 1)
		if rel, v, ok := parsePublishedLine(line); ok {
			s.lines++
			s.remember(rel, v)
		}
	}
	if s.lines > 2*s.limit {
		if err := s.compact(); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (s *publishedSet) get(rel string) (version, bool) {
	v, ok := s.latest[rel]
	return v, ok
}

func (s *publishedSet) add(rel string, v version) {
	s.remember(rel, v)
	s.pending = append(s.pending, publishedLine(rel, v)...)
}

func (s *publishedSet) remember(rel string, v version) {
	s.latest[rel] = v
	s.order = append(s.order, rel)
	s.count[rel]++
	for len(s.latest) > s.limit && len(s.order) > 0 {
		old := s.order[0]
		s.order = s.order[1:]
		if s.count[old]--; s.count[old] == 0 {
			delete(s.count, old)
			delete(s.latest, old)
		}
	}
	if len(s.order) > 4*s.limit {
		s.order = s.liveOrder()
		clear(s.count)
		for _, r := range s.order {
			s.count[r] = 1
		}
	}
}

// liveOrder is the order with each path once, at its latest place.
func (s *publishedSet) liveOrder() []string {
	seen := make(map[string]bool, len(s.latest))
	out := make([]string, 0, len(s.latest))
	for i := len(s.order) - 1; i >= 0; i-- {
		r := s.order[i]
		if _, live := s.latest[r]; live && !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

func (s *publishedSet) takePending() []byte {
	p := s.pending
	s.pending = nil
	return p
}

// write appends lines taken with takePending and makes them durable. The
// engine's lock is not held: the fsync must not hold up consumers. Only
// one barrier writes at a time.
func (s *publishedSet) write(lines []byte) error {
	f, err := s.fsys.OpenFile(s.path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	created := s.size == 0
	// A torn line a crash left after the last whole one is overwritten.
	err = f.Truncate(s.size)
	if err == nil {
		_, err = f.WriteAt(lines, s.size)
	}
	if err == nil {
		err = f.Sync()
		if err != nil {
			err = &DurabilityError{err}
		}
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && created {
		if err = s.fsys.SyncDir(StateDirName); err != nil {
			err = &DurabilityError{err}
		}
	}
	if err != nil {
		return err
	}
	s.size += int64(len(lines))
	s.lines += bytes.Count(lines, []byte{'\n'})
	return nil
}

// needsCompaction is read with the engine's lock held.
func (s *publishedSet) needsCompaction() bool { return s.lines > 2*s.limit }

// compact rewrites the file with only the remembered entries, atomically.
// The caller holds the engine's lock.
func (s *publishedSet) compact() error {
	var b bytes.Buffer
	order := s.liveOrder()
	for _, rel := range order {
		b.Write(publishedLine(rel, s.latest[rel]))
	}
	if err := writeFileDurably(s.fsys, s.path, b.Bytes()); err != nil {
		return fmt.Errorf("compact %s: %w", s.path, err)
	}
	s.order = order
	clear(s.count)
	for _, r := range order {
		s.count[r] = 1
	}
	s.size = int64(b.Len())
	s.lines = len(order)
	return nil
}

// writeFileDurably replaces a closed file atomically: after a crash it
// holds either the old or the new content, never a mix.
func writeFileDurably(fsys FS, name string, data []byte) error {
	tmp := name + ".tmp"
	f, err := fsys.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	_, err = f.WriteAt(data, 0)
	if err == nil {
		if err = f.Sync(); err != nil {
			err = &DurabilityError{err}
		}
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = fsys.Rename(tmp, name)
	}
	if err == nil {
		if err = fsys.SyncDir(parentDir(name)); err != nil {
			err = &DurabilityError{err}
		}
	}
	if err != nil {
		_ = fsys.Remove(tmp)
	}
	return err
}

// readFile reads a whole file through an FS.
func readFile(fsys FS, name string) ([]byte, error) {
	f, err := fsys.OpenFile(name, os.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var buf bytes.Buffer
	var off int64
	b := make([]byte, 64<<10)
	for {
		n, err := f.ReadAt(b, off)
		buf.Write(b[:n])
		off += int64(n)
		if errors.Is(err, io.EOF) {
			return buf.Bytes(), nil
		}
		if err != nil {
			return nil, err
		}
	}
}
