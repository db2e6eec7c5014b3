package storage

import (
	"errors"
	"io/fs"
	"os"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// Creating and publishing a small file through os.Root took about 24 system
// calls, of which some 16 were not the create, write, sync and rename
// themselves: each name's folders are opened and closed again on every call,
// and a file opened by os tries (and fails) to join the network poller, four
// fcntl and an epoll_ctl (strace of 50 files of 64 KiB). So the
// state folder (the program's own) and the output folder stay open: files
// are created with openat relative to the state folder, and leave it with
// renameat into their destination folder, which is opened afresh each time
// (a user may move or delete it at any time), one component at a time.
//
// Safety is that of os.Root: both folders were opened through the root, the
// names used with them are single components, O_NOFOLLOW refuses a symlink
// in their place, and renameat never follows the new name. Where os.Root
// would follow a symlink that stays inside the root, or resolve "..", the
// shortcut steps aside and os.Root does the operation.

// dirHandle is a folder of the root, opened on first use.
type dirHandle struct {
	root *os.Root
	name string

	mu sync.Mutex
	f  *os.File
}

func newDirHandle(root *os.Root, name string) *dirHandle { return &dirHandle{root: root, name: name} }

// do runs fn with the folder's descriptor, which stays open meanwhile.
func (d *dirHandle) do(fn func(fd int) error) error {
	d.mu.Lock()
	if d.f == nil {
		f, err := d.root.Open(d.name)
		if err != nil {
			d.mu.Unlock()
			return err
		}
		d.f = f
	}
	f := d.f
	d.mu.Unlock()
	return withFD(f, fn)
}

// withFD runs fn with the descriptor of an open file, and returns fn's
// error or the one of reaching the descriptor.
func withFD(sc syscall.Conn, fn func(fd int) error) error {
	rc, err := sc.SyscallConn()
	if err != nil {
		return err
	}
	var fnErr error
	if err := rc.Control(func(fd uintptr) { fnErr = fn(int(fd)) }); err != nil {
		return err
	}
	return fnErr
}

func (d *dirHandle) sync() error {
	return d.do(func(fd int) error {
		return ignoringEINTR(func() error { return unix.Fsync(fd) })
	})
}

func (d *dirHandle) close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.f == nil {
		return nil
	}
	err := d.f.Close()
	d.f = nil
	return err
}

func (r RootFS) openInPartial(name string, flag int, perm fs.FileMode) (File, bool, error) {
	base, ok := inPartial(name)
	if !ok || r.partial == nil {
		return nil, false, nil
	}
	var nfd int
	err := r.partial.do(func(dirfd int) error {
		return ignoringEINTR(func() error {
			var err error
			nfd, err = unix.Openat(dirfd, base, flag|unix.O_NOFOLLOW|unix.O_CLOEXEC, uint32(perm.Perm()))
			return err
		})
	})
	if err != nil {
		return nil, true, &fs.PathError{Op: "openat", Path: name, Err: err}
	}
	// os.NewFile, unlike os.Root.OpenFile, does not try the poller with a
	// descriptor in blocking mode.
	return os.NewFile(uintptr(nfd), r.Root.Name()+"/"+name), true, nil
}

func (r RootFS) renameFromPartial(oldname, newname string) (bool, error) {
	base, ok := inPartial(oldname)
	if !ok || r.partial == nil {
		return false, nil
	}
	dir := parentDir(newname)
	newBase := newname[strings.LastIndexByte(newname, '/')+1:]
	if newBase == "" || newBase == "." || newBase == ".." {
		return false, nil // os.Root's rules, and its errors, for odd names
	}
	newfd, ok, err := r.openDirFast(dir)
	if !ok {
		return false, nil
	}
	if err == nil {
		err = r.partial.do(func(oldfd int) error {
			return ignoringEINTR(func() error { return unix.Renameat(oldfd, base, newfd, newBase) })
		})
		unix.Close(newfd)
	}
	if err == unix.EISDIR {
		err = unix.EEXIST // as os.Root says of a file renamed onto a folder
	}
	if err != nil {
		return true, &os.LinkError{Op: "renameat", Old: oldname, New: newname, Err: err}
	}
	return true, nil
}

// openDirFast opens a folder of the root with openDirAt. ok is false for
// a folder to leave to os.Root.
func (r RootFS) openDirFast(dir string) (fd int, ok bool, err error) {
	if r.top == nil {
		return -1, false, nil
	}
	err = r.top.do(func(rootfd int) error {
		var err error
		fd, err = openDirAt(rootfd, dir)
		return err
	})
	if err == errOddPath || err == unix.ELOOP || err == unix.ENOTDIR {
		// A symlink (O_NOFOLLOW: ELOOP, or ENOTDIR with O_DIRECTORY), which
		// os.Root follows while it stays inside the root: leave it to os.Root.
		return -1, false, nil
	}
	return fd, true, err
}

// syncDirFast syncs a folder opened with openDirAt, not through os.Root.
func (r RootFS) syncDirFast(name string) (bool, error) {
	fd, ok, err := r.openDirFast(name)
	if !ok {
		return false, nil
	}
	if err != nil {
		return true, &fs.PathError{Op: "openat", Path: name, Err: err}
	}
	err = ignoringEINTR(func() error { return unix.Fsync(fd) })
	unix.Close(fd)
	if err != nil {
		return true, &fs.PathError{Op: "fsync", Path: name, Err: err}
	}
	return true, nil
}

var errOddPath = errors.New("a path for os.Root to resolve")

// openDirAt opens the folder dir (forward slashes, relative) under the
// folder rootfd, one component at a time, without following symlinks
// (ELOOP or ENOTDIR); names with "." or ".." components are left to
// os.Root (errOddPath).
func openDirAt(rootfd int, dir string) (int, error) {
	if dir == "." {
		return openDirOne(rootfd, ".")
	}
	fd := rootfd
	for _, name := range strings.Split(dir, "/") {
		if name == "" || name == "." || name == ".." {
			if fd != rootfd {
				unix.Close(fd)
			}
			return -1, errOddPath
		}
		next, err := openDirOne(fd, name)
		if fd != rootfd {
			unix.Close(fd)
		}
		if err != nil {
			return -1, err
		}
		fd = next
	}
	return fd, nil
}

func openDirOne(dirfd int, name string) (int, error) {
	var fd int
	err := ignoringEINTR(func() error {
		var err error
		fd, err = unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		return err
	})
	return fd, err
}

func ignoringEINTR(fn func() error) error {
	for {
		if err := fn(); err != unix.EINTR {
			return err
		}
	}
}
