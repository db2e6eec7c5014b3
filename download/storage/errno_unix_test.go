//go:build !windows

package storage

import "syscall"

// errDiskFull is what a write to a full disk fails with here.
var errDiskFull error = syscall.ENOSPC

// longPathParts is how many 250-byte folders the long-path test nests:
// Linux walks a path one folder at a time, so only each name is limited.
const longPathParts = 400
