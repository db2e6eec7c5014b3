//go:build !windows

package folderlock

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// lockFile takes flock's exclusive lock without waiting. flock locks belong
// to the open file, so a second open in the same process conflicts too,
// and the kernel drops them when the process dies.
func lockFile(f *os.File) error {
	err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	if errors.Is(err, unix.EWOULDBLOCK) {
		return errLocked
	}
	return err
}

func unlockFile(f *os.File) error { return unix.Flock(int(f.Fd()), unix.LOCK_UN) }
