//go:build !windows

package storage

import (
	"errors"
	"syscall"
)

const onWindows = false

func isNoSpace(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}

func isSharingViolation(error) bool { return false }
func isWindowsBadName(error) bool   { return false }
