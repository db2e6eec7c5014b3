// Package installer registers DataFileDownloadDirectory as an operating
// system service and controls it: a systemd unit on Linux, a Windows
// service on Windows. It turns a checked console-mode command line into a
// service definition, keeps the secrets that the config file references
// out of world-readable places, saves the install's arguments for
// reinstall, and explains the failures a user can fix.
package installer

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Definition is one service: the program and the arguments it runs with.
type Definition struct {
	Name        string
	Description string
	// Executable is the absolute path of the program.
	Executable string
	// Args follow the executable; they start with the run verb.
	Args []string
	// User runs the service; "" means SystemUser on Linux and LocalSystem
	// on Windows.
	User string
	// Env holds the variables the config file references, captured at
	// install time, with their values (broker secrets among them).
	Env map[string]string
	// OutputDir is where the service writes; its state folder holds the
	// status file that the status verb reads.
	OutputDir string
	// ConfigFile is the config file's absolute path: the service's user
	// must be able to read it.
	ConfigFile string
	// LogDir is the folder of a log file given with --logger_file_path,
	// which the service must be able to write; "" for the default log
	// file, which the service manager provides.
	LogDir string
	// InstallArgs are the install verb's arguments (absolute paths), kept
	// for reinstall.
	InstallArgs []string
}

// State is what the service manager says of a service.
type State int

const (
	NotInstalled State = iota
	Stopped
	Running
	// Failed: systemd's "failed" (crashed and not restarted, or the start
	// limit was hit).
	Failed
	// Starting covers systemd's activating, including waiting to be
	// restarted after a crash.
	Starting
)

func (s State) String() string {
	switch s {
	case NotInstalled:
		return "not installed"
	case Stopped:
		return "stopped"
	case Running:
		return "running"
	case Failed:
		return "failed"
	case Starting:
		return "starting"
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// Saved is what an install leaves for later verbs: the definition as
// installed.
type Saved = Definition

// Errors that the verbs explain.
var (
	ErrAlreadyInstalled = errors.New("already installed")
	ErrNotInstalled     = errors.New("not installed")
)

// Incomplete is what Install returns when the service is installed and
// runs, but the service manager refused settings it does not support
// (wine's, delayed start): the verbs print it as one warning and go on.
type Incomplete struct{ Warning string }

func (e *Incomplete) Error() string { return e.Warning }

// install installs d with b, and prints the warning of an Incomplete
// install to w instead of failing.
func install(b Backend, d Definition, w io.Writer) error {
	err := b.Install(d)
	var inc *Incomplete
	if errors.As(err, &inc) {
		fmt.Fprintf(w, "WARNING: %s\n", inc.Warning)
		return nil
	}
	return err
}

// Backend is one operating system's service manager.
type Backend interface {
	// Render returns the service definition as the system will see it,
	// for --dry_run: on Linux the complete systemd unit.
	Render(d Definition) (string, error)
	// CheckInstall says why Install would fail before anything changes:
	// missing privileges, no service manager.
	CheckInstall() error
	// Install registers the service; an *Incomplete error means that it
	// is registered without some optional settings.
	Install(d Definition) error
	Uninstall(name string) error
	Start(name string) error
	Stop(name string) error
	Restart(name string) error
	State(name string) (State, string, error)
	// Saved returns the definition of the service's last install, which
	// outlives an uninstall, or an error wrapping ErrNotInstalled.
	Saved(name string) (*Saved, error)
	// Forget removes the saved install.
	Forget(name string) error
}

// EnvNames lists the captured variables' names, sorted, to tell the user
// which ones were stored (never their values).
func (d Definition) EnvNames() []string {
	names := make([]string, 0, len(d.Env))
	for k := range d.Env {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

func checkEnv(env map[string]string) error {
	for k, v := range env {
		if strings.ContainsAny(v, "\x00\n\r") {
			return fmt.Errorf("environment variable %s holds a line break or NUL, which a service's environment cannot carry", k)
		}
	}
	return nil
}

// oneLine folds a description into one line, as service managers show it.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// savedInstall is what is kept of d for reinstall: everything but the
// secrets, which live only where the service manager keeps its
// environment (the systemd environment file, the service's registry key).
func savedInstall(d Definition) Definition {
	d.Env = nil
	return d
}
