package crashfs

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"syscall"

	"github.com/openmsi/datafiledownloaddirectory/download/storage"
)

// File is an open file or folder of an FS. Besides storage.File it has the
// Read, Write, Seek, Stat and Name of an *os.File, for helpers that want
// them; like an *os.File, it is safe for concurrent use.
type File struct {
	fs    *FS
	ino   int
	name  string
	flag  int
	pos   int64 // under fs.mu
	shut  bool  // closed; under fs.mu
	write bool
	read  bool
}

var _ storage.File = (*File)(nil)

var errAppendWriteAt = errors.New("os: invalid use of WriteAt on file opened with O_APPEND")
var errNegativeOffset = errors.New("negative offset")

// OpenFile opens or creates a file as os.OpenFile does, flags included.
// A folder opens read-only; its Sync is a SyncDir.
func (f *FS) OpenFile(name string, flag int, perm fs.FileMode) (storage.File, error) {
	p, err := clean(name)
	if err != nil {
		return nil, pathErr("open", name, err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	acc := flag & (os.O_RDONLY | os.O_WRONLY | os.O_RDWR)
	h := &File{fs: f, name: name, flag: flag, read: acc != os.O_WRONLY, write: acc != os.O_RDONLY}
	dir, base, err := f.walkLocked(p)
	if err != nil {
		return nil, pathErr("open", name, err)
	}
	ino, exists := f.t.inodes[dir].entries[base]
	if p == "." {
		ino, exists = 0, true
	}
	switch {
	case !exists && flag&os.O_CREATE == 0:
		return nil, pathErr("open", name, syscall.ENOENT)
	case !exists:
		ino = f.t.add(newFile(perm, f.now))
		f.t.mut(dir).setEntry(base, ino)
		f.touchLocked(dir)
		f.recordLocked(Op{Kind: OpCreate, Path: p, ino: ino, dir: dir, name: base, perm: perm})
	case flag&(os.O_CREATE|os.O_EXCL) == os.O_CREATE|os.O_EXCL:
		return nil, pathErr("open", name, syscall.EEXIST)
	case f.t.inodes[ino].dir:
		if h.write || flag&os.O_TRUNC != 0 {
			return nil, pathErr("open", name, syscall.EISDIR)
		}
	case flag&os.O_TRUNC != 0 && h.write && len(f.t.inodes[ino].data) > 0:
		f.t.mut(ino).truncate(0)
		f.touchLocked(ino)
		f.recordLocked(Op{Kind: OpTruncate, Path: p, ino: ino})
	}
	h.ino = ino
	h.name = p
	f.open[ino]++
	return h, nil
}

func (h *File) checkLocked(op string, write bool) error {
	switch {
	case h.shut:
		return pathErr(op, h.name, fs.ErrClosed)
	case write && !h.write, !write && !h.read:
		return pathErr(op, h.name, syscall.EBADF)
	case h.fs.t.inodes[h.ino].dir:
		return pathErr(op, h.name, syscall.EISDIR)
	}
	return nil
}

// ReadAt reads as os.File.ReadAt: io.EOF when fewer than len(p) bytes remain.
func (h *File) ReadAt(p []byte, off int64) (int, error) {
	h.fs.mu.Lock()
	defer h.fs.mu.Unlock()
	if err := h.checkLocked("read", false); err != nil {
		return 0, err
	}
	if off < 0 {
		return 0, pathErr("readat", h.name, errNegativeOffset)
	}
	return h.readLocked(p, off)
}

func (h *File) readLocked(p []byte, off int64) (int, error) {
	data := h.fs.t.inodes[h.ino].data
	if off >= int64(len(data)) {
		if len(p) == 0 {
			return 0, nil
		}
		return 0, io.EOF
	}
	n := copy(p, data[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// Read reads at the file position, as os.File.Read.
func (h *File) Read(p []byte) (int, error) {
	h.fs.mu.Lock()
	defer h.fs.mu.Unlock()
	if err := h.checkLocked("read", false); err != nil {
		return 0, err
	}
	n, err := h.readLocked(p, h.pos)
	h.pos += int64(n)
	if n > 0 && err == io.EOF {
		err = nil
	}
	return n, err
}

// WriteAt writes as os.File.WriteAt, refused on an O_APPEND file.
func (h *File) WriteAt(p []byte, off int64) (int, error) {
	h.fs.mu.Lock()
	defer h.fs.mu.Unlock()
	if err := h.checkLocked("write", true); err != nil {
		return 0, err
	}
	if h.flag&os.O_APPEND != 0 {
		return 0, errAppendWriteAt
	}
	if off < 0 {
		return 0, pathErr("writeat", h.name, errNegativeOffset)
	}
	return h.writeLocked(p, off)
}

// Write writes at the file position, or at the end with O_APPEND.
func (h *File) Write(p []byte) (int, error) {
	h.fs.mu.Lock()
	defer h.fs.mu.Unlock()
	if err := h.checkLocked("write", true); err != nil {
		return 0, err
	}
	if h.flag&os.O_APPEND != 0 {
		h.pos = int64(len(h.fs.t.inodes[h.ino].data))
	}
	n, err := h.writeLocked(p, h.pos)
	h.pos += int64(n)
	return n, err
}

func (h *File) writeLocked(p []byte, off int64) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if off+int64(len(p)) > h.fs.cfg.MaxFileSize || off+int64(len(p)) < off {
		return 0, pathErr("write", h.name, syscall.EFBIG)
	}
	f := h.fs
	n := f.t.mut(h.ino)
	n.writeAt(p, off)
	n.mtime = f.now
	f.recordLocked(Op{Kind: OpWrite, Path: h.name, ino: h.ino, Off: off, Data: append([]byte(nil), p...)})
	return len(p), nil
}

// Seek sets the position of Read and Write, as os.File.Seek.
func (h *File) Seek(offset int64, whence int) (int64, error) {
	h.fs.mu.Lock()
	defer h.fs.mu.Unlock()
	if h.shut {
		return 0, pathErr("seek", h.name, fs.ErrClosed)
	}
	switch whence {
	case io.SeekCurrent:
		offset += h.pos
	case io.SeekEnd:
		offset += int64(len(h.fs.t.inodes[h.ino].data))
	case io.SeekStart:
	default:
		return 0, pathErr("seek", h.name, syscall.EINVAL)
	}
	if offset < 0 {
		return 0, pathErr("seek", h.name, syscall.EINVAL)
	}
	h.pos = offset
	return offset, nil
}

// Truncate sets the file's size; growing it adds zeros.
func (h *File) Truncate(size int64) error {
	h.fs.mu.Lock()
	defer h.fs.mu.Unlock()
	if h.shut {
		return pathErr("truncate", h.name, fs.ErrClosed)
	}
	if h.fs.t.inodes[h.ino].dir || !h.write || size < 0 {
		return pathErr("truncate", h.name, syscall.EINVAL) // what ftruncate(2) says for all three
	}
	if size > h.fs.cfg.MaxFileSize {
		return pathErr("truncate", h.name, syscall.EFBIG)
	}
	f := h.fs
	n := f.t.mut(h.ino)
	n.truncate(size)
	n.mtime = f.now
	f.recordLocked(Op{Kind: OpTruncate, Path: h.name, ino: h.ino, Size: size})
	return nil
}

// Sync makes the file's data durable; for a folder handle, its names.
func (h *File) Sync() error {
	h.fs.mu.Lock()
	defer h.fs.mu.Unlock()
	if h.shut {
		return pathErr("sync", h.name, fs.ErrClosed)
	}
	kind := OpSync
	if h.fs.t.inodes[h.ino].dir {
		kind = OpSyncDir
	}
	h.fs.recordLocked(Op{Kind: kind, Path: h.name, ino: h.ino})
	return nil
}

// Close closes the handle; a second Close fails as with *os.File.
func (h *File) Close() error {
	h.fs.mu.Lock()
	defer h.fs.mu.Unlock()
	if h.shut {
		return pathErr("close", h.name, fs.ErrClosed)
	}
	h.shut = true
	if h.fs.open[h.ino]--; h.fs.open[h.ino] == 0 {
		delete(h.fs.open, h.ino)
	}
	return nil
}

// Stat describes the open file, even after its name was removed.
func (h *File) Stat() (fs.FileInfo, error) {
	h.fs.mu.Lock()
	defer h.fs.mu.Unlock()
	if h.shut {
		return nil, pathErr("stat", h.name, fs.ErrClosed)
	}
	return h.fs.infoLocked(path.Base(h.name), h.ino), nil
}

// Name is the name the file was opened with, cleaned.
func (h *File) Name() string { return h.name }
