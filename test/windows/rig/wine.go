package rig

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Prefix is a wine prefix of the rig's own (WINEPREFIX), so that neither
// the user's ~/.wine nor another run's services are touched.
type Prefix struct {
	Dir string
}

// Env is the environment wine runs with: the prefix, 64-bit only, no
// debug chatter, and no offer to download Mono or Gecko (no .NET or HTML
// is needed, and the machine may be offline).
func (p Prefix) Env() []string {
	return append(os.Environ(),
		"WINEPREFIX="+p.Dir,
		"WINEARCH=win64",
		"WINEDEBUG=-all",
		"WINEDLLOVERRIDES=mscoree,mshtml=",
	)
}

// Command is a wine command in the prefix: wine PROGRAM ARGS..., or a wine
// tool (wineboot, wineserver) when name is one.
func (p Prefix) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	var cmd *exec.Cmd
	if strings.HasPrefix(name, "wine") && !strings.Contains(name, "/") {
		cmd = exec.CommandContext(ctx, name, args...)
	} else {
		cmd = exec.CommandContext(ctx, "wine", append([]string{name}, args...)...)
	}
	cmd.Env = p.Env()
	// Should a caller give it pipes: wine's own helpers inherit them, and
	// the command must not wait for those.
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// Output runs a wine command and returns its stdout and stderr together.
// They go through a file, not a pipe: wine's own helpers (services.exe,
// winedevice.exe), started by the first command, inherit the command's
// output and outlive it.
func (p Prefix) Output(ctx context.Context, name string, args ...string) ([]byte, error) {
	f, err := os.CreateTemp("", "wine-output-")
	if err != nil {
		return nil, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	cmd := p.Command(ctx, name, args...)
	cmd.Stdout, cmd.Stderr = f, f
	runErr := cmd.Run()
	out, err := os.ReadFile(f.Name())
	if err != nil {
		return nil, err
	}
	return out, runErr
}

// Init creates the prefix if it is not there yet (wineboot --init, a few
// seconds) and puts the bcryptprimitives.dll shim into its system32: Go
// loads it with LOAD_LIBRARY_SEARCH_SYSTEM32, so next to the .exe would
// not do.
func (p Prefix) Init(ctx context.Context, shimDLL string) error {
	if _, err := os.Stat(filepath.Join(p.Dir, "system.reg")); err != nil {
		if err := os.MkdirAll(p.Dir, 0o755); err != nil {
			return err
		}
		if out, err := p.Output(ctx, "wineboot", "--init"); err != nil {
			return fmt.Errorf("wineboot --init in %s: %v\n%s", p.Dir, err, out)
		}
		// wineboot returns before the registry is flushed to disk.
		if err := p.Command(ctx, "wineserver", "-w").Run(); err != nil {
			return fmt.Errorf("wineserver -w: %w", err)
		}
	}
	dll, err := os.ReadFile(shimDLL)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(p.Dir, "drive_c", "windows", "system32", "bcryptprimitives.dll"), dll, 0o755)
}

// Stop ends every wine process of the prefix, the service manager and the
// services it runs included.
func (p Prefix) Stop() {
	p.Command(context.Background(), "wineserver", "-k").Run()
	p.Command(context.Background(), "wineserver", "-w").Run()
}

// WinPath is the path a Windows program under wine sees for a Linux path:
// wine maps / to drive Z:.
func WinPath(path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	return "Z:" + strings.ReplaceAll(abs, "/", `\`)
}
