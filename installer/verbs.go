package installer

import (
	"io"
	"os"
	"path/filepath"
)

// Exit statuses of the status verb, as LSB init scripts use them, so that
// scripts can tell the cases apart.
const (
	ExitStatusStopped      = 3
	ExitStatusNotInstalled = 4
)

// Env holds what tests replace: the service manager, this program's path
// and the environment variables.
type Env struct {
	Backend    func() Backend
	Executable func() (string, error)
	LookupEnv  func(string) (string, bool)
}

// RealEnv is the process's own Env.
func RealEnv() Env {
	return Env{
		Backend: NewBackend,
		Executable: func() (string, error) {
			p, err := os.Executable()
			if err != nil {
				return "", err
			}
			// A service must keep working when a symlink that pointed at
			// the program is changed.
			return filepath.EvalSymlinks(p)
		},
		LookupEnv: os.LookupEnv,
	}
}

// Verb is a service verb given as the first argument; args are the ones
// after it.
type Verb func(args []string, stdout, stderr io.Writer, e Env) int

// VerbFor returns the service verb named by a first argument, or nil when
// it names none (the run verb is the service package's). An output folder
// named like a verb must be given as ./install.
func VerbFor(name string) Verb {
	switch name {
	case "install":
		return installVerb
	case "reinstall":
		return controlVerb(name, reinstall)
	case "start", "stop", "restart", "uninstall", "remove",
		"stop_and_remove", "stop_and_reinstall", "stop_and_restart":
		return controlVerb(name, controls[name])
	case "status":
		return statusVerb
	}
	return nil
}
