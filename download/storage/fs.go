package storage

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"strings"
)

// FS is every file operation the storage engine does, with names relative
// to the output folder and forward slashes. In production it is an
// *os.Root (see RootFS); in tests a recording filesystem stands in for it,
// so that a power cut can be simulated at every operation (crash_test.go).
//
// Durability follows POSIX: data written to a file is durable once that
// file is synced; a create, rename or remove of a name is durable once the
// folder holding the name is synced (SyncDir).
type FS interface {
	OpenFile(name string, flag int, perm fs.FileMode) (File, error)
	Rename(oldname, newname string) error
	Remove(name string) error
	Mkdir(name string, perm fs.FileMode) error
	Lstat(name string) (fs.FileInfo, error)
	ReadDir(name string) ([]fs.DirEntry, error)
	// SyncDir makes the creates, renames and removes in a folder durable.
	// Windows cannot sync a folder (NTFS journals its metadata): a no-op there.
	SyncDir(name string) error
}

// File is an open file of an FS. The engine writes only at explicit
// offsets, which keeps it free of shared file positions.
type File interface {
	io.ReaderAt
	io.WriterAt
	Sync() error
	Truncate(size int64) error
	Close() error
}

// RootFS is the FS of an os.Root: every name stays inside the root, whatever
// symlinks or ".." it holds. One made by NewRootFS also keeps the state
// folder open (see fs_linux.go) and must be closed.
type RootFS struct {
	Root *os.Root
	// partial and top are the open state folder PartialDir and the root
	// itself, or nil: then every operation goes through Root.
	partial, top *dirHandle
}

// NewRootFS returns the FS of root that keeps PartialDir open where that
// saves system calls (Linux). Close it before the root.
func NewRootFS(root *os.Root) RootFS {
	return RootFS{Root: root, partial: newDirHandle(root, PartialDir), top: newDirHandle(root, ".")}
}

// Close releases the folder RootFS keeps open.
func (r RootFS) Close() error {
	if r.partial == nil {
		return nil
	}
	return errors.Join(r.partial.close(), r.top.close())
}

func (r RootFS) OpenFile(name string, flag int, perm fs.FileMode) (File, error) {
	if f, ok, err := r.openInPartial(name, flag, perm); ok {
		return f, err
	}
	f, err := r.Root.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err // a nil *os.File must not become a non-nil File
	}
	return f, nil
}

func (r RootFS) Rename(oldname, newname string) error {
	if ok, err := r.renameFromPartial(oldname, newname); ok {
		return err
	}
	return r.Root.Rename(oldname, newname)
}

func (r RootFS) Remove(name string) error { return r.Root.Remove(name) }
func (r RootFS) Mkdir(name string, perm fs.FileMode) error {
	return r.Root.Mkdir(name, perm)
}
func (r RootFS) Lstat(name string) (fs.FileInfo, error) { return r.Root.Lstat(name) }

func (r RootFS) ReadDir(name string) ([]fs.DirEntry, error) {
	d, err := r.Root.Open(name)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	return d.ReadDir(-1)
}

func (r RootFS) SyncDir(name string) error {
	if r.partial != nil && name == PartialDir {
		return r.partial.sync()
	}
	if ok, err := r.syncDirFast(name); ok {
		return err
	}
	return syncDir(r.Root, name)
}

// inPartial returns the name of a file directly in PartialDir.
func inPartial(name string) (base string, ok bool) {
	base, ok = strings.CutPrefix(name, PartialDir+"/")
	return base, ok && base != "" && !strings.Contains(base, "/")
}
