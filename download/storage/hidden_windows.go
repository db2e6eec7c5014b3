package storage

import (
	"path/filepath"
	"syscall"

	"golang.org/x/sys/windows"
)

var errNotDir error = syscall.ENOTDIR

// hideStateDir gives the state folder the hidden attribute, which is what
// hides a folder in Explorer (a leading dot does not). Failing to is only
// cosmetic.
func hideStateDir(fsys FS) {
	r, ok := fsys.(RootFS)
	if !ok {
		return
	}
	p, err := windows.UTF16PtrFromString(filepath.Join(r.Root.Name(), StateDirName))
	if err != nil {
		return
	}
	attrs, err := windows.GetFileAttributes(p)
	if err != nil {
		return
	}
	_ = windows.SetFileAttributes(p, attrs|windows.FILE_ATTRIBUTE_HIDDEN)
}
