//go:build !windows

package storage

import "syscall"

var errNotDir error = syscall.ENOTDIR

// hideStateDir: a leading dot hides the state folder off Windows.
func hideStateDir(FS) {}
