//go:build windows

package terminate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/windows"
)

var (
	kernel32         = windows.NewLazySystemDLL("kernel32.dll")
	procAllocConsole = kernel32.NewProc("AllocConsole")
	procGetConsoleCP = kernel32.NewProc("GetConsoleCP")
	consoleOnce      sync.Once
	consoleErr       error
)

// Prepare starts the command as the root of a process group of its own:
// console control events go to whole groups, and without one of its own
// CTRL_BREAK_EVENT would reach this process (the test) too. The child
// must share a console with this process for the event to reach it; a
// test run with its output piped may have none, so one is made first.
//
// Under `make test-windows` (wine), the child stays in this process's
// group instead: wine turns the SIGINT that Ask has sent to it into
// CTRL_C_EVENT, which a process in a new group ignores, as on Windows.
func Prepare(cmd *exec.Cmd) {
	if os.Getenv(WineInterruptEnv) != "" {
		return
	}
	consoleOnce.Do(func() {
		if r, _, _ := procGetConsoleCP.Call(); r != 0 {
			return // attached to a console already
		}
		if r, _, err := procAllocConsole.Call(); r == 0 {
			consoleErr = fmt.Errorf("no console to send CTRL_BREAK through, and AllocConsole failed: %w", err)
		}
	})
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.CreationFlags |= windows.CREATE_NEW_PROCESS_GROUP
}

// Ask sends CTRL_BREAK_EVENT to the process group Prepare made. (Ctrl+C
// cannot be sent to one group only: a new group starts with it ignored.)
//
// Wine 8's wineserver answers CTRL_BREAK_EVENT with STATUS_NOT_IMPLEMENTED,
// so under `make test-windows` the request goes to the Linux side instead,
// which sends SIGINT to the wine process running cmd; wine delivers it as
// CTRL_C_EVENT, which Go programs receive as os.Interrupt just as
// CTRL_BREAK_EVENT.
func Ask(cmd *exec.Cmd) error {
	if url := os.Getenv(WineInterruptEnv); url != "" {
		return askWine(url, cmd)
	}
	if consoleErr != nil {
		return consoleErr
	}
	if err := windows.GenerateConsoleCtrlEvent(windows.CTRL_BREAK_EVENT, uint32(cmd.Process.Pid)); err != nil {
		return fmt.Errorf("send CTRL_BREAK to process %d: %w", cmd.Process.Pid, err)
	}
	return nil
}

func askWine(url string, cmd *exec.Cmd) error {
	body, err := json.Marshal(WineInterrupt{Exe: filepath.Base(cmd.Path), Args: cmd.Args[1:]})
	if err != nil {
		return err
	}
	c := http.Client{Timeout: 10 * time.Second}
	resp, err := c.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("ask the wine rig to interrupt %s: %w", cmd.Path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("ask the wine rig to interrupt %s: %s: %s", cmd.Path, resp.Status, bytes.TrimSpace(msg))
	}
	return nil
}
