package download

import (
	"errors"
	"syscall"
)

// storageKey is the rate limiter's kind for storage trouble: with the disk
// full, every partition fails on every retry, and one report a minute says
// it all.
const storageKey = "storage trouble"

// storageHint tells the user what to do about a disk error, in the words
// of the lab PC rather than of the system call.
func storageHint(err error) string {
	switch {
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		return "the disk holding the output folder is full: free space there"
	case errors.Is(err, syscall.EROFS):
		return "the output folder is on a read-only filesystem: make it writable again"
	case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
		return "this program's user may not write there: check the permissions of the output folder and its subfolders"
	}
	return "check the disk holding the output folder"
}
