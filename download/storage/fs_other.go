//go:build !linux

package storage

import (
	"io/fs"
	"os"
)

// Elsewhere every operation goes through the os.Root (fs_linux.go says why
// Linux does otherwise).
type dirHandle struct{}

func newDirHandle(*os.Root, string) *dirHandle { return nil }
func (*dirHandle) close() error                { return nil }
func (*dirHandle) sync() error                 { return nil }

func (RootFS) openInPartial(string, int, fs.FileMode) (File, bool, error) { return nil, false, nil }
func (RootFS) renameFromPartial(string, string) (bool, error)             { return false, nil }
func (RootFS) syncDirFast(string) (bool, error)                           { return false, nil }
