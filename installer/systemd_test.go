//go:build !windows

package installer_test

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/openmsi/datafiledownloaddirectory/installer"
	"github.com/openmsi/datafiledownloaddirectory/installer/installertest"
	"github.com/openmsi/datafiledownloaddirectory/test/testkit"
)

func newTestSystemd(t *testing.T) (*installer.Systemd, *installertest.Systemctl) {
	t.Helper()
	return installertest.NewSystemd(t.TempDir())
}

// testExecutable is a file standing for the installed program.
func testExecutable(t *testing.T, dir string) string {
	t.Helper()
	exe := filepath.Join(dir, "DataFileDownloadDirectory")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return exe
}

func testDefinition(t *testing.T) installer.Definition {
	out := filepath.Join(t.TempDir(), "lab data")
	exe := testExecutable(t, t.TempDir())
	return installer.Definition{
		Name:        "labdl",
		Description: "Rebuilds files\nin " + out,
		Executable:  exe,
		Args:        []string{"run", out, "--config", "/etc/lab.config", "--topic_name", "t", "--service_name", "labdl"},
		Env:         map[string]string{"KAFKA_PASSWORD": `pa$$ "word" \ 100%`, "KAFKA_USER": "alice"},
		OutputDir:   out,
		InstallArgs: []string{out, "--config", "/etc/lab.config", "--topic_name", "t"},
	}
}

// writeUnit renders d and writes it where systemd-analyze can read it.
func writeUnit(t *testing.T, s *installer.Systemd, d installer.Definition) (path, unit string) {
	t.Helper()
	unit, err := s.Render(d)
	if err != nil {
		t.Fatal(err)
	}
	path = filepath.Join(t.TempDir(), d.Name+".service")
	if err := os.WriteFile(path, []byte(unit), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, unit
}

func TestRender(t *testing.T) {
	t.Parallel()
	s, _ := newTestSystemd(t)
	d := testDefinition(t)
	d.User = "labuser"
	unit, err := s.Render(d)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"\nExecStart=\"" + d.Executable + "\" \"run\" \"" + d.OutputDir + "\" \"--config\"",
		"\nDescription=Rebuilds files in " + d.OutputDir + "\n",
		"\nAfter=network-online.target\n",
		"\nWants=network-online.target\n",
		"\nRestart=always\n",
		"\nRestartSec=10s\n",
		"\nRestartPreventExitStatus=2\n",
		"\nTimeoutStopSec=45s\n",
		"\nStandardInput=null\n",
		"\nUser=labuser\n",
		"\nReadWritePaths=\"" + d.OutputDir + "\"\n",
		"\nEnvironmentFile=/etc/datafiledownloaddirectory/services/labdl.env\n",
		"\nWorkingDirectory=-" + d.OutputDir + "\n",
		"\nWantedBy=multi-user.target\n",
	} {
		if !strings.Contains(unit, want) {
			t.Errorf("unit lacks %q:\n%s", want, unit)
		}
	}
	// No secret in the unit, which any user may read.
	if strings.Contains(unit, "alice") || strings.Contains(unit, "word") {
		t.Errorf("unit holds a captured value:\n%s", unit)
	}
	d.Env = nil
	if unit, _ = s.Render(d); strings.Contains(unit, "EnvironmentFile") {
		t.Errorf("EnvironmentFile without variables:\n%s", unit)
	}
	d.Executable = "relative/x"
	if _, err := s.Render(d); err == nil {
		t.Error("a relative executable was accepted")
	}
}

// TestRenderedUnitsVerify runs systemd's own checker over units with the
// awkward paths users have: spaces, percent signs, dollar signs, quotes.
// systemd-analyze prints warnings (unknown keys, bad values) and still
// exits 0, so any output fails the test.
func TestRenderedUnitsVerify(t *testing.T) {
	t.Parallel()
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		testkit.Need(t, "systemd-analyze is missing: run test/deps.sh (Debian package systemd)")
	}
	s, _ := newTestSystemd(t)
	for i, out := range []string{"/data/plain", "/data/lab data", "/data/100% done", "/data/$HOME/x", `/data/say "hi"`} {
		d := testDefinition(t)
		d.Executable = testExecutable(t, filepath.Join(t.TempDir()))
		d.Args = []string{"run", out, "--config", out + "/lab.config", "--topic_name", "t", "--service_name", "labdl"}
		d.OutputDir = out
		if i%2 == 1 {
			d.User = "root"
			d.Env = nil
		}
		path, unit := writeUnit(t, s, d)
		got, err := exec.Command(analyze, "verify", path).CombinedOutput()
		if err != nil || len(got) > 0 {
			t.Errorf("systemd-analyze verify for output folder %q: %v\n%s\nunit:\n%s", out, err, got, unit)
		}
	}
}

func TestInstallLifecycle(t *testing.T) {
	t.Parallel()
	s, sc := newTestSystemd(t)
	d := testDefinition(t)
	if err := s.Install(d); err != nil {
		t.Fatal(err)
	}
	if want := []string{"daemon-reload", "enable labdl.service"}; !slices.Equal(sc.Calls, want) {
		t.Errorf("systemctl calls %q, want %q", sc.Calls, want)
	}
	mode := func(p string) os.FileMode {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Mode().Perm()
	}
	if m := mode(s.UnitPath("labdl")); m != 0o644 {
		t.Errorf("unit mode %v", m)
	}
	if m := mode(s.EnvPath("labdl")); m != 0o600 {
		t.Errorf("environment file mode %v, want 0600", m)
	}
	if m := mode(s.SavedPath("labdl")); m != 0o644 {
		t.Errorf("saved install mode %v", m)
	}
	saved, _ := os.ReadFile(s.SavedPath("labdl"))
	if strings.Contains(string(saved), "alice") {
		t.Errorf("the saved install holds a secret: %s", saved)
	}
	var back installer.Definition
	if err := json.Unmarshal(saved, &back); err != nil || !slices.Equal(back.InstallArgs, d.InstallArgs) {
		t.Errorf("saved install %s: %v", saved, err)
	}
	got, err := s.Saved("labdl")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Env, d.Env) {
		t.Errorf("captured variables read back as %q, want %q", got.Env, d.Env)
	}

	if err := s.Install(d); !errors.Is(err, installer.ErrAlreadyInstalled) || !strings.Contains(err.Error(), "reinstall") {
		t.Errorf("second install: %v", err)
	}

	if st, _, _ := s.State("labdl"); st != installer.Stopped {
		t.Errorf("state after install: %v", st)
	}
	if err := s.Start("labdl"); err != nil {
		t.Fatal(err)
	}
	if st, word, _ := s.State("labdl"); st != installer.Running || word != "active" {
		t.Errorf("state after start: %v (%s)", st, word)
	}
	if err := s.Uninstall("labdl"); err == nil || !strings.Contains(err.Error(), "stop_and_remove") {
		t.Errorf("uninstall of a running service: %v", err)
	}
	if err := s.Stop("labdl"); err != nil {
		t.Fatal(err)
	}
	sc.Calls = nil
	if err := s.Uninstall("labdl"); err != nil {
		t.Fatal(err)
	}
	if want := []string{"is-active labdl.service", "disable labdl.service", "daemon-reload", "reset-failed labdl.service"}; !slices.Equal(sc.Calls, want) {
		t.Errorf("systemctl calls %q, want %q", sc.Calls, want)
	}
	for _, p := range []string{s.UnitPath("labdl"), s.EnvPath("labdl")} {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s left behind: %v", p, err)
		}
	}
	if st, _, _ := s.State("labdl"); st != installer.NotInstalled {
		t.Errorf("state after uninstall: %v", st)
	}
	if err := s.Start("labdl"); !errors.Is(err, installer.ErrNotInstalled) {
		t.Errorf("start after uninstall: %v", err)
	}
	// The install is kept for reinstall, without the secrets.
	if got, err := s.Saved("labdl"); err != nil || len(got.Env) != 0 {
		t.Errorf("saved install after uninstall: %+v, %v", got, err)
	}
	if err := s.Forget("labdl"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Saved("labdl"); !errors.Is(err, installer.ErrNotInstalled) {
		t.Errorf("saved install after forget: %v", err)
	}
}

func TestInstallRefusals(t *testing.T) {
	t.Parallel()
	s, sc := newTestSystemd(t)
	d := testDefinition(t)

	s.Euid = func() int { return 1000 }
	if err := s.Install(d); err == nil || !strings.Contains(err.Error(), "sudo") {
		t.Errorf("install as a user: %v", err)
	}
	s.Euid = func() int { return 0 }

	s.Booted = func() bool { return false }
	if err := s.Install(d); err == nil || !strings.Contains(err.Error(), "systemd is not running") {
		t.Errorf("install without systemd: %v", err)
	}
	s.Booted = func() bool { return true }

	lookup := s.LookupUser
	s.LookupUser = func(string) (*installer.Account, error) { return nil, errors.New("unknown user nosuch") }
	d.User = "nosuch"
	if err := s.Install(d); err == nil || !strings.Contains(err.Error(), "--service_user nosuch") {
		t.Errorf("install for a missing user: %v", err)
	}
	d.User = ""
	s.LookupUser = lookup

	d.Env["BAD"] = "two\nlines"
	if err := s.Install(d); err == nil || !strings.Contains(err.Error(), "BAD") {
		t.Errorf("install with a multi-line variable: %v", err)
	}
	delete(d.Env, "BAD")

	packaged := filepath.Join(s.Root, "usr/lib/systemd/system", d.Name+".service")
	if err := os.MkdirAll(filepath.Dir(packaged), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(packaged, []byte("[Service]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.Install(d); err == nil || !strings.Contains(err.Error(), "another program's service") {
		t.Errorf("install over a packaged unit: %v", err)
	}
	if len(sc.Calls) != 0 {
		t.Errorf("refused installs ran systemctl: %q", sc.Calls)
	}
	if _, err := os.Stat(s.UnitPath("labdl")); !errors.Is(err, os.ErrNotExist) {
		t.Error("a refused install wrote the unit")
	}
}

func TestBinaryMovedSinceInstall(t *testing.T) {
	t.Parallel()
	s, _ := newTestSystemd(t)
	d := testDefinition(t)
	if err := s.Install(d); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(d.Executable); err != nil {
		t.Fatal(err)
	}
	err := s.Start("labdl")
	if err == nil || !strings.Contains(err.Error(), "no longer exists") || !strings.Contains(err.Error(), "reinstall") {
		t.Errorf("start with the program gone: %v", err)
	}
}

// TestEnableWithRealSystemctl lets the real systemctl enable and disable
// the installed unit inside the temporary root (it works offline with
// --root), which checks the unit's [Install] section the way a boot would
// use it.
func TestEnableWithRealSystemctl(t *testing.T) {
	t.Parallel()
	systemctl, err := exec.LookPath("systemctl")
	if err != nil {
		testkit.Need(t, "systemctl is missing: run test/deps.sh (Debian package systemd)")
	}
	s, _ := newTestSystemd(t)
	s.Systemctl = func(args ...string) (string, error) {
		switch args[0] {
		case "enable", "disable":
			out, err := exec.Command(systemctl, append([]string{"--root=" + s.Root}, args...)...).CombinedOutput()
			return strings.TrimSpace(string(out)), err
		case "is-active":
			return "inactive", errors.New("exit status 3")
		}
		// daemon-reload and reset-failed need a running systemd.
		return "", nil
	}
	d := testDefinition(t)
	if err := s.Install(d); err != nil {
		t.Fatal(err)
	}
	wants := filepath.Join(s.Root, "etc/systemd/system/multi-user.target.wants/labdl.service")
	if target, err := os.Readlink(wants); err != nil || target != "/etc/systemd/system/labdl.service" {
		t.Errorf("enable did not link the unit into multi-user.target: %q, %v", target, err)
	}
	if err := s.Uninstall("labdl"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(wants); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("disable left %s: %v", wants, err)
	}
}

// maxExposure is the worst rating systemd-analyze security may give the
// units: "OK" ends at 3.9; 2.5 leaves room below it.
const maxExposure = 2.5

var exposureLine = regexp.MustCompile(`Overall exposure level for \S+: (\d+\.\d+) `)

// exposure rates a unit file with systemd-analyze security --offline.
func exposure(t *testing.T, analyze, unitPath string) float64 {
	t.Helper()
	out, err := exec.Command(analyze, "security", "--offline=true", unitPath).CombinedOutput()
	m := exposureLine.FindSubmatch(out)
	if m == nil {
		t.Fatalf("systemd-analyze security %s: %v\n%s", unitPath, err, out)
	}
	v, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestUnitsAreHardened rates the unit install writes (for the default
// system user, with the output or log folder in a home folder too) and the
// packaged template unit.
func TestUnitsAreHardened(t *testing.T) {
	t.Parallel()
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		testkit.Need(t, "systemd-analyze is missing: run test/deps.sh (Debian package systemd)")
	}
	s, _ := newTestSystemd(t)
	cases := map[string]func(d *installer.Definition){
		"default user":              func(*installer.Definition) {},
		"log folder":                func(d *installer.Definition) { d.LogDir = "/var/log/lab" },
		"output folder in /home":    func(d *installer.Definition) { d.OutputDir = "/home/lab/incoming" },
		"another unprivileged user": func(d *installer.Definition) { d.User = "labuser" },
	}
	for name, change := range cases {
		d := testDefinition(t)
		change(&d)
		path, unit := writeUnit(t, s, d)
		if got := exposure(t, analyze, path); got > maxExposure {
			t.Errorf("%s: systemd-analyze security rates the installed unit %.1f, more than %.1f:\n%s", name, got, maxExposure, unit)
		} else {
			t.Logf("%s: exposure %.1f", name, got)
		}
	}

	packaged := filepath.Join(testkit.RepoRoot(t), "packaging", "linux", "datafiledownloaddirectory@.service")
	if got := exposure(t, analyze, packaged); got > maxExposure {
		t.Errorf("systemd-analyze security rates the packaged unit %.1f, more than %.1f", got, maxExposure)
	} else {
		t.Logf("packaged unit: exposure %.1f", got)
	}

	// Root is the administrator's choice, warned about; it is only logged.
	d := testDefinition(t)
	d.User = "root"
	path, _ := writeUnit(t, s, d)
	t.Logf("--service_user root: exposure %.1f", exposure(t, analyze, path))
}

func TestRenderSandbox(t *testing.T) {
	t.Parallel()
	s, _ := newTestSystemd(t)
	d := testDefinition(t)
	d.OutputDir = `/data/lab "100%" data`
	d.LogDir = "/var/log/lab"
	unit, err := s.Render(d)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"\nUser=datafiledownloaddirectory\nGroup=datafiledownloaddirectory\n",
		"\nReadWritePaths=\"/data/lab \\\"100%%\\\" data\" \"/var/log/lab\"\n",
		"\nProtectSystem=strict\n", "\nProtectHome=read-only\n", "\nNoNewPrivileges=yes\n",
		"\nCapabilityBoundingSet=\n", "\nPrivateUsers=yes\n", "\nUMask=0027\n",
		"\nSystemCallFilter=@system-service\n",
	} {
		if !strings.Contains(unit, want) {
			t.Errorf("unit lacks %q:\n%s", want, unit)
		}
	}
	d.OutputDir = "/home/lab/in"
	if unit, _ = s.Render(d); strings.Contains(unit, "ProtectHome") {
		t.Errorf("ProtectHome for an output folder in /home:\n%s", unit)
	}
	d.User = "root"
	if unit, _ = s.Render(d); !strings.Contains(unit, "\nUser=root\n") || strings.Contains(unit, "PrivateUsers") ||
		!strings.Contains(unit, "\nCapabilityBoundingSet=CAP_DAC_OVERRIDE CAP_DAC_READ_SEARCH CAP_FOWNER\n") {
		t.Errorf("root unit:\n%s", unit)
	}
}
