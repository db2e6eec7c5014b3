//go:build !linux

package storage

// dropCache is a no-op where posix_fadvise is missing (Windows, macOS):
// see dropcache_linux.go.
func dropCache(File, int64, int64) {}
