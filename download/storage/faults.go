package storage

import (
	"io/fs"
	"os"
	"sync/atomic"
)

// Faults wraps an FS and lets tests (of this package and of its users) fail
// chosen operations, to put disk trouble under the engine; production code
// never uses it. Each hook,
// when set, fails its operation by returning an error (an errno), which is
// wrapped as the os package would wrap it.
type Faults struct {
	FS
	FailRename  func(oldname, newname string) error
	FailOpen    func(name string) error
	FailRead    func(name string) error
	FailSync    func(name string) error
	FailSyncDir func(name string) error
	// FailWrite returns handled=true to replace the write with its result
	// (a partial write, say).
	FailWrite func(name string, b []byte, off int64) (n int, err error, handled bool)
	// Opened and MaxOpen, when set, count the files open now and at most.
	Opened  *atomic.Int64
	MaxOpen *atomic.Int64
}

func (f *Faults) Rename(o, n string) error {
	if f.FailRename != nil {
		if err := f.FailRename(o, n); err != nil {
			return &os.LinkError{Op: "rename", Old: o, New: n, Err: err}
		}
	}
	return f.FS.Rename(o, n)
}

func (f *Faults) SyncDir(name string) error {
	if f.FailSyncDir != nil {
		if err := f.FailSyncDir(name); err != nil {
			return &fs.PathError{Op: "sync", Path: name, Err: err}
		}
	}
	return f.FS.SyncDir(name)
}

func (f *Faults) OpenFile(name string, flag int, perm fs.FileMode) (File, error) {
	if f.FailOpen != nil {
		if err := f.FailOpen(name); err != nil {
			return nil, &fs.PathError{Op: "open", Path: name, Err: err}
		}
	}
	file, err := f.FS.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	if f.Opened != nil {
		n := f.Opened.Add(1)
		for m := f.MaxOpen.Load(); n > m && !f.MaxOpen.CompareAndSwap(m, n); m = f.MaxOpen.Load() {
		}
	}
	return &faultFile{File: file, name: name, fs: f}, nil
}

type faultFile struct {
	File
	name   string
	fs     *Faults
	closed bool
}

func (f *faultFile) WriteAt(b []byte, off int64) (int, error) {
	if f.fs.FailWrite != nil {
		if n, err, ok := f.fs.FailWrite(f.name, b, off); ok {
			return n, err
		}
	}
	return f.File.WriteAt(b, off)
}

func (f *faultFile) ReadAt(b []byte, off int64) (int, error) {
	if f.fs.FailRead != nil {
		if err := f.fs.FailRead(f.name); err != nil {
			return 0, &fs.PathError{Op: "read", Path: f.name, Err: err}
		}
	}
	return f.File.ReadAt(b, off)
}

func (f *faultFile) Sync() error {
	if f.fs.FailSync != nil {
		if err := f.fs.FailSync(f.name); err != nil {
			return &fs.PathError{Op: "sync", Path: f.name, Err: err}
		}
	}
	return f.File.Sync()
}

func (f *faultFile) Close() error {
	if f.fs.Opened != nil && !f.closed {
		f.fs.Opened.Add(-1)
	}
	f.closed = true
	return f.File.Close()
}
