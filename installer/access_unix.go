//go:build !windows

package installer

import (
	"fmt"
	"os"
	"slices"
	"syscall"
)

// permits checks one path's mode bits for a.
func permits(a *Account, path string, want int) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	mode := int(fi.Mode().Perm())
	var bits int
	switch {
	case int(st.Uid) == a.UID:
		bits = mode >> 6
	case slices.Contains(a.GIDs, int(st.Gid)):
		bits = mode >> 3
	default:
		bits = mode
	}
	if bits&want != want {
		return fmt.Errorf("%w: %s is mode %04o, owned by uid %d gid %d", errNoAccess, path, mode, st.Uid, st.Gid)
	}
	return nil
}
