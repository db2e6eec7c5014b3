//go:build !windows

package installer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"text/template"
	"time"

	"github.com/openmsi/datafiledownloaddirectory/options"
	dfservice "github.com/openmsi/datafiledownloaddirectory/service"
)

// StopTimeout is systemd's TimeoutStopSec for the unit: longer than the
// program's own shutdown bound (30 s), so that the program reports a stuck
// shutdown itself before systemd kills it.
const StopTimeout = "45s"

// Systemd installs services as systemd units. Root is "/" on a real system;
// tests point it at a temporary folder, where the unit, the environment
// file and the saved install land without touching the machine.
type Systemd struct {
	Root string
	// Systemctl runs systemctl with args and returns its combined output.
	Systemctl func(args ...string) (string, error)
	// Booted tells whether systemd is the running init system.
	Booted func() bool
	// Euid is the effective user id; installing needs 0.
	Euid func() int
	// LookupUser finds the account a service runs as; CreateUser adds
	// SystemUser when it is missing.
	LookupUser func(name string) (*Account, error)
	CreateUser func(name string) error
}

// NewSystemd returns the backend for this machine.
func NewSystemd() *Systemd {
	return &Systemd{
		Root: "/",
		Systemctl: func(args ...string) (string, error) {
			out, err := exec.Command("systemctl", args...).CombinedOutput()
			return strings.TrimSpace(string(out)), err
		},
		Booted: func() bool {
			// sd_booted()'s test.
			fi, err := os.Stat("/run/systemd/system")
			return err == nil && fi.IsDir()
		},
		Euid:       os.Geteuid,
		LookupUser: lookupAccount,
		CreateUser: createSystemUser,
	}
}

// UnitDir is where units written by an administrator live; it takes
// precedence over units installed by packages.
const UnitDir = "/etc/systemd/system"

// StateDir holds, per service, the environment file with the captured
// secrets and the saved install.
const StateDir = "/etc/datafiledownloaddirectory/services"

func (s *Systemd) path(p string) string { return filepath.Join(s.Root, p) }

// UnitPath is the unit file of service name.
func (s *Systemd) UnitPath(name string) string {
	return s.path(filepath.Join(UnitDir, name+".service"))
}

// EnvPath is the environment file of service name (mode 0600).
// commandLine shows a command as the messages of the verbs quote it.
func commandLine(argv []string) string { return strings.Join(options.QuoteAll(argv), " ") }

// secretsPlace says where install keeps the environment variables a
// service's config file refers to.
func secretsPlace(name string) string {
	return "a file only root can read (" + filepath.Join(StateDir, name+".env") + ")"
}

func (s *Systemd) EnvPath(name string) string { return s.path(filepath.Join(StateDir, name+".env")) }

// SavedPath is the saved install of service name.
func (s *Systemd) SavedPath(name string) string { return s.path(filepath.Join(StateDir, name+".json")) }

var unitTemplate = template.Must(template.New("unit").Parse(`# Written by "DataFileDownloadDirectory install"; change it with
# "DataFileDownloadDirectory reinstall" or install again.
[Unit]
Description={{.Description}}
After=network-online.target
Wants=network-online.target
# Never give up restarting: a download that fails because a disk or share
# is missing must resume on its own when it is back.
StartLimitIntervalSec=0

[Service]
Type=simple
ExecStart={{.ExecStart}}
User={{.User}}
{{- if .Group}}
Group={{.Group}}
{{- end}}
{{- if .EnvFile}}
EnvironmentFile={{.EnvFile}}
{{- end}}
WorkingDirectory=-{{.WorkingDirectory}}
LogsDirectory=datafiledownloaddirectory
StandardInput=null
StandardOutput=journal
StandardError=journal
SyslogIdentifier={{.Name}}
Restart=always
RestartSec={{.RestartSec}}
# Exit status 2 is a command-line or config file error: restarting cannot
# fix it.
RestartPreventExitStatus=2
TimeoutStopSec={{.StopTimeout}}

# Sandboxing: the program reads its config and the network, and writes only
# the output folder and its log.
{{.Sandbox}}
[Install]
WantedBy=multi-user.target
`))

// Render returns the unit file of d.
func (s *Systemd) Render(d Definition) (string, error) {
	if !filepath.IsAbs(d.Executable) {
		return "", fmt.Errorf("the program's path %s is not absolute", d.Executable)
	}
	words := append([]string{d.Executable}, d.Args...)
	quoted := make([]string, len(words))
	for i, w := range words {
		quoted[i] = quoteExecArg(w)
	}
	user := serviceUser(d)
	group := ""
	if user == SystemUser {
		group = SystemUser
	}
	data := map[string]string{
		"Name":             d.Name,
		"User":             user,
		"Group":            group,
		"Sandbox":          sandbox(d, user),
		"Description":      escapeSpecifiers(oneLine(d.Description)),
		"ExecStart":        strings.Join(quoted, " "),
		"WorkingDirectory": escapeSpecifiers(d.OutputDir),
		"StopTimeout":      StopTimeout,
		"RestartSec":       fmt.Sprintf("%ds", int(dfservice.RestartDelay/time.Second)),
	}
	if len(d.Env) > 0 {
		// Unquoted: systemd takes the rest of the line as the path.
		data["EnvFile"] = escapeSpecifiers(filepath.Join(StateDir, d.Name+".env"))
	}
	var b bytes.Buffer
	if err := unitTemplate.Execute(&b, data); err != nil {
		return "", err
	}
	return b.String(), nil
}

// quoteExecArg quotes one word of ExecStart. systemd splits the line on
// spaces outside double quotes, reads C escapes inside them, expands %
// specifiers everywhere and $VAR when a word starts with it; doubling % and
// $ turns the last two off.
func quoteExecArg(w string) string { return quoteUnitWord(w, true) }

// quoteUnitWord double-quotes w for a unit file, escaping what systemd
// reads inside quotes; dollars are doubled where it expands variables.
func quoteUnitWord(w string, dollars bool) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range w {
		switch {
		case r == '\\' || r == '"':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '%':
			b.WriteString("%%")
		case r == '$' && dollars:
			b.WriteString("$$")
		case r == '\t':
			b.WriteString(`\t`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func escapeSpecifiers(s string) string { return strings.ReplaceAll(s, "%", "%%") }

// envFileContent writes variables for systemd's EnvironmentFile: inside
// double quotes a backslash escapes ", \, $ and `.
func envFileContent(env map[string]string, names []string) string {
	var b strings.Builder
	b.WriteString("# Variables the config file references, captured by \"DataFileDownloadDirectory install\".\n")
	for _, k := range names {
		v := env[k]
		var q strings.Builder
		for _, r := range v {
			if strings.ContainsRune("\"\\$`", r) {
				q.WriteByte('\\')
			}
			q.WriteRune(r)
		}
		fmt.Fprintf(&b, "%s=\"%s\"\n", k, q.String())
	}
	return b.String()
}

// CheckInstall says why installing cannot work here.
func (s *Systemd) CheckInstall() error {
	if s.Euid() != 0 {
		return errors.New("installing a service needs root: run the same command with sudo")
	}
	if !s.Booted() {
		init := "another init system"
		if b, err := os.ReadFile("/proc/1/comm"); err == nil {
			init = strings.TrimSpace(string(b))
		}
		return fmt.Errorf("systemd is not running on this machine (process 1 is %s), so no service can be installed: run the program in a console, or have your own supervisor run \"DataFileDownloadDirectory run OUTPUT_DIR ...\" and stop it with SIGTERM", init)
	}
	return nil
}

func (s *Systemd) checkControl() error {
	if s.Euid() != 0 {
		return errors.New("controlling a service needs root: run the same command with sudo")
	}
	if !s.Booted() {
		return errors.New("systemd is not running on this machine, so no service can be controlled")
	}
	return nil
}

// Install writes the unit, the environment file and the saved install, and
// enables the unit so that it starts at boot. It does not start it.
func (s *Systemd) Install(d Definition) error {
	if err := s.CheckInstall(); err != nil {
		return err
	}
	if err := s.prepareAccount(d); err != nil {
		return err
	}
	if err := checkEnv(d.Env); err != nil {
		return err
	}
	unitPath := s.UnitPath(d.Name)
	if _, err := os.Stat(unitPath); err == nil {
		return fmt.Errorf("service %s: %w (%s exists): use \"reinstall\" to install it again with the arguments it was installed with, or \"stop_and_remove\" first to install it with others", d.Name, ErrAlreadyInstalled, unitPath)
	}
	// A unit in /etc shadows a packaged one of the same name: installing
	// "ssh" would replace the system's ssh service.
	for _, dir := range []string{"/usr/lib/systemd/system", "/lib/systemd/system"} {
		p := s.path(filepath.Join(dir, d.Name+".service"))
		if _, err := os.Stat(p); err == nil {
			return fmt.Errorf("another program's service is called %s (%s): choose another --service_name", d.Name, p)
		}
	}
	unit, err := s.Render(d)
	if err != nil {
		return err
	}
	for _, dir := range []string{StateDir, UnitDir} {
		if err := os.MkdirAll(s.path(dir), 0o755); err != nil {
			return fmt.Errorf("create %s: %w", s.path(dir), err)
		}
	}
	saved, err := json.MarshalIndent(savedInstall(d), "", "  ")
	if err != nil {
		return err
	}
	// Readable by all, for status: it holds no secrets.
	if err := writeFile(s.SavedPath(d.Name), saved, 0o644); err != nil {
		return err
	}
	if len(d.Env) > 0 {
		// 0600 and root-owned: systemd reads it before dropping to the
		// service user, and nobody else can.
		if err := writeFile(s.EnvPath(d.Name), []byte(envFileContent(d.Env, d.EnvNames())), 0o600); err != nil {
			return err
		}
	}
	if err := writeFile(unitPath, []byte(unit), 0o644); err != nil {
		return err
	}
	if err := s.systemctl("daemon-reload"); err != nil {
		return err
	}
	return s.systemctl("enable", d.Name+".service")
}

func writeFile(path string, b []byte, mode os.FileMode) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, mode); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	// WriteFile keeps the mode of an existing file and applies the umask.
	if err := os.Chmod(tmp, mode); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func (s *Systemd) systemctl(args ...string) error {
	out, err := s.Systemctl(args...)
	if err != nil {
		if out != "" {
			return fmt.Errorf("systemctl %s: %s", strings.Join(args, " "), out)
		}
		return fmt.Errorf("systemctl %s: %w", strings.Join(args, " "), err)
	}
	return nil
}

func (s *Systemd) installed(name string) error {
	if _, err := os.Stat(s.UnitPath(name)); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("service %s: %w (no %s)", name, ErrNotInstalled, s.UnitPath(name))
	}
	return nil
}

// Saved reads the saved install of service name, with the captured
// variables from the environment file while the service is installed. The
// saved install outlives an uninstall, for reinstall.
func (s *Systemd) Saved(name string) (*Saved, error) {
	b, err := os.ReadFile(s.SavedPath(name))
	if errors.Is(err, fs.ErrNotExist) {
		if s.installed(name) == nil {
			return nil, fmt.Errorf("service %s has a unit %s but was not installed by this program (no %s): change it with systemctl", name, s.UnitPath(name), s.SavedPath(name))
		}
		return nil, fmt.Errorf("service %s: %w, and no earlier install was saved (no %s)", name, ErrNotInstalled, s.SavedPath(name))
	}
	if err != nil {
		return nil, err
	}
	var d Definition
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("%s is damaged: %w", s.SavedPath(name), err)
	}
	// Only root may read the captured secrets; status, which any user may
	// run, does without them.
	if env, err := readEnvFile(s.EnvPath(name)); err == nil {
		d.Env = env
	} else if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, fs.ErrPermission) {
		return nil, err
	}
	return &d, nil
}

// readEnvFile reads back what envFileContent wrote.
func readEnvFile(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	env := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, "=")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		v = strings.TrimSuffix(strings.TrimPrefix(v, `"`), `"`)
		var u strings.Builder
		for i := 0; i < len(v); i++ {
			if v[i] == '\\' && i+1 < len(v) {
				i++
			}
			u.WriteByte(v[i])
		}
		env[k] = u.String()
	}
	return env, nil
}

// Uninstall disables the unit and removes it and the environment file; the
// saved install stays for reinstall until Forget. A running service is
// refused: systemd would leave its process running without a unit.
func (s *Systemd) Uninstall(name string) error {
	if err := s.checkControl(); err != nil {
		return err
	}
	if err := s.installed(name); err != nil {
		return err
	}
	if st, _, err := s.State(name); err == nil && (st == Running || st == Starting) {
		return fmt.Errorf("service %s is %s: stop it first, or use \"stop_and_remove\"", name, st)
	}
	if err := s.systemctl("disable", name+".service"); err != nil {
		return err
	}
	for _, p := range []string{s.UnitPath(name), s.EnvPath(name)} {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove %s: %w", p, err)
		}
	}
	if err := s.systemctl("daemon-reload"); err != nil {
		return err
	}
	// Forget a failed state, or the removed unit would still be listed.
	_, _ = s.Systemctl("reset-failed", name+".service")
	return nil
}

// Forget removes the saved install of service name.
func (s *Systemd) Forget(name string) error {
	if err := os.Remove(s.SavedPath(name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove %s: %w", s.SavedPath(name), err)
	}
	return nil
}

func (s *Systemd) control(verb, name string) error {
	if err := s.checkControl(); err != nil {
		return err
	}
	if err := s.installed(name); err != nil {
		return err
	}
	if d, err := s.Saved(name); err == nil && verb != "stop" {
		if _, err := os.Stat(d.Executable); err != nil {
			return fmt.Errorf("service %s runs %s, which no longer exists (the program was moved or removed since the install): run \"DataFileDownloadDirectory reinstall --service_name %s\" with the program where it is now", name, d.Executable, name)
		}
	}
	return s.systemctl(verb, name+".service")
}

func (s *Systemd) Start(name string) error   { return s.control("start", name) }
func (s *Systemd) Stop(name string) error    { return s.control("stop", name) }
func (s *Systemd) Restart(name string) error { return s.control("restart", name) }

// State asks systemd about service name; the second result is systemd's
// own word for it.
func (s *Systemd) State(name string) (State, string, error) {
	if _, err := os.Stat(s.UnitPath(name)); errors.Is(err, fs.ErrNotExist) {
		return NotInstalled, "", nil
	}
	if !s.Booted() {
		return Stopped, "", errors.New("systemd is not running on this machine, so the service cannot be running")
	}
	// is-active exits non-zero for every state but active; its output is
	// the answer either way.
	out, _ := s.Systemctl("is-active", name+".service")
	switch out {
	case "active", "reloading":
		return Running, out, nil
	case "activating":
		return Starting, out, nil
	case "failed":
		return Failed, out, nil
	case "inactive", "deactivating":
		return Stopped, out, nil
	}
	return Stopped, out, fmt.Errorf("systemctl is-active %s.service: %q", name, out)
}

// tellAccount says which account a Linux service runs as, and warns about
// root.
func tellAccount(w io.Writer, d *Definition) {
	user := serviceUser(*d)
	if user == "root" {
		fmt.Fprintf(w, "WARNING: the service runs as root (--service_user root). The unit still keeps it from most of the system, "+
			"but root may write every folder it can see; without --service_user it runs as the system user %s, which may write only its output and log folders.\n", SystemUser)
		return
	}
	writes := d.OutputDir
	if d.LogDir != "" {
		writes += " and " + d.LogDir
	}
	fmt.Fprintf(w, "It runs as the user %s, sandboxed by systemd: it may write only %s (and its log).\n", user, writes)
}
