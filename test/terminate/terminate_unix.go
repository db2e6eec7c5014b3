//go:build unix

package terminate

import (
	"os/exec"
	"syscall"
)

// Prepare has nothing to do on Unix: any child can be sent SIGTERM.
func Prepare(*exec.Cmd) {}

// Ask sends SIGTERM, what systemd and supervisors send.
func Ask(cmd *exec.Cmd) error { return cmd.Process.Signal(syscall.SIGTERM) }
