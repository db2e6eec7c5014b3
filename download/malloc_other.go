//go:build !linux || !cgo

package download

// tuneMalloc is for glibc's allocator (malloc_linux.go); Windows' and
// others' are left as they are.
func tuneMalloc() {}
