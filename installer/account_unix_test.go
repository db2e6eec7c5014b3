//go:build !windows

package installer_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/openmsi/datafiledownloaddirectory/installer"
	"github.com/openmsi/datafiledownloaddirectory/test/testkit"
)

// TestInstallPreparesTheAccount installs for an unprivileged account (the
// user nobody stands for the system user, which is "created" on first
// lookup): an empty output folder is given to it, and a config it cannot
// read, a program it cannot run or a full output folder it cannot write
// stop the install with the fix.
func TestInstallPreparesTheAccount(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		testkit.Need(t, "giving a folder to another user needs root")
	}
	nobody := &installer.Account{Name: "nobody", UID: 65534, GIDs: []int{65534}}
	s, _ := newTestSystemd(t)
	created := 0
	s.LookupUser = func(name string) (*installer.Account, error) {
		if name == installer.SystemUser && created == 0 {
			return nil, errors.New("unknown user")
		}
		return nobody, nil
	}
	s.CreateUser = func(name string) error { created++; return nil }

	// Everything the account must reach, in a folder it may enter.
	base := filepath.Join(t.TempDir(), "base")
	for _, dir := range []string{base, filepath.Join(base, "bin")} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for dir := filepath.Dir(base); dir != "/"; dir = filepath.Dir(dir) {
		if fi, err := os.Stat(dir); err == nil && fi.Mode().Perm()&0o001 == 0 {
			old := fi.Mode().Perm()
			os.Chmod(dir, old|0o011)
			t.Cleanup(func() { os.Chmod(dir, old) })
		}
	}
	exe := testExecutable(t, filepath.Join(base, "bin"))
	cfg := filepath.Join(base, "lab.config")
	if err := os.WriteFile(cfg, []byte("[broker]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	d := testDefinition(t)
	d.Name, d.Executable, d.ConfigFile = "acct", exe, cfg
	d.OutputDir = filepath.Join(base, "out")
	d.LogDir = filepath.Join(base, "logs")
	if err := s.Install(d); err != nil {
		t.Fatal(err)
	}
	if created != 1 {
		t.Errorf("the missing system user was created %d times", created)
	}
	for _, dir := range []string{d.OutputDir, d.LogDir} {
		fi, err := os.Stat(dir)
		if err != nil {
			t.Fatal(err)
		}
		if st := fi.Sys().(*syscall.Stat_t); st.Uid != 65534 {
			t.Errorf("%s belongs to uid %d, not to the service's user", dir, st.Uid)
		}
	}

	refused := func(what, want string, change func(d *installer.Definition)) {
		t.Helper()
		d2 := d
		d2.Name = "acct_" + strings.ReplaceAll(what, " ", "_")
		change(&d2)
		if err := s.Install(d2); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error with %q", what, err, want)
		}
	}
	secret := filepath.Join(base, "secret.config")
	if err := os.WriteFile(secret, []byte("[broker]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	refused("unreadable config", "cannot read the config file", func(d *installer.Definition) { d.ConfigFile = secret })
	hidden := filepath.Join(base, "hidden")
	if err := os.Mkdir(hidden, 0o700); err != nil {
		t.Fatal(err)
	}
	refused("program out of reach", "cannot run", func(d *installer.Definition) { d.Executable = testExecutable(t, hidden) })
	full := filepath.Join(base, "full")
	if err := os.MkdirAll(filepath.Join(full, "old"), 0o755); err != nil {
		t.Fatal(err)
	}
	refused("full folder of root", "chown -R", func(d *installer.Definition) { d.OutputDir = full })
}
