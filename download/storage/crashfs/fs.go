// Package crashfs is an in-memory filesystem for tests of the storage
// engine: it implements storage.FS with POSIX semantics, records every
// operation that changes the disk or its durability, and rebuilds the disk
// states a power cut after any recorded operation may leave (crash.go), in
// the manner of CrashMonkey, ALICE and SQLite's crash-test VFS. Check
// (driver.go) runs a workload once and checks every such state.
package crashfs

import (
	"io/fs"
	"os"
	"path"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/openmsi/datafiledownloaddirectory/download/storage"
)

// Config chooses the semantics of an FS.
type Config struct {
	// WindowsSemantics refuses, with ErrAccessDenied, to rename over or
	// remove a file that is open, to rename an open file, to rename or
	// remove a folder holding an open file: what NTFS does for a Go
	// program (os.Open shares no delete access), and FAT, exFAT and SMB
	// too. Names stay case-sensitive.
	WindowsSemantics bool
	// MaxFileSize bounds a file (EFBIG past it), since every byte is held
	// in memory. 0 means 64 MiB.
	MaxFileSize int64
	// Start is the clock at New; zero means 2025-01-01 00:00 UTC.
	Start time.Time
}

// FS is a recording in-memory filesystem. It is safe for concurrent use;
// the order of the trace is the order in which operations took its lock.
type FS struct {
	cfg Config

	mu   sync.Mutex
	t    *tree
	now  time.Time
	open map[int]int // open handles by inode number
	base *tree       // frozen: the durable state recording started from
	t0   time.Time   // clock when recording started
	ops  []Op
}

var _ storage.FS = (*FS)(nil)

// New returns an empty FS with POSIX (Linux) semantics.
func New() *FS { return NewConfig(Config{}) }

// NewConfig returns an empty FS with the given semantics.
func NewConfig(cfg Config) *FS {
	if cfg.MaxFileSize <= 0 {
		cfg.MaxFileSize = 64 << 20
	}
	if cfg.Start.IsZero() {
		cfg.Start = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	return fromTree(newTree(cfg.Start), cfg, cfg.Start)
}

// fromTree makes an FS over t (which it then owns) that records from t.
func fromTree(t *tree, cfg Config, now time.Time) *FS {
	return &FS{cfg: cfg, t: t, now: now, open: map[int]int{}, base: t.snapshot(), t0: now}
}

// Now is the FS clock: the modification time it gives files and folders.
func (f *FS) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// Advance moves the clock forward by d.
func (f *FS) Advance(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	f.mu.Unlock()
}

// SetNow sets the clock.
func (f *FS) SetNow(t time.Time) {
	f.mu.Lock()
	f.now = t
	f.mu.Unlock()
}

// Len is the number of operations recorded so far: the current crash point.
func (f *FS) Len() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.ops)
}

// Trace returns what was recorded so far. Later operations do not change it.
func (f *FS) Trace() *Trace {
	f.mu.Lock()
	defer f.mu.Unlock()
	return &Trace{base: f.base, start: f.t0, cfg: f.cfg, ops: slices.Clip(f.ops)}
}

func (f *FS) recordLocked(o Op) {
	o.Time = f.now
	f.ops = append(f.ops, o)
}

// ErrAccessDenied is the error of an operation that Windows refuses
// because a file is open (Config.WindowsSemantics). It matches
// fs.ErrPermission, as Windows' ERROR_ACCESS_DENIED does.
var ErrAccessDenied error = accessDenied{}

type accessDenied struct{}

func (accessDenied) Error() string {
	return "access is denied: the file, or a file in the folder, is open (Windows semantics)"
}
func (accessDenied) Is(target error) bool { return target == fs.ErrPermission }

func pathErr(op, name string, err error) error { return &fs.PathError{Op: op, Path: name, Err: err} }

// clean turns a name into the slash-separated path inside the root ("."
// for the root itself), as os.Root resolves it when there are no symlinks.
func clean(name string) (string, error) {
	if name == "" {
		return "", syscall.ENOENT
	}
	p := path.Clean(name)
	if !fs.ValidPath(p) {
		return "", syscall.EINVAL // absolute, or escapes the root with ".."
	}
	return p, nil
}

// walk resolves the folder holding p and p's last element.
func (f *FS) walkLocked(p string) (dir int, base string, err error) {
	if p == "." {
		return 0, ".", nil
	}
	dir = 0
	for {
		i := 0
		for i < len(p) && p[i] != '/' {
			i++
		}
		if i == len(p) {
			return dir, p, nil
		}
		n, ok := f.t.inodes[dir].entries[p[:i]]
		if !ok {
			return 0, "", syscall.ENOENT
		}
		if !f.t.inodes[n].dir {
			return 0, "", syscall.ENOTDIR
		}
		dir, p = n, p[i+1:]
	}
}

// lookupLocked resolves a cleaned path to an inode number.
func (f *FS) lookupLocked(p string) (int, error) {
	if p == "." {
		return 0, nil
	}
	dir, base, err := f.walkLocked(p)
	if err != nil {
		return 0, err
	}
	n, ok := f.t.inodes[dir].entries[base]
	if !ok {
		return 0, syscall.ENOENT
	}
	return n, nil
}

func (f *FS) touchLocked(ino int) { f.t.mut(ino).mtime = f.now }

// Mkdir makes a folder.
func (f *FS) Mkdir(name string, perm fs.FileMode) error {
	p, err := clean(name)
	if err != nil {
		return pathErr("mkdir", name, err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if p == "." {
		return pathErr("mkdir", name, syscall.EEXIST)
	}
	dir, base, err := f.walkLocked(p)
	if err != nil {
		return pathErr("mkdir", name, err)
	}
	if _, ok := f.t.inodes[dir].entries[base]; ok {
		return pathErr("mkdir", name, syscall.EEXIST)
	}
	ino := f.t.add(newDir(perm, f.now))
	f.t.mut(dir).setEntry(base, ino)
	f.touchLocked(dir)
	f.recordLocked(Op{Kind: OpMkdir, Path: p, ino: ino, dir: dir, name: base, perm: perm})
	return nil
}

// Remove removes a file or an empty folder, as os.Remove does.
func (f *FS) Remove(name string) error {
	p, err := clean(name)
	if err != nil {
		return pathErr("remove", name, err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if p == "." {
		return pathErr("remove", name, syscall.EINVAL)
	}
	dir, base, err := f.walkLocked(p)
	if err != nil {
		return pathErr("remove", name, err)
	}
	ino, ok := f.t.inodes[dir].entries[base]
	if !ok {
		return pathErr("remove", name, syscall.ENOENT)
	}
	if n := f.t.inodes[ino]; n.dir && len(n.entries) > 0 {
		return pathErr("remove", name, syscall.ENOTEMPTY)
	}
	if f.cfg.WindowsSemantics && f.openInsideLocked(ino) {
		return pathErr("remove", name, ErrAccessDenied)
	}
	f.t.mut(dir).deleteEntry(base)
	f.touchLocked(dir)
	f.recordLocked(Op{Kind: OpRemove, Path: p, ino: ino, dir: dir, name: base})
	return nil
}

// openInsideLocked says whether inode ino, or anything in the folder ino, is open.
func (f *FS) openInsideLocked(ino int) bool {
	if f.open[ino] > 0 {
		return true
	}
	for _, c := range f.t.inodes[ino].entries {
		if f.openInsideLocked(c) {
			return true
		}
	}
	return false
}

// Rename moves a file or folder, atomically replacing a file at newname,
// with the errors of os.Root.Rename: rename(2)'s, and EEXIST when newname
// is a folder (Go's os.Rename refuses to replace a folder, even an empty one).
func (f *FS) Rename(oldname, newname string) error {
	lerr := func(err error) error { return &os.LinkError{Op: "rename", Old: oldname, New: newname, Err: err} }
	op, err := clean(oldname)
	if err != nil {
		return lerr(err)
	}
	np, err := clean(newname)
	if err != nil {
		return lerr(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if op == "." || np == "." {
		return lerr(syscall.EBUSY)
	}
	odir, obase, err := f.walkLocked(op)
	if err != nil {
		return lerr(err)
	}
	ndir, nbase, err := f.walkLocked(np)
	if err != nil {
		return lerr(err) // rename(2) resolves both folders before the names
	}
	ino, ok := f.t.inodes[odir].entries[obase]
	if !ok {
		return lerr(syscall.ENOENT)
	}
	src := f.t.inodes[ino]
	dst, exists := f.t.inodes[ndir].entries[nbase]
	if exists && f.t.inodes[dst].dir {
		return lerr(syscall.EEXIST) // os.Rename and os.Root.Rename never replace a folder, nor rename one onto itself
	}
	if exists && dst == ino {
		return nil // rename(2): both names are the same file, nothing happens
	}
	if src.dir && (np == op || len(np) > len(op) && np[:len(op)+1] == op+"/") {
		return lerr(syscall.EINVAL) // a folder into itself
	}
	if exists && src.dir {
		return lerr(syscall.ENOTDIR)
	}
	if f.cfg.WindowsSemantics && (f.openInsideLocked(ino) || exists && f.openInsideLocked(dst)) {
		return lerr(ErrAccessDenied)
	}
	f.t.mut(odir).deleteEntry(obase)
	f.t.mut(ndir).setEntry(nbase, ino)
	f.touchLocked(odir)
	f.touchLocked(ndir)
	f.recordLocked(Op{Kind: OpRename, Path: op, NewPath: np, ino: ino, dir: odir, name: obase, newDir: ndir, newName: nbase})
	return nil
}

// Lstat describes a file or folder (there are no symlinks).
func (f *FS) Lstat(name string) (fs.FileInfo, error) {
	p, err := clean(name)
	if err != nil {
		return nil, pathErr("lstat", name, err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	ino, err := f.lookupLocked(p)
	if err != nil {
		return nil, pathErr("lstat", name, err)
	}
	return f.infoLocked(path.Base(p), ino), nil
}

func (f *FS) infoLocked(name string, ino int) fileInfo {
	n := f.t.inodes[ino]
	return fileInfo{name: name, size: int64(len(n.data)), mode: n.perm, mtime: n.mtime}
}

// ReadDir lists a folder sorted by name, as os.ReadDir does.
func (f *FS) ReadDir(name string) ([]fs.DirEntry, error) {
	p, err := clean(name)
	if err != nil {
		return nil, pathErr("readdirent", name, err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	ino, err := f.lookupLocked(p)
	if err != nil {
		return nil, pathErr("open", name, err)
	}
	n := f.t.inodes[ino]
	if !n.dir {
		return nil, pathErr("readdirent", name, syscall.ENOTDIR)
	}
	names := make([]string, 0, len(n.entries))
	for k := range n.entries {
		names = append(names, k)
	}
	slices.Sort(names)
	out := make([]fs.DirEntry, len(names))
	for i, k := range names {
		out[i] = fs.FileInfoToDirEntry(f.infoLocked(k, n.entries[k]))
	}
	return out, nil
}

// SyncDir makes the creates, renames and removes in a folder durable.
func (f *FS) SyncDir(name string) error {
	p, err := clean(name)
	if err != nil {
		return pathErr("sync", name, err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	ino, err := f.lookupLocked(p)
	if err != nil {
		return pathErr("open", name, err)
	}
	if !f.t.inodes[ino].dir {
		return pathErr("sync", name, syscall.ENOTDIR)
	}
	f.recordLocked(Op{Kind: OpSyncDir, Path: p, ino: ino})
	return nil
}

type fileInfo struct {
	name  string
	size  int64
	mode  fs.FileMode
	mtime time.Time
}

func (i fileInfo) Name() string       { return i.name }
func (i fileInfo) Size() int64        { return i.size }
func (i fileInfo) Mode() fs.FileMode  { return i.mode }
func (i fileInfo) ModTime() time.Time { return i.mtime }
func (i fileInfo) IsDir() bool        { return i.mode.IsDir() }
func (i fileInfo) Sys() any           { return nil }
