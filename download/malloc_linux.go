//go:build linux && cgo

package download

/*
#include <malloc.h>

static void keepMallocArenas(void) {
	// Blocks up to 32 MiB (the most glibc allows) come from its arenas,
	// not from an mmap of their own, and arenas are not trimmed until
	// 256 MiB at their top are free.
	mallopt(M_MMAP_THRESHOLD, 32 << 20);
	mallopt(M_TRIM_THRESHOLD, 256 << 20);
}
*/
import "C"

import "sync"

var mallocOnce sync.Once

// tuneMalloc keeps the memory librdkafka frees for its next fetch. With
// glibc's defaults its receive buffers, a megabyte or more each, are
// mapped for each fetch response and unmapped after: every byte received
// then lands in pages that the kernel must fault in and clear again (a
// tenth of this program's CPU on a 2 GiB file, in perf). Measured on
// workloads A and B at half size, 3 runs each way round: 2.1-2.4 instead
// of 2.7 CPU s per GiB, for 15-20 MiB more peak RSS (84-88 instead of
// 66-69 MiB), which the prefetch bound keeps bounded.
func tuneMalloc() { mallocOnce.Do(func() { C.keepMallocArenas() }) }
