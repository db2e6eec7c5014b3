package storage

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"syscall"
)

// What a failed file operation means decides what happens next, so every
// error the engine returns is one of three kinds:
//
//   - *TroubleError: the storage itself is in trouble (full, read-only,
//     failing). The chunk was not stored; the caller must offer it again
//     later, never skip it, and pauses consumption until it is stored.
//   - *DurabilityError: an fsync failed. After that the kernel may have
//     dropped the dirty pages and will not report it twice (PostgreSQL's
//     "fsyncgate"), so nothing written since the last good barrier can be
//     trusted: the caller must stop without committing offsets, and Kafka
//     redelivers after a restart.
//   - anything else: the chunk, or its file, is bad input (a path the OS
//     refuses, a file larger than the filesystem holds, offsets that do not
//     tile). It is logged, counted and skipped; nothing is paused.

// TroubleError is storage trouble: retry the chunk later.
type TroubleError struct{ Err error }

func (e *TroubleError) Error() string { return e.Err.Error() }
func (e *TroubleError) Unwrap() error { return e.Err }

func trouble(format string, args ...any) error {
	return &TroubleError{fmt.Errorf(format, args...)}
}

// DurabilityError is a failed fsync: stop, commit nothing.
type DurabilityError struct{ Err error }

func (e *DurabilityError) Error() string {
	return "cannot make received data durable (" + e.Err.Error() + "); stopping without committing offsets, so that Kafka delivers the data again after a restart"
}
func (e *DurabilityError) Unwrap() error { return e.Err }

// IsTrouble says whether err asks for the chunk to be retried later.
func IsTrouble(err error) bool {
	var te *TroubleError
	return errors.As(err, &te)
}

// IsDurability says whether err means the program must stop.
func IsDurability(err error) bool {
	var de *DurabilityError
	return errors.As(err, &de)
}

// errKind sorts a failed operation on one file.
type errKind int

const (
	// kindTrouble: the disk or the state folder fails; retry later.
	kindTrouble errKind = iota
	// kindBadInput: this file's path or size can never work here.
	kindBadInput
	// kindObstacle: something outside the program holds this one file's
	// place (the old version open in another program, a folder without
	// rights); retry this file alone until it is gone.
	kindObstacle
)

// classify sorts an error of an operation on a path taken from a chunk
// (creating its folder, renaming it into place, writing its data).
func classify(err error) errKind {
	switch {
	case isNoSpace(err), errors.Is(err, syscall.EROFS), errors.Is(err, syscall.EIO):
		return kindTrouble
	case isBadPath(err):
		return kindBadInput
	case errors.Is(err, fs.ErrPermission), isSharingViolation(err),
		errors.Is(err, syscall.EBUSY), errors.Is(err, syscall.ETXTBSY):
		return kindObstacle
	}
	return kindTrouble
}

// isBadPath tells errors no retry can fix, caused by one file's path or
// size: a file where a folder must be, a name too long or refused by the
// OS, a symlink leading out of the output folder, a file too large.
func isBadPath(err error) bool {
	var pe *fs.PathError
	var le *os.LinkError
	switch {
	case errors.Is(err, syscall.ENOTDIR), errors.Is(err, syscall.EISDIR),
		errors.Is(err, syscall.EEXIST), errors.Is(err, syscall.ELOOP),
		errors.Is(err, syscall.ENAMETOOLONG), errors.Is(err, syscall.EINVAL),
		errors.Is(err, syscall.EFBIG), isWindowsBadName(err):
		return true
	case errors.As(err, &pe) && strings.Contains(pe.Err.Error(), "escapes"),
		errors.As(err, &le) && strings.Contains(le.Err.Error(), "escapes"):
		// os.Root refusing a symlink that leads out of the output folder.
		return true
	}
	return false
}

// Hint tells the user what to do about storage trouble, in the words of
// the lab PC rather than of the system call.
func Hint(err error) string {
	switch {
	case isNoSpace(err):
		return "the disk holding the output folder is full: free space there"
	case errors.Is(err, syscall.EROFS):
		return "the output folder is on a read-only filesystem: make it writable again"
	case errors.Is(err, fs.ErrPermission):
		return "this program's user may not write there: check the permissions of the output folder and its subfolders"
	}
	return "check the disk holding the output folder"
}

// obstacleHint says what keeps one file from its place and what to do.
func obstacleHint(err error) string {
	if isSharingViolation(err) || (onWindows && errors.Is(err, fs.ErrPermission)) {
		return "the file is open in another program (or read-only); it will be replaced when it is closed"
	}
	return "this program's user may not write there: check the permissions of that folder; the file is put in place as soon as it can be"
}
