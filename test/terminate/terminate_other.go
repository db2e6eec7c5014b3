//go:build !unix && !windows

package terminate

import (
	"os"
	"os/exec"
)

// Prepare does nothing where neither Unix signals nor Windows console
// events exist.
func Prepare(*exec.Cmd) {}

// Ask interrupts the process, the only request such a system may know.
func Ask(cmd *exec.Cmd) error { return cmd.Process.Signal(os.Interrupt) }
