//go:build windows

package installer

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	kservice "github.com/kardianos/service"
	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/svc"
	"golang.org/x/sys/windows/svc/mgr"

	dfservice "github.com/openmsi/datafiledownloaddirectory/service"
)

// StopWait bounds how long stop waits for the service to report stopped:
// longer than the program's own 30 s shutdown bound. kardianos/service's
// own Stop may wait forever (kardianos/service#337).
const StopWait = 45 * time.Second

// WindowsSCM installs services with the Windows Service Control Manager
// through kardianos/service, and sets what it does not: recovery also on
// non-crash failures.
type WindowsSCM struct{}

// NewBackend returns the backend for this machine.
func NewBackend() Backend { return WindowsSCM{} }

func savedDir() string {
	pd := os.Getenv("ProgramData")
	if pd == "" {
		pd = `C:\ProgramData`
	}
	return filepath.Join(pd, "DataFileDownloadDirectory", "services")
}

// tellAccount has nothing to add on Windows: install names the account
// only on Linux, where the unit sandboxes it.
func tellAccount(io.Writer, *Definition) {}

// commandLine shows a command as Windows would parse it (the service's
// ImagePath, a command typed in cmd.exe): CommandLineToArgvW's quoting,
// not Go's.
func commandLine(argv []string) string { return windows.ComposeCommandLine(argv) }

// secretsPlace says where install keeps the environment variables a
// service's config file refers to: the service's registry key, whose
// Environment value the service manager passes to the program.
func secretsPlace(string) string { return "the service's environment, readable by administrators only" }

func savedPath(name string) string { return filepath.Join(savedDir(), name+".json") }

type noProgram struct{}

func (noProgram) Start(kservice.Service) error { return nil }
func (noProgram) Stop(kservice.Service) error  { return nil }

func (WindowsSCM) Render(d Definition) (string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "Service name:   %s\n", d.Name)
	fmt.Fprintf(&b, "Display name:   DataFileDownloadDirectory %s\n", d.Name)
	fmt.Fprintf(&b, "Description:    %s\n", oneLine(d.Description))
	fmt.Fprintf(&b, "Command line:   %s\n", windows.ComposeCommandLine(append([]string{d.Executable}, d.Args...)))
	account := d.User
	if account == "" {
		account = "LocalSystem"
	}
	fmt.Fprintf(&b, "Account:        %s\n", account)
	fmt.Fprintf(&b, "Start type:     automatic (delayed)\n")
	fmt.Fprintf(&b, "On failure:     restart after %v\n", dfservice.RestartDelay)
	fmt.Fprintf(&b, "Environment:    %s\n", strings.Join(d.EnvNames(), ", "))
	fmt.Fprintf(&b, "Saved install:  %s\n", savedPath(d.Name))
	return b.String(), nil
}

func (WindowsSCM) CheckInstall() error {
	if !windows.GetCurrentProcessToken().IsElevated() {
		return errors.New("installing a service needs administrator rights: run the same command in a terminal opened with \"Run as administrator\"")
	}
	return nil
}

func (w WindowsSCM) Install(d Definition) error {
	if err := w.CheckInstall(); err != nil {
		return err
	}
	if err := checkEnv(d.Env); err != nil {
		return err
	}
	// Checked first: kardianos writes the environment before it notices
	// that the service exists.
	if st, _, _ := w.State(d.Name); st != NotInstalled {
		return fmt.Errorf("service %s: %w: use \"reinstall\" to install it again with the arguments it was installed with, or \"stop_and_remove\" first to install it with others", d.Name, ErrAlreadyInstalled)
	}
	saved, err := json.MarshalIndent(savedInstall(d), "", "  ")
	if err != nil {
		return err
	}
	s, err := kservice.New(noProgram{}, windowsConfig(d))
	if err != nil {
		return err
	}
	// A failed install leaves nothing behind: no service half set up, no
	// saved install that reinstall would take for a working one. (The
	// saved install of an earlier, uninstalled one stays as it was.)
	fail := func(err error) error {
		if st, _, _ := w.State(d.Name); st != NotInstalled {
			if uerr := s.Uninstall(); uerr != nil {
				return fmt.Errorf("%w; removing the half-installed service failed too: %v", err, uerr)
			}
		}
		return err
	}
	if err := s.Install(); err != nil {
		return fail(fmt.Errorf("install service %s: %w", d.Name, err))
	}
	unsupported, err := dfservice.ConfigureSelf(d.Name)
	if err != nil {
		return fail(err)
	}
	if err := os.MkdirAll(savedDir(), 0o755); err != nil {
		return fail(fmt.Errorf("create %s: %w", savedDir(), err))
	}
	if err := os.WriteFile(savedPath(d.Name), saved, 0o644); err != nil {
		os.Remove(savedPath(d.Name))
		return fail(fmt.Errorf("write %s: %w", savedPath(d.Name), err))
	}
	if warning := unsupported.Warning(d.Name); warning != "" {
		return &Incomplete{Warning: warning}
	}
	return nil
}

func (w WindowsSCM) Saved(name string) (*Saved, error) {
	st, _, _ := w.State(name)
	b, err := os.ReadFile(savedPath(name))
	if errors.Is(err, fs.ErrNotExist) {
		if st != NotInstalled {
			return nil, fmt.Errorf("service %s exists but was not installed by this program (no %s)", name, savedPath(name))
		}
		return nil, fmt.Errorf("service %s: %w, and no earlier install was saved (no %s)", name, ErrNotInstalled, savedPath(name))
	}
	if err != nil {
		return nil, err
	}
	var d Definition
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("%s is damaged: %w", savedPath(name), err)
	}
	if st != NotInstalled {
		d.Env, err = readServiceEnvironment(name)
	}
	return &d, err
}

// Forget removes the saved install of service name.
func (WindowsSCM) Forget(name string) error {
	if err := os.Remove(savedPath(name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove %s: %w", savedPath(name), err)
	}
	return nil
}

func (w WindowsSCM) Uninstall(name string) error {
	if err := w.CheckInstall(); err != nil {
		return err
	}
	st, _, err := w.State(name)
	if err != nil {
		return err
	}
	if st == NotInstalled {
		return fmt.Errorf("service %s: %w", name, ErrNotInstalled)
	}
	if st == Running || st == Starting {
		return fmt.Errorf("service %s is %s: stop it first, or use \"stop_and_remove\"", name, st)
	}
	s, err := kservice.New(noProgram{}, &kservice.Config{Name: name})
	if err != nil {
		return err
	}
	if err := s.Uninstall(); err != nil {
		return fmt.Errorf("uninstall service %s: %w", name, err)
	}
	return nil
}

func (w WindowsSCM) Start(name string) error {
	if st, _, _ := w.State(name); st == NotInstalled {
		return fmt.Errorf("service %s: %w", name, ErrNotInstalled)
	}
	if d, err := w.Saved(name); err != nil {
		return err
	} else if _, err := os.Stat(d.Executable); err != nil {
		return fmt.Errorf("service %s runs %s, which no longer exists (the program was moved or removed since the install): run \"DataFileDownloadDirectory reinstall --service_name %s\" with the program where it is now", name, d.Executable, name)
	}
	s, err := kservice.New(noProgram{}, &kservice.Config{Name: name})
	if err != nil {
		return err
	}
	return s.Start()
}

func (w WindowsSCM) Stop(name string) error {
	m, err := mgr.Connect()
	if err != nil {
		return fmt.Errorf("connect to the service manager: %w", err)
	}
	defer m.Disconnect()
	s, err := m.OpenService(name)
	if err != nil {
		return fmt.Errorf("service %s: %w", name, ErrNotInstalled)
	}
	defer s.Close()
	st, err := s.Control(svc.Stop)
	if err != nil && !errors.Is(err, windows.ERROR_SERVICE_NOT_ACTIVE) {
		return fmt.Errorf("stop service %s: %w", name, err)
	}
	deadline := time.Now().Add(StopWait)
	for st.State != svc.Stopped {
		if time.Now().After(deadline) {
			return fmt.Errorf("service %s did not stop within %v", name, StopWait)
		}
		time.Sleep(200 * time.Millisecond)
		if st, err = s.Query(); err != nil {
			return fmt.Errorf("query service %s: %w", name, err)
		}
	}
	return nil
}

func (w WindowsSCM) Restart(name string) error {
	if err := w.Stop(name); err != nil {
		return err
	}
	return w.Start(name)
}

func (WindowsSCM) State(name string) (State, string, error) {
	m, err := mgr.Connect()
	if err != nil {
		return Stopped, "", fmt.Errorf("connect to the service manager: %w", err)
	}
	defer m.Disconnect()
	s, err := m.OpenService(name)
	if err != nil {
		return NotInstalled, "", nil
	}
	defer s.Close()
	st, err := s.Query()
	if err != nil {
		return Stopped, "", err
	}
	switch st.State {
	case svc.Running:
		return Running, "running", nil
	case svc.StartPending:
		return Starting, "start pending", nil
	case svc.StopPending:
		return Running, "stop pending", nil
	}
	return Stopped, "stopped", nil
}
