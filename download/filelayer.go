package download

import "os"

// The file operations through which disk trouble (full, read-only,
// permission denied, I/O errors) reaches the assembler. They are variables
// only so that unit tests can make them fail at chosen moments, part-way
// included (faults_test.go); nothing else replaces them.
var (
	writeAt  = (*os.File).WriteAt
	write    = (*os.File).Write
	syncFile = (*os.File).Sync
	openFile = (*os.Root).OpenFile
	rename   = (*os.Root).Rename
)
