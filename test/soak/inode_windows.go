package soak

import "io/fs"

// inode is not available on Windows, where the soak does not run.
func inode(fs.FileInfo) uint64 { return 0 }
