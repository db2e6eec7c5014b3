//go:build !windows

package installer

// NewBackend returns the backend for this machine: systemd.
func NewBackend() Backend { return NewSystemd() }
