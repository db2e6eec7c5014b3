package download

import (
	"bufio"
	"bytes"
	"cmp"
	"crypto/rand"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io/fs"
	"os"
	"path"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/sirupsen/logrus"
)

// Where in-progress state lives, relative to the output folder. Being inside
// the output folder puts it on the same filesystem, so publishing a file is
// one atomic rename.
const (
	partialDir   = StateDirName + "/partial"
	finishedFile = StateDirName + "/finished.log"
)

// outcome says what handling a chunk did.
type outcome int

const (
	outWritten   outcome = iota // stored; the file is not complete yet
	outDuplicate                // already stored, or its file already finished
	outStale                    // belongs to an older upload of a file in progress
	outCompleted                // completed its file, which is now published
	outMismatch                 // completed its file, whose hash did not match
)

// crashAt lets tests stop the assembler between two steps of finishing a
// file, leaving the disk exactly as a crash there would. Always false
// outside tests.
var crashAt = func(step string) bool { return false }

var errCrashed = errors.New("simulated crash")

// storageError is a failure of the local disk (full, read-only, permission
// denied). The chunk was not stored and must be retried, never skipped.
type storageError struct{ err error }

func (e *storageError) Error() string { return e.err.Error() }
func (e *storageError) Unwrap() error { return e.err }

func storageErr(format string, args ...any) error {
	return &storageError{fmt.Errorf(format, args...)}
}

// assembler rebuilds files from chunks on disk. All of its methods are safe
// for concurrent use by the consumers of one process, which share it because
// the chunks of one file arrive on every partition.
type assembler struct {
	root    *os.Root
	log     *logrus.Entry
	stats   *counters
	windows bool

	// barrierMu serialises barriers: one that finds nothing dirty must not
	// commit while another is still syncing what it took.
	barrierMu sync.Mutex

	// mu guards the fields below. It is a leaf lock: never held while
	// taking a file's lock.
	mu               sync.Mutex
	files            map[string]*partialFile // by filePaths.rel
	dirty            map[*partialFile]struct{}
	finished         *finishedSet
	journalsToRemove []string
	recent           []string

	// The publisher's queue (publish.go), guarded by mu.
	toPublish     []*partialFile
	publishFailed []*partialFile // retried at the next barrier
	publishErr    error          // why they failed
	publishing    bool           // the publisher runs; publisherIdle closes when it stops
	publisherIdle chan struct{}

	// retainedBytes is the chunk data held for whole-file hashes.
	retainedBytes atomic.Int64
}

// partialFile is one file being received.
type partialFile struct {
	// Immutable after creation.
	id       string
	paths    filePaths
	fileHash []byte
	total    int64
	mtime    float64
	append   string

	received atomic.Int64 // mirrors len(have) for Status, which must not block

	mu sync.Mutex
	// Guarded by mu.
	data        *os.File
	journal     *os.File // nil for single-chunk files, which need no journal
	pending     []byte   // journal lines not yet written
	unsynced    bool     // journal lines written but not yet fsynced
	have        map[int64]struct{}
	unhashed    map[int64]int64 // offset -> length of stored chunks past hashedUpTo
	hasher      hash.Hash       // see hashLoop for who may use it
	hashedUpTo  int64
	retained    map[int64][]byte // data of unhashed chunks kept in memory
	budget      *atomic.Int64    // the assembler's retainedBytes
	hashing     bool             // a hash goroutine runs; hashDone closes when it stops
	hashDone    chan struct{}
	hashErr     error
	size        int64
	done        bool // published or abandoned; later chunks need a new entry
	staleWarned bool
	// Set when the file is verified and handed to the publisher.
	queued  bool
	dest    string
	hashOK  bool
	pubStep int
}

func (f *partialFile) partPath() string    { return partialDir + "/" + f.id + ".part" }
func (f *partialFile) journalPath() string { return partialDir + "/" + f.id + ".journal" }

func newAssembler(root *os.Root, log *logrus.Entry, stats *counters) (*assembler, error) {
	if err := root.MkdirAll(partialDir, 0o755); err != nil {
		return nil, fmt.Errorf("create state folder: %w", err)
	}
	fin, err := loadFinishedSet(root, finishedFile, finishedLimit)
	if err != nil {
		return nil, err
	}
	a := &assembler{
		root:     root,
		log:      log,
		stats:    stats,
		windows:  onWindows,
		files:    make(map[string]*partialFile),
		dirty:    make(map[*partialFile]struct{}),
		finished: fin,
	}
	if err := a.recover(); err != nil {
		return nil, err
	}
	return a, nil
}

// handle stores one chunk whose data hash is already verified.
func (a *assembler) handle(c *Chunk, p filePaths) (outcome, error) {
	for {
		f, out, err := a.lookup(c, p)
		if f == nil {
			return out, err
		}
		f.mu.Lock()
		if f.done {
			// Published or abandoned between lookup and lock: look again.
			f.mu.Unlock()
			continue
		}
		out, retry, err := a.addLocked(f, c)
		f.mu.Unlock()
		if retry {
			continue
		}
		return out, err
	}
}

// lookup finds or creates the entry for a chunk's file. It returns a nil
// file when the chunk needs no entry.
func (a *assembler) lookup(c *Chunk, p filePaths) (*partialFile, outcome, error) {
	a.mu.Lock()
	f := a.files[p.rel]
	done := f == nil && a.finished.contains(p.rel, c.FileHash)
	a.mu.Unlock()
	if f != nil {
		return f, 0, nil
	}
	if done {
		// A late duplicate of a finished file must not start a partial
		// file that can never complete. Only if the user removed the file
		// since is it rebuilt.
		for _, dest := range []string{p.dest, MismatchDirName + "/" + p.dest} {
			if _, err := a.root.Lstat(dest); err == nil {
				return nil, outDuplicate, nil
			}
		}
	}
	nf, err := a.create(c, p)
	if err != nil {
		return nil, 0, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if f := a.files[p.rel]; f != nil {
		// Another consumer created it first; ours is unused.
		nf.discard(a.root)
		return f, 0, nil
	}
	a.files[p.rel] = nf
	return nf, 0, nil
}

func (a *assembler) create(c *Chunk, p filePaths) (*partialFile, error) {
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	relSum := sha512.Sum512([]byte(p.rel))
	f := &partialFile{
		// Deterministic enough to find by path when debugging, unique so
		// that a new upload never collides with an old one's leftovers.
		id:       hex.EncodeToString(relSum[:8]) + "-" + hex.EncodeToString(rnd[:]),
		paths:    p,
		fileHash: bytes.Clone(c.FileHash),
		total:    c.Total,
		mtime:    c.Mtime,
		append:   c.Append,
		have:     make(map[int64]struct{}),
		unhashed: make(map[int64]int64),
		hasher:   sha512.New(),
		budget:   &a.retainedBytes,
	}
	data, err := openFile(a.root, f.partPath(), os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, storageErr("create partial file for %q: %w", p.rel, err)
	}
	f.data = data
	if f.total > 1 {
		j, err := openFile(a.root, f.journalPath(), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
		if err != nil {
			data.Close()
			_ = a.root.Remove(f.partPath())
			return nil, storageErr("create journal for %q: %w", p.rel, err)
		}
		f.journal = j
		f.pending = append(f.pending, f.header()...)
	}
	return f, nil
}

// discard closes and removes an entry's files.
func (f *partialFile) discard(root *os.Root) {
	f.done = true
	f.releaseAllLocked()
	if f.data != nil {
		f.data.Close()
	}
	if f.journal != nil {
		f.journal.Close()
	}
	_ = root.Remove(f.partPath())
	_ = root.Remove(f.journalPath())
}

// addLocked applies the generation rule and stores the chunk. retry asks
// the caller to look the file up again (after a newer upload replaced it).
func (a *assembler) addLocked(f *partialFile, c *Chunk) (out outcome, retry bool, err error) {
	if f.queued && !bytes.Equal(f.fileHash, c.FileHash) {
		// Another upload of a file that is complete and waiting to be
		// published: once published, the chunk starts a new entry.
		f.mu.Unlock()
		err := a.waitPublished()
		f.mu.Lock()
		if err != nil {
			return 0, false, storageErr("earlier upload of %q not published yet: %w", f.paths.rel, err)
		}
		return 0, true, nil
	}
	if !bytes.Equal(f.fileHash, c.FileHash) {
		newer := c.Total > f.total || (c.Total == f.total && c.Mtime > 0 && f.mtime > 0 && c.Mtime > f.mtime)
		if !newer {
			if !f.staleWarned {
				f.staleWarned = true
				a.log.WithField("file", f.paths.rel).Warnf(
					"dropping chunks of an older upload of %q (%d chunks, hash %x...): an upload with %d chunks and hash %x... is in progress",
					f.paths.rel, c.Total, c.FileHash[:4], f.total, f.fileHash[:4])
			}
			return outStale, false, nil
		}
		a.log.WithField("file", f.paths.rel).Warnf(
			"a newer upload of %q arrived (%d chunks, hash %x...); discarding %d chunks of the previous one (%d chunks, hash %x...)",
			f.paths.rel, c.Total, c.FileHash[:4], len(f.have), f.total, f.fileHash[:4])
		a.removeLocked(f)
		f.discard(a.root)
		return 0, true, nil
	}
	if c.Total != f.total {
		return 0, false, fmt.Errorf("chunk says the file has %d chunks, but earlier chunks with the same file hash said %d", c.Total, f.total)
	}
	if c.Append != f.append {
		return 0, false, fmt.Errorf("chunk has filename_append %q, but earlier chunks of the file had %q", c.Append, f.append)
	}
	if _, ok := f.have[c.Index]; ok {
		// A complete file whose publishing failed (disk trouble) gets
		// another try with every redelivered chunk.
		if int64(len(f.have)) == f.total {
			return a.publishLocked(f)
		}
		return outDuplicate, false, nil
	}
	if _, err := writeAt(f.data, c.Data, c.Offset); err != nil {
		return 0, false, storageErr("write chunk %d of %q: %w", c.Index, f.paths.rel, err)
	}
	f.have[c.Index] = struct{}{}
	f.received.Store(int64(len(f.have)))
	f.size = max(f.size, c.Offset+int64(len(c.Data)))
	if f.journal != nil {
		f.pending = fmt.Appendf(f.pending, "c %d %d %d %x\n", c.Index, c.Offset, len(c.Data), c.ChunkHash)
	}
	f.queueHashLocked(c)
	if int64(len(f.have)) == f.total {
		return a.publishLocked(f)
	}
	a.mu.Lock()
	a.dirty[f] = struct{}{}
	a.mu.Unlock()
	return outWritten, false, nil
}

// hashForwardLocked feeds the whole-file hash with every stored chunk that
// continues the hashed prefix, from memory where it was kept, else from the
// disk (the chunks a resumed file already had). No hash goroutine may be
// running.
func (f *partialFile) hashForwardLocked() error {
	for {
		n, ok := f.unhashed[f.hashedUpTo]
		if !ok {
			return nil
		}
		if data := f.retained[f.hashedUpTo]; data != nil {
			f.hasher.Write(data)
		} else if err := f.hashFromDisk(f.hashedUpTo, n); err != nil {
			return err
		}
		f.releaseLocked(f.hashedUpTo)
		delete(f.unhashed, f.hashedUpTo)
		f.hashedUpTo += n
	}
}

var readBufs = sync.Pool{New: func() any { b := make([]byte, 512<<10); return &b }}

// hashFromDisk feeds the hash from the partial file. The caller owns
// f.hasher: it holds f.mu with no hash goroutine running, or it is that
// goroutine.
func (f *partialFile) hashFromDisk(off, n int64) error {
	bp := readBufs.Get().(*[]byte)
	defer readBufs.Put(bp)
	buf := *bp
	for n > 0 {
		k := min(n, int64(len(buf)))
		if _, err := f.data.ReadAt(buf[:k], off); err != nil {
			return storageErr("read back %q: %w", f.paths.rel, err)
		}
		f.hasher.Write(buf[:k])
		off += k
		n -= k
	}
	return nil
}

// verifyLocked says whether the stored file matches its whole-file hash.
func (f *partialFile) verifyLocked() (bool, error) {
	if f.hashedUpTo != f.size || len(f.unhashed) != 0 {
		// Chunks that overlap or leave holes: hash what is on disk, as the
		// original does.
		f.hasher.Reset()
		if err := f.hashFromDisk(0, f.size); err != nil {
			return false, err
		}
	}
	return bytes.Equal(f.hasher.Sum(nil), f.fileHash), nil
}

// publishLocked verifies a complete file and hands it to the publisher,
// which finishes it in the one order that survives a crash between any two
// steps: data synced, completion journaled, rename into place, folder
// synced; the journal goes at the next barrier, once the finished record is
// durable.
func (a *assembler) publishLocked(f *partialFile) (outcome, bool, error) {
	if f.queued {
		return outDuplicate, false, nil
	}
	if err := f.waitHashLocked(); err != nil {
		return 0, false, err
	}
	if f.done {
		// Another consumer published it while this one waited.
		return outDuplicate, false, nil
	}
	if err := f.hashForwardLocked(); err != nil {
		return 0, false, err
	}
	ok, err := f.verifyLocked()
	if err != nil {
		return 0, false, err
	}
	dest := f.paths.dest
	if !ok {
		dest = MismatchDirName + "/" + f.paths.dest
	}
	// A path that can never be valid (a file where a folder must be, a
	// symlink leading out) is found here, and the chunk reported with it.
	if dir := path.Dir(dest); dir != "." {
		if err := a.root.MkdirAll(dir, 0o755); err != nil {
			if !isPathConflict(err) {
				return 0, false, storageErr("create folder for %q: %w", dest, err)
			}
			a.removeLocked(f)
			f.discard(a.root)
			return 0, false, fmt.Errorf("cannot publish %q: %w", dest, err)
		}
	}
	a.queuePublishLocked(f, dest, ok)
	if !ok {
		return outMismatch, false, nil
	}
	return outCompleted, false, nil
}

// finishLocked records a published file and forgets its in-progress state.
func (a *assembler) finishLocked(f *partialFile, dest string, ok bool) {
	f.done = true
	f.releaseAllLocked()
	f.data.Close()
	if f.journal != nil {
		f.journal.Close()
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.files[f.paths.rel] == f {
		delete(a.files, f.paths.rel)
	}
	delete(a.dirty, f)
	a.finished.add(f.paths.rel, f.fileHash)
	if f.journal != nil {
		a.journalsToRemove = append(a.journalsToRemove, f.journalPath())
	}
	if ok {
		a.stats.filesCompleted.Add(1)
		a.recent = append(a.recent, f.paths.dest)
		if len(a.recent) > RecentLimit {
			a.recent = a.recent[len(a.recent)-RecentLimit:]
		}
	} else {
		a.stats.filesMismatched.Add(1)
	}
}

func (a *assembler) removeLocked(f *partialFile) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.files[f.paths.rel] == f {
		delete(a.files, f.paths.rel)
	}
	delete(a.dirty, f)
}

// rename moves a finished partial file to dest, replacing an earlier
// version atomically; the caller syncs the folder. The folder was made when
// the file was verified, but may have been removed since.
func (a *assembler) rename(from, dest string) error {
	err := rename(a.root, from, dest)
	if errors.Is(err, fs.ErrNotExist) {
		if _, serr := a.root.Stat(from); serr == nil {
			if err = a.root.MkdirAll(path.Dir(dest), 0o755); err == nil {
				err = rename(a.root, from, dest)
			}
		}
	}
	return err
}

// isPathConflict tells errors that retrying cannot fix from disk trouble.
func isPathConflict(err error) bool {
	var pe *os.PathError
	var le *os.LinkError
	switch {
	case errors.Is(err, syscall.ENOTDIR), errors.Is(err, syscall.EISDIR),
		errors.Is(err, syscall.EEXIST), errors.Is(err, syscall.ELOOP),
		errors.Is(err, syscall.ENAMETOOLONG), errors.Is(err, syscall.EINVAL):
		return true
	case errors.As(err, &pe) && strings.Contains(pe.Err.Error(), "escapes"),
		errors.As(err, &le) && strings.Contains(le.Err.Error(), "escapes"):
		// os.Root refusing a symlink that leads out of the output folder.
		return true
	}
	return false
}

func (f *partialFile) header() []byte {
	h, _ := json.Marshal(journalHeader{
		Version: 1, Rel: f.paths.rel, Dest: f.paths.dest, Append: f.append,
		FileHash: hex.EncodeToString(f.fileHash), Total: f.total, Mtime: f.mtime,
	})
	return append(h, '\n')
}

type journalHeader struct {
	Version  int     `json:"v"`
	Rel      string  `json:"rel"`
	Dest     string  `json:"dest"`
	Append   string  `json:"append"`
	FileHash string  `json:"file_hash"`
	Total    int64   `json:"total"`
	Mtime    float64 `json:"mtime"`
}

func (f *partialFile) flushJournalLocked() error {
	if len(f.pending) == 0 && !f.unsynced {
		return nil
	}
	n, err := write(f.journal, f.pending)
	// What a failed write did put in the journal stays there, so only the
	// rest is written again: repeating it would leave a garbled line, and
	// recovery stops reading a journal at its first garbled line, losing
	// every chunk recorded after it although their offsets were committed.
	f.pending = f.pending[:copy(f.pending, f.pending[n:])]
	f.unsynced = f.unsynced || n > 0
	if err != nil {
		return storageErr("write journal of %q: %w", f.paths.rel, err)
	}
	// After a failed fsync the lines may not be on disk: the next barrier
	// must fsync again, even with nothing new to write.
	if err := syncFile(f.journal); err != nil {
		return storageErr("sync journal of %q: %w", f.paths.rel, err)
	}
	f.unsynced = false
	return nil
}

// sync is the commit barrier: once it returns nil, every chunk handled
// before it was called is durable, and the caller may commit its offsets.
func (a *assembler) sync() error {
	a.barrierMu.Lock()
	defer a.barrierMu.Unlock()

	if err := a.waitPublished(); err != nil {
		return err
	}
	return a.syncDurable()
}

// syncDurable is the part of sync that follows the publishing. The caller
// holds barrierMu or, while recovering, has the assembler to itself.
func (a *assembler) syncDurable() error {

	a.mu.Lock()
	dirty := a.dirty
	a.dirty = make(map[*partialFile]struct{})
	finishedLines := a.finished.takePending()
	remove := a.journalsToRemove
	a.journalsToRemove = nil
	a.mu.Unlock()

	var firstErr error
	for f := range dirty {
		if err := f.syncData(); err != nil {
			firstErr = cmp.Or(firstErr, err)
			a.mu.Lock()
			a.dirty[f] = struct{}{}
			a.mu.Unlock()
		}
	}
	if len(finishedLines) > 0 {
		if err := a.finished.write(finishedLines, &a.mu); err != nil {
			firstErr = cmp.Or(firstErr, storageErr("record finished files: %w", err))
		}
	}
	if firstErr != nil {
		a.mu.Lock()
		a.journalsToRemove = append(a.journalsToRemove, remove...)
		a.mu.Unlock()
		return firstErr
	}
	if crashAt("sync:finished-recorded") {
		return errCrashed
	}
	// Only now that the finished files are on record may their journals go:
	// a crash before this point replays the publish from the journal.
	for _, j := range remove {
		if err := a.root.Remove(j); err != nil && !errors.Is(err, fs.ErrNotExist) {
			a.log.Warnf("remove journal %s: %v", j, err)
		}
	}
	return nil
}

func (f *partialFile) syncData() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.done {
		return nil // published files were synced; abandoned ones don't matter
	}
	if err := syncFile(f.data); err != nil {
		return storageErr("sync %q: %w", f.paths.rel, err)
	}
	if f.journal != nil {
		return f.flushJournalLocked()
	}
	return nil
}

// progress lists the files in progress.
func (a *assembler) progress() (files []FileProgress, recent []string) {
	a.mu.Lock()
	list := make([]*partialFile, 0, len(a.files))
	for _, f := range a.files {
		list = append(list, f)
	}
	recent = append(recent, a.recent...)
	a.mu.Unlock()
	for _, f := range list {
		files = append(files, FileProgress{Path: f.paths.dest, ChunksReceived: int(f.received.Load()), ChunksTotal: int(f.total)})
	}
	return files, recent
}

// close releases open files. State on disk stays for the next run.
func (a *assembler) close() {
	a.mu.Lock()
	list := make([]*partialFile, 0, len(a.files))
	for _, f := range a.files {
		list = append(list, f)
	}
	a.mu.Unlock()
	for _, f := range list {
		f.mu.Lock()
		if !f.done {
			f.done = true
			f.releaseAllLocked()
			f.data.Close()
			if f.journal != nil {
				f.journal.Close()
			}
		}
		f.mu.Unlock()
	}
}

// recover resumes the files a previous run left in progress. Journaled
// chunks count only if the partial file still holds data with their hash.
func (a *assembler) recover() error {
	entries, err := fs.ReadDir(a.root.FS(), partialDir)
	if err != nil {
		return fmt.Errorf("read state folder: %w", err)
	}
	journals := make(map[string]bool)
	for _, e := range entries {
		if id, ok := strings.CutSuffix(e.Name(), ".journal"); ok {
			journals[id] = true
		}
	}
	for _, e := range entries {
		name := e.Name()
		id, isPart := strings.CutSuffix(name, ".part")
		id2, isJournal := strings.CutSuffix(name, ".journal")
		switch {
		case isJournal:
			if err := a.recoverFile(id2); err != nil {
				return err
			}
		case strings.HasSuffix(name, ".tmp"):
			// An interrupted atomic rewrite; the original is intact.
			_ = a.root.Remove(partialDir + "/" + name)
		case isPart && !journals[id]:
			// A partial file whose journal never reached the disk: its
			// offsets were never committed, so the chunks will come again.
			_ = a.root.Remove(partialDir + "/" + name)
		}
	}
	// Files that were complete but not published are retried at every
	// barrier, which fails until they are; that is no reason not to start.
	if err := a.waitPublished(); err != nil {
		a.log.Errorf("finishing files completed before the restart: %v", err)
	}
	return a.syncDurable()
}

func (a *assembler) recoverFile(id string) error {
	jpath := partialDir + "/" + id + ".journal"
	ppath := partialDir + "/" + id + ".part"
	log := a.log.WithField("journal", jpath)
	raw, err := a.root.ReadFile(jpath)
	if err != nil {
		return fmt.Errorf("read %s: %w", jpath, err)
	}
	hdr, chunks, finishedDest, err := parseJournal(raw)
	if err != nil {
		log.Warnf("discarding unreadable journal: %v", err)
		_ = a.root.Remove(jpath)
		_ = a.root.Remove(ppath)
		return nil
	}
	fileHash, _ := hex.DecodeString(hdr.FileHash)
	paths, err := chunkPaths(path.Dir("/" + hdr.Rel)[1:], path.Base(hdr.Rel), hdr.Append, a.windows)
	if err != nil || len(fileHash) != hashSize {
		log.Warnf("discarding journal that names a bad path or hash: %v", err)
		_ = a.root.Remove(jpath)
		_ = a.root.Remove(ppath)
		return nil
	}
	if _, err := a.root.Stat(ppath); errors.Is(err, fs.ErrNotExist) {
		if finishedDest != "" {
			// Crashed after the rename, before the journal was removed.
			a.finished.add(hdr.Rel, fileHash)
			a.journalsToRemove = append(a.journalsToRemove, jpath)
			if finishedDest == paths.dest {
				a.stats.filesCompleted.Add(1)
				a.recent = append(a.recent, paths.dest)
			}
			log.WithField("file", hdr.Rel).Infof("file %q was completed just before the restart", finishedDest)
		} else {
			_ = a.root.Remove(jpath)
		}
		return nil
	}
	f := &partialFile{
		id:       id,
		paths:    paths,
		fileHash: fileHash,
		total:    hdr.Total,
		mtime:    hdr.Mtime,
		append:   hdr.Append,
		have:     make(map[int64]struct{}),
		unhashed: make(map[int64]int64),
		hasher:   sha512.New(),
		budget:   &a.retainedBytes,
	}
	if f.data, err = a.root.OpenFile(ppath, os.O_RDWR, 0); err != nil {
		return fmt.Errorf("open %s: %w", ppath, err)
	}
	// The journal is rewritten with only the verified chunks, which also
	// drops a torn last line that later appends would run into.
	f.pending = append(f.pending, f.header()...)
	for _, ch := range chunks {
		if _, ok := f.have[ch.index]; ok || ch.index < 1 || ch.index > f.total {
			continue
		}
		buf := make([]byte, ch.length)
		if _, err := f.data.ReadAt(buf, ch.offset); err != nil {
			continue
		}
		if sum := sha512.Sum512(buf); !bytes.Equal(sum[:], ch.hash) {
			continue
		}
		f.have[ch.index] = struct{}{}
		f.unhashed[ch.offset] = ch.length
		f.size = max(f.size, ch.offset+ch.length)
		f.pending = fmt.Appendf(f.pending, "c %d %d %d %x\n", ch.index, ch.offset, ch.length, ch.hash)
	}
	f.received.Store(int64(len(f.have)))
	if err := writeFileDurably(a.root, jpath, f.pending); err != nil {
		f.data.Close()
		return fmt.Errorf("rewrite %s: %w", jpath, err)
	}
	f.pending = f.pending[:0]
	if f.journal, err = a.root.OpenFile(jpath, os.O_WRONLY|os.O_APPEND, 0); err != nil {
		f.data.Close()
		return fmt.Errorf("open %s: %w", jpath, err)
	}
	log.WithField("file", f.paths.rel).Infof("resuming %q: %d of %d chunks already on disk", f.paths.rel, len(f.have), f.total)
	f.mu.Lock()
	defer f.mu.Unlock()
	a.files[f.paths.rel] = f
	if err := f.hashForwardLocked(); err != nil {
		return err
	}
	if int64(len(f.have)) == f.total {
		if _, _, err := a.publishLocked(f); err != nil {
			// Not fatal: a storage problem is retried when chunks of the
			// file come again; a bad path has discarded the file.
			log.Errorf("finishing %q: %v", f.paths.rel, err)
		}
		return nil
	}
	a.dirty[f] = struct{}{}
	return nil
}

type journalChunk struct {
	index, offset, length int64
	hash                  []byte
}

// parseJournal reads a journal; a torn or garbled line ends it, as it can
// only be the last one written before a crash.
func parseJournal(raw []byte) (hdr journalHeader, chunks []journalChunk, finishedDest string, err error) {
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	if !sc.Scan() {
		return hdr, nil, "", errors.New("empty journal")
	}
	if err := json.Unmarshal(sc.Bytes(), &hdr); err != nil || hdr.Version != 1 || hdr.Total < 1 {
		return hdr, nil, "", fmt.Errorf("bad journal header: %q", sc.Bytes())
	}
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "f "); ok {
			if d, err := strconv.Unquote(rest); err == nil {
				finishedDest = d
			}
			break
		}
		var ch journalChunk
		var h string
		if n, _ := fmt.Sscanf(line, "c %d %d %d %s", &ch.index, &ch.offset, &ch.length, &h); n != 4 {
			break
		}
		if ch.hash, err = hex.DecodeString(h); err != nil || len(ch.hash) != hashSize || ch.length <= 0 || ch.length > maxFileSize || ch.offset < 0 {
			err = nil
			break
		}
		chunks = append(chunks, ch)
	}
	return hdr, chunks, finishedDest, nil
}
