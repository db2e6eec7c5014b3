//go:build windows

package folderlock

import (
	"errors"
	"os"

	"golang.org/x/sys/windows"
)

// lockedRange is the byte range locked: far beyond the text the holder
// writes, because Windows locks are mandatory and a lock over the text
// would keep the next program from reading whose lock it is.
var lockedRange = windows.Overlapped{OffsetHigh: 0x7fff0000}

// lockFile takes an exclusive LockFileEx lock without waiting. Windows
// releases it when the process ends, however it ends.
func lockFile(f *os.File) error {
	ol := lockedRange
	err := windows.LockFileEx(windows.Handle(f.Fd()), windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, &ol)
	if errors.Is(err, windows.ERROR_LOCK_VIOLATION) || errors.Is(err, windows.ERROR_IO_PENDING) {
		return errLocked
	}
	return err
}

func unlockFile(f *os.File) error {
	ol := lockedRange
	return windows.UnlockFileEx(windows.Handle(f.Fd()), 0, 1, 0, &ol)
}
