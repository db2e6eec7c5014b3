package download

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"sync"
)

// finishedLimit bounds how many finished files are remembered. Late
// duplicates come within a few commit intervals of the file's completion,
// so the most recent twenty thousand are plenty.
const finishedLimit = 20000

// finishedSet remembers recently finished (path, file hash) pairs, on disk,
// so that duplicates redelivered after a crash do not start partial files
// that could never complete. Its methods other than write are called with
// the assembler's lock held.
type finishedSet struct {
	root    *os.Root
	path    string
	limit   int
	keys    map[string]struct{}
	order   []string // oldest first
	pending []byte   // lines not yet written
	lines   int      // lines in the file, for compaction
}

func finishedKey(rel string, fileHash []byte) string {
	return hex.EncodeToString(fileHash) + " " + strconv.Quote(rel)
}

func loadFinishedSet(root *os.Root, path string, limit int) (*finishedSet, error) {
	s := &finishedSet{root: root, path: path, limit: limit, keys: make(map[string]struct{})}
	raw, err := root.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		h, q, ok := strings.Cut(line, " ")
		if !ok || len(h) != 2*hashSize {
			continue // a torn last line
		}
		if _, err := strconv.Unquote(q); err != nil {
			continue
		}
		s.lines++
		s.remember(line)
	}
	s.pending = nil
	if s.lines > 2*s.limit {
		if err := s.compact(s.snapshot()); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (s *finishedSet) contains(rel string, fileHash []byte) bool {
	_, ok := s.keys[finishedKey(rel, fileHash)]
	return ok
}

func (s *finishedSet) add(rel string, fileHash []byte) {
	key := finishedKey(rel, fileHash)
	if _, ok := s.keys[key]; ok {
		return
	}
	s.remember(key)
	s.pending = append(append(s.pending, key...), '\n')
}

func (s *finishedSet) remember(key string) {
	if _, ok := s.keys[key]; ok {
		return
	}
	s.keys[key] = struct{}{}
	s.order = append(s.order, key)
	if len(s.order) > s.limit {
		delete(s.keys, s.order[0])
		s.order = s.order[1:]
	}
}

func (s *finishedSet) takePending() []byte {
	p := s.pending
	s.pending = nil
	return p
}

func (s *finishedSet) snapshot() []string { return append([]string(nil), s.order...) }

// write appends lines taken with takePending and makes them durable. mu is
// the lock that guards the set; write takes it only for in-memory work, so
// consumers are not held up by the fsync.
func (s *finishedSet) write(lines []byte, mu *sync.Mutex) error {
	n, err := s.appendDurably(lines)
	mu.Lock()
	defer mu.Unlock()
	if err != nil {
		// Lines a failed write completed are on file; writing them again
		// would garble the line it tore.
		s.pending = append(lines[n:], s.pending...)
		return err
	}
	s.lines += bytes.Count(lines, []byte{'\n'})
	if s.lines <= 2*s.limit {
		return nil
	}
	return s.compact(s.snapshot())
}

// appendDurably returns how many bytes of lines reached the file for good,
// also when it fails.
func (s *finishedSet) appendDurably(lines []byte) (int, error) {
	f, err := openFile(s.root, s.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return 0, err
	}
	n, err := write(f, lines)
	if err != nil {
		f.Close()
		return n, err
	}
	if err := syncFile(f); err != nil {
		// The lines may not be on disk: all of them are written again
		// (whole duplicate lines are harmless).
		f.Close()
		return 0, err
	}
	return n, f.Close()
}

// compact rewrites the file with only the remembered entries, atomically.
func (s *finishedSet) compact(keys []string) error {
	var b bytes.Buffer
	for _, k := range keys {
		b.WriteString(k)
		b.WriteByte('\n')
	}
	if err := writeFileDurably(s.root, s.path, b.Bytes()); err != nil {
		return fmt.Errorf("compact %s: %w", s.path, err)
	}
	s.lines = len(keys)
	return nil
}

// writeFileDurably replaces a file atomically: after a crash it holds either
// the old or the new content, never a mix.
func writeFileDurably(root *os.Root, name string, data []byte) error {
	tmp := name + ".tmp"
	f, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = root.Rename(tmp, name)
	}
	if err != nil {
		_ = root.Remove(tmp)
	}
	return err
}
