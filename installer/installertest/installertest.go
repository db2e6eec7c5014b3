//go:build !windows

// Package installertest gives tests a systemd backend that writes into a
// temporary root and a fake systemctl, so that install logic is tested
// without touching the machine.
package installertest

import (
	"errors"
	"os"
	"strings"

	"github.com/openmsi/datafiledownloaddirectory/installer"
)

// Systemctl plays systemd: it records the commands and keeps each unit's
// active state.
type Systemctl struct {
	Calls  []string
	Active map[string]bool
}

// Run has the signature of installer.Systemd.Systemctl.
func (f *Systemctl) Run(args ...string) (string, error) {
	f.Calls = append(f.Calls, strings.Join(args, " "))
	switch args[0] {
	case "start", "restart":
		f.Active[args[1]] = true
	case "stop":
		f.Active[args[1]] = false
	case "is-active":
		if f.Active[args[1]] {
			return "active", nil
		}
		return "inactive", errors.New("exit status 3")
	}
	return "", nil
}

// NewSystemd returns a systemd backend rooted at root, as root, with
// systemd running and every user existing as the user running the test
// (so that it may use the test's files), driven by the returned fake.
func NewSystemd(root string) (*installer.Systemd, *Systemctl) {
	f := &Systemctl{Active: map[string]bool{}}
	return &installer.Systemd{
		Root:      root,
		Systemctl: f.Run,
		Booted:    func() bool { return true },
		Euid:      func() int { return 0 },
		LookupUser: func(name string) (*installer.Account, error) {
			return &installer.Account{Name: name, UID: os.Getuid(), GIDs: []int{os.Getgid()}}, nil
		},
		CreateUser: func(name string) error { return errors.New("the test did not expect user " + name + " to be created") },
	}, f
}
