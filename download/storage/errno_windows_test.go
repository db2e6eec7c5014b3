package storage

import "golang.org/x/sys/windows"

// errDiskFull is what a write to a full disk fails with here.
var errDiskFull error = windows.ERROR_DISK_FULL

// longPathParts is how many 250-byte folders the long-path test nests.
// Windows takes paths of up to 32,767 characters, but wine maps them to
// host paths, limited to 4,096 bytes: 14 folders make a path of about
// 3.5 KB, far past the classic MAX_PATH of 260.
const longPathParts = 14
