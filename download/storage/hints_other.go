//go:build !linux

package storage

// Where posix_fadvise and fallocate are missing (Windows, macOS) the
// engine gives the kernel no hints: see hints_linux.go.

func dropCache(File, int64, int64) {}

func preallocate(File, int64, int64) bool { return false }
