//go:build unix

package kafkatest

import (
	"os/exec"
	"syscall"
)

// ownProcessGroup makes a cancelled broker.sh take its children (mvn, the
// storage formatter) with it. The broker JVM runs in a session of its own,
// which broker.sh stop/kill and its watchdog take care of.
func ownProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
}
