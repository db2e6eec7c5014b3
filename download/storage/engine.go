// Package storage rebuilds uploaded files from their chunks on disk, and is
// the only code that touches the output folder. Its promise: no file,
// chunk or late duplicate can stall, corrupt or lose another; nothing
// appears under its final name until it is whole and verified; a restart
// (or a power cut) resumes what was durable. See README "Reliability".
//
// Lifecycle of a file, by source file: partial.go (a version being
// received), versions.go (which version of a path wins), publish.go
// (putting a verified file in place, and files waiting for that),
// recovery.go (resuming after a restart), expiry.go (giving up on files
// whose last chunk never comes), journal.go (the on-disk record),
// proof.go (which chunks are checked against their own hash, and finding
// bad ones when a file's hash fails), barrier.go (making stored chunks
// durable before their offsets are committed).
package storage

import (
	"container/list"
	"fmt"
	"io/fs"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"
)

// Where in-progress state lives, relative to the output folder. Being inside
// the output folder puts it on the same filesystem, so publishing a file is
// one atomic rename.
const (
	PartialDir    = StateDirName + "/partial"
	DamagedDir    = StateDirName + "/damaged"
	publishedFile = StateDirName + "/finished.log"
)

// Limits of the chunk layout (R3): a real uploader never comes near them.
const (
	// MaxChunkSize is the largest chunk a Kafka message can carry: librdkafka
	// refuses messages over 1,000,000,000 bytes (receive.message.max.bytes).
	MaxChunkSize = 1_000_000_000
	// MaxChunksPerFile and MaxFileSize bound the claims of a chunk header.
	MaxChunksPerFile = 1 << 24
	MaxFileSize      = 1 << 44
	hashSize         = 64
)

// Chunk is one chunk to store, decoded. The engine checks it against its
// chunk hash where that can change the outcome (proof.go).
type Chunk struct {
	Paths     Paths
	Append    string
	FileHash  []byte
	ChunkHash []byte
	Offset    int64
	Index     int64 // 1-based
	Total     int64
	Data      []byte
	Mtime     float64   // seconds since the epoch; 0 when unknown
	Produced  time.Time // the Kafka record's CreateTime; zero when unknown
}

// Outcome says what storing a chunk did.
type Outcome int

const (
	Written   Outcome = iota // stored; the file is not complete yet
	Duplicate                // already stored, or its version already published
	Stale                    // belongs to an older version than one seen
	Completed                // completed its file, which is (being) verified and put in place
	Mismatch                 // completed its file, whose hash did not match (see LateMismatchChunks)
)

// Options tune an Engine.
type Options struct {
	Log *logrus.Entry
	// Windows applies Windows file name rules to recovered paths.
	Windows bool
	// MaxOpenFiles bounds the unfinished files whose data and journal are
	// open at once; the least recently used are closed (0: 64).
	MaxOpenFiles int
	// RetryInterval is how often files waiting to be put in place are
	// tried again (0: 10 s).
	RetryInterval time.Duration
	// ExpireAfter is how long an unfinished file waits for its next chunk
	// (0: DefaultExpiry; negative: forever).
	ExpireAfter time.Duration
	// Now is the clock (nil: time.Now); tests move it.
	Now func() time.Time
}

// Engine stores chunks and publishes complete files. Its methods are safe
// for concurrent use: the chunks of one file arrive on every partition.
type Engine struct {
	fsys  FS
	log   *logrus.Entry
	opts  Options
	stats Counters

	// barrierMu serialises barriers: one that finds nothing dirty must not
	// return before another is still syncing what it took.
	barrierMu sync.Mutex
	// failed is set by the first failed fsync; every later barrier returns
	// it (DurabilityError).
	failed atomic.Pointer[error]

	// mu guards the fields below. It is a leaf lock: never held while
	// taking a file's lock.
	mu        sync.Mutex
	files     map[string]*partialFile // the one version of a path in progress or waiting
	dirty     map[*partialFile]struct{}
	published *publishedSet
	lru       *list.List // of *partialFile with open handles, most recent first
	nameDirty bool       // names created or removed in PartialDir since its last sync
	toRemove  []string   // journals of published files, removed once that is on record
	recent    []string
	warned    map[string]struct{} // stale versions already reported

	// The publisher's queue (publish.go), guarded by mu.
	toPublish     []*partialFile
	publishFailed []*partialFile // storage trouble: retried at the next barrier
	publishErr    error
	waiting       map[*partialFile]struct{} // obstacles: retried every RetryInterval
	publishing    bool
	publisherIdle chan struct{}
	// Background verification (verify.go), guarded by mu.
	verifying    int
	verifyIdle   chan struct{}
	verifyFailed []*partialFile // storage trouble: retried at the next barrier

	retainedBytes atomic.Int64
	stopRetry     chan struct{}
	retryDone     chan struct{}
}

// Counters are the engine's running totals.
type Counters struct {
	FilesCompleted  atomic.Int64
	FilesMismatched atomic.Int64
	// FilesRejected counts files given up as bad input (a path the OS
	// refuses, a file too large for the filesystem).
	FilesRejected atomic.Int64
	// VersionsDropped counts versions whose chunks came after a newer one.
	VersionsDropped atomic.Int64
	FilesExpired    atomic.Int64
	FilesSetAside   atomic.Int64
	// ChunksCorrupt counts stored chunks found later not to match their
	// chunk hash (proof.go), and BytesCorrupt their bytes: the messages
	// that brought them were bad input, counted as stored when they came.
	ChunksCorrupt atomic.Int64
	BytesCorrupt  atomic.Int64
	// LateMismatchChunks counts the chunks that completed a file whose
	// hash, checked in the background (verify.go), did not match: Put
	// said Completed for them, where checking at once says Mismatch.
	// LateMismatchBytes are their bytes.
	LateMismatchChunks atomic.Int64
	LateMismatchBytes  atomic.Int64
}

// Open prepares the state folder and reads the record of published
// versions. It does not resume unfinished files: Recover does, so that a
// service can report that it runs first.
func Open(fsys FS, opts Options) (*Engine, error) {
	if opts.MaxOpenFiles <= 0 {
		opts.MaxOpenFiles = 64
	}
	if opts.RetryInterval <= 0 {
		opts.RetryInterval = 10 * time.Second
	}
	if opts.ExpireAfter == 0 {
		opts.ExpireAfter = DefaultExpiry
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = logrus.NewEntry(logrus.StandardLogger())
	}
	if err := mkdirAll(fsys, PartialDir, nil); err != nil {
		return nil, fmt.Errorf("create state folder %s: %w", PartialDir, err)
	}
	for _, dir := range []string{".", StateDirName} {
		if err := fsys.SyncDir(dir); err != nil {
			return nil, fmt.Errorf("sync the state folder: %w", err)
		}
	}
	hideStateDir(fsys)
	pub, err := loadPublished(fsys, publishedFile, publishedLimit)
	if err != nil {
		return nil, err
	}
	return &Engine{
		fsys:      fsys,
		log:       opts.Log,
		opts:      opts,
		files:     make(map[string]*partialFile),
		dirty:     make(map[*partialFile]struct{}),
		published: pub,
		lru:       list.New(),
		warned:    make(map[string]struct{}),
		waiting:   make(map[*partialFile]struct{}),
	}, nil
}

// Stats returns the engine's counters.
func (e *Engine) Stats() *Counters { return &e.stats }

// Put stores one chunk. A *TroubleError asks for it to be offered again
// later; a *DurabilityError means stop; any other error means the chunk
// is bad input, to be skipped.
func (e *Engine) Put(c *Chunk) (Outcome, error) {
	if err := e.failure(); err != nil {
		return 0, err
	}
	chunkSize, err := impliedChunkSize(c)
	if err != nil {
		return 0, err
	}
	checked := false
	check := func() error {
		checked = true
		if !chunkHashOK(c) {
			return &ChunkHashError{Index: c.Index, Total: c.Total}
		}
		return nil
	}
	if checkedEarly(c) {
		if err := check(); err != nil {
			return 0, err
		}
	}
	for {
		f, out, err := e.lookup(c, chunkSize, checked)
		if err == errCheckFirst {
			if err := check(); err != nil {
				return 0, err
			}
			continue
		}
		if f == nil {
			return out, err
		}
		e.makeRoom(f)
		f.mu.Lock()
		if f.done {
			// Published, superseded or dropped since the lookup: look again.
			f.mu.Unlock()
			continue
		}
		if !checked && f.needsProofLocked(c) {
			// Hashed without the file's lock, which other consumers need.
			f.mu.Unlock()
			if err := check(); err != nil {
				e.abandonIfEmpty(f)
				return 0, err
			}
			continue
		}
		out, retry, err := e.addLocked(f, c, chunkSize, checked)
		f.mu.Unlock()
		if retry {
			continue
		}
		return out, err
	}
}

// Barrier makes every chunk stored before it was called durable. Once it
// returns nil, the caller may commit the offsets of those chunks.
func (e *Engine) Barrier() error {
	e.barrierMu.Lock()
	defer e.barrierMu.Unlock()
	if err := e.failure(); err != nil {
		return err
	}
	if err := e.retryVerifications(); err != nil {
		return err
	}
	dirty := e.takeDirty()
	if err := e.waitPublished(); err != nil {
		e.giveBackDirty(dirty)
		return err
	}
	if testHookBarrierPublished != nil {
		testHookBarrierPublished()
	}
	return e.syncDurable(dirty)
}

// testHookBarrierPublished runs in Barrier once the publisher is idle: a
// test lets a background verification end there (verify_test.go).
var testHookBarrierPublished func()

// failure returns the failed fsync that poisoned the engine, if any.
func (e *Engine) failure() error {
	if p := e.failed.Load(); p != nil {
		return *p
	}
	return nil
}

// syncFailed poisons the engine: after a failed fsync nothing written since
// the last good barrier can be trusted.
func (e *Engine) syncFailed(what string, err error) error {
	de := error(&DurabilityError{fmt.Errorf("sync %s: %w", what, err)})
	if e.failed.CompareAndSwap(nil, &de) {
		e.log.Error(de.Error())
	}
	return *e.failed.Load()
}

// FileProgress describes one file that is partly received.
type FileProgress struct {
	Path           string // forward-slash relative path as it will be written
	ChunksReceived int
	ChunksTotal    int
}

// WaitingFile is a complete, verified file that cannot be put in place yet.
type WaitingFile struct {
	Path   string
	Reason string
	Since  time.Time
}

// RecentLimit is how many recently completed files Status keeps, as the
// original program does.
const RecentLimit = 50

// Status lists the files in progress, those waiting to be put in place
// and the recently completed ones.
func (e *Engine) Status() (inProgress []FileProgress, waiting []WaitingFile, recent []string) {
	e.mu.Lock()
	list := make([]*partialFile, 0, len(e.files))
	for _, f := range e.files {
		list = append(list, f)
	}
	recent = append(recent, e.recent...)
	e.mu.Unlock()
	for _, f := range list {
		if w := f.waitingInfo(); w != nil {
			waiting = append(waiting, *w)
			continue
		}
		inProgress = append(inProgress, FileProgress{Path: f.paths.Dest, ChunksReceived: int(f.received.Load()), ChunksTotal: int(f.total)})
	}
	return inProgress, waiting, recent
}

// Close stops the retries and releases open files. State on disk stays for
// the next run; call Barrier first to make it durable.
func (e *Engine) Close() {
	if e.stopRetry != nil {
		close(e.stopRetry)
		<-e.retryDone
		e.stopRetry = nil
	}
	// Nor may a verification or a publish the retries started.
	e.WaitVerified()
	e.mu.Lock()
	for e.publishing {
		idle := e.publisherIdle
		e.mu.Unlock()
		<-idle
		e.mu.Lock()
	}
	list := make([]*partialFile, 0, len(e.files))
	for _, f := range e.files {
		list = append(list, f)
	}
	e.mu.Unlock()
	for _, f := range list {
		f.mu.Lock()
		f.waitHashLocked()
		f.done = true
		f.releaseAllLocked()
		f.closeHandlesLocked()
		f.mu.Unlock()
	}
}

// mkdirAllDurable creates a folder and its parents and makes each new
// name durable: a file renamed into a folder whose own entry a power cut
// can take is lost with it, although its offsets were committed (found by
// the power-cut test).
func (e *Engine) mkdirAllDurable(dir string) error {
	return mkdirAll(e.fsys, dir, func(parent string) error {
		if err := e.fsys.SyncDir(parent); err != nil {
			return e.syncFailed("folder "+parent, err)
		}
		return nil
	})
}

// mkdirAll creates a folder and its parents through an FS, calling made
// (when not nil) with the parent of each folder it created.
func mkdirAll(fsys FS, dir string, made func(parent string) error) error {
	if dir == "." || dir == "" {
		return nil
	}
	if fi, err := fsys.Lstat(dir); err == nil {
		if fi.IsDir() {
			return nil
		}
		return &fs.PathError{Op: "mkdir", Path: dir, Err: errNotDir}
	}
	parent := parentDir(dir)
	if err := mkdirAll(fsys, parent, made); err != nil {
		return err
	}
	if err := fsys.Mkdir(dir, 0o755); err != nil {
		if fi, serr := fsys.Lstat(dir); serr != nil || !fi.IsDir() {
			return err
		}
		// Made meanwhile: its parent is synced below all the same.
	}
	if made == nil {
		return nil
	}
	return made(parent)
}

func parentDir(p string) string {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '/' {
			return p[:i]
		}
	}
	return "."
}
