//go:build !windows

package installer_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openmsi/datafiledownloaddirectory/download"
	"github.com/openmsi/datafiledownloaddirectory/installer"
	"github.com/openmsi/datafiledownloaddirectory/installer/installertest"
	"github.com/openmsi/datafiledownloaddirectory/internal/about"
	"github.com/openmsi/datafiledownloaddirectory/options"
	"github.com/openmsi/datafiledownloaddirectory/service"
)

// serviceHarness runs the verbs against a systemd backend in a temporary
// root, from its folder, with a broker secret in the environment.
type serviceHarness struct {
	t      *testing.T
	dir    string
	config string
	sd     *installer.Systemd
	sc     *installertest.Systemctl
	exe    string
	vars   map[string]string
	env    installer.Env
}

func newServiceHarness(t *testing.T) *serviceHarness {
	dir := t.TempDir()
	h := &serviceHarness{t: t, dir: dir, config: filepath.Join(dir, "lab.config")}
	h.sd, h.sc = installertest.NewSystemd(filepath.Join(h.dir, "root"))
	h.exe = filepath.Join(h.dir, "bin", about.Name)
	writeFile(t, h.exe, "#!/bin/sh\n")
	h.vars = map[string]string{"KAFKA_PASSWORD": "hunter2-secret"}
	writeFile(t, h.config, "[broker]\nbootstrap.servers = localhost:9092\nsasl.password = $KAFKA_PASSWORD\n[consumer]\n")
	h.env = installer.Env{
		Backend:    func() installer.Backend { return h.sd },
		Executable: func() (string, error) { return h.exe, nil },
		LookupEnv:  func(k string) (string, bool) { v, ok := h.vars[k]; return v, ok },
	}
	t.Chdir(h.dir)
	return h
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o755); err != nil {
		t.Fatal(err)
	}
}

// verb runs one command line to the end and returns its exit status and
// output.
func (h *serviceHarness) verb(args ...string) (int, string, string) {
	h.t.Helper()
	v := installer.VerbFor(args[0])
	if v == nil {
		h.t.Fatalf("%q is not a verb", args[0])
	}
	var stdout, stderr bytes.Buffer
	code := v(args[1:], &stdout, &stderr, h.env)
	return code, stdout.String(), stderr.String()
}

func (h *serviceHarness) expect(wantCode int, wantOut string, args ...string) string {
	h.t.Helper()
	code, out, errOut := h.verb(args...)
	if code != wantCode || !strings.Contains(out+errOut, wantOut) {
		h.t.Fatalf("%q: exit %d, want %d with %q\nstdout:\n%s\nstderr:\n%s", args, code, wantCode, wantOut, out, errOut)
	}
	return out + errOut
}

func TestServiceVerbsLifecycle(t *testing.T) {
	h := newServiceHarness(t)
	out := h.expect(0, "Installed service labdl", "install", "data", "--config", "lab.config", "--topic_name", "t1", "--n-threads", "3", "--service_name", "labdl")
	if !strings.Contains(out, "KAFKA_PASSWORD") || strings.Contains(out, "hunter2") {
		t.Errorf("install should name the captured variable, never its value:\n%s", out)
	}
	unit, err := os.ReadFile(h.sd.UnitPath("labdl"))
	if err != nil {
		t.Fatal(err)
	}
	absData := filepath.Join(h.dir, "data")
	wantExec := `ExecStart="` + h.exe + `" "run" "` + absData + `" "--config" "` + h.config + `" "--topic_name" "t1" "--n_threads" "3" "--service_name" "labdl"`
	if !strings.Contains(string(unit), wantExec+"\n") {
		t.Errorf("unit lacks\n%s\n%s", wantExec, unit)
	}
	if strings.Contains(string(unit), "hunter2") {
		t.Error("the unit holds the secret")
	}
	env, err := os.ReadFile(h.sd.EnvPath("labdl"))
	if err != nil || !strings.Contains(string(env), `KAFKA_PASSWORD="hunter2-secret"`) {
		t.Errorf("environment file %q: %v", env, err)
	}
	if fi, err := os.Stat(absData); err != nil || !fi.IsDir() {
		t.Errorf("output folder not created: %v", err)
	}

	h.expect(1, "reinstall", "install", "data", "--config", "lab.config", "--topic_name", "t1", "--service_name", "labdl")
	h.expect(installer.ExitStatusStopped, "installed and stopped", "status", "--service_name", "labdl")
	h.expect(0, "Started service labdl", "start", "--service_name", "labdl")

	// What a running service leaves for status.
	statusPath := filepath.Join(absData, download.StateDirName, service.StatusFileName)
	writeFile(t, statusPath, "")
	if err := service.WriteStatusFile(statusPath, service.StatusReport{
		Service: "labdl", PID: 4242, Updated: time.Now(),
		Status: download.Status{MessagesRead: 12, MessagesProcessed: 11, FilesCompleted: 2,
			InProgress: []download.FileProgress{{Path: "run7/big.dat", ChunksReceived: 3, ChunksTotal: 9}}},
	}); err != nil {
		t.Fatal(err)
	}
	out = h.expect(0, "installed and running", "status", "--service_name", "labdl")
	for _, want := range []string{"process 4242", "12 messages read, 11 messages processed, 2 files", "run7/big.dat (in progress: 3/9 chunks)"} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}

	h.expect(1, "stop_and_remove", "uninstall", "--service_name", "labdl")

	// The program moved, and the administrator's shell lacks the secret:
	// stop_and_restart installs the saved arguments with the new path and
	// the captured value.
	h.exe = filepath.Join(h.dir, "newbin", about.Name)
	writeFile(t, h.exe, "#!/bin/sh\n")
	delete(h.vars, "KAFKA_PASSWORD")
	h.sc.Calls = nil
	h.expect(0, "Started service labdl", "stop_and_restart", "--service_name", "labdl")
	want := []string{"is-active labdl.service", "stop labdl.service", "is-active labdl.service", "is-active labdl.service",
		"disable labdl.service", "daemon-reload", "reset-failed labdl.service", "daemon-reload", "enable labdl.service", "start labdl.service"}
	if !slices.Equal(h.sc.Calls, want) {
		t.Errorf("systemctl calls\n%q\nwant\n%q", h.sc.Calls, want)
	}
	unit, _ = os.ReadFile(h.sd.UnitPath("labdl"))
	if !strings.Contains(string(unit), `ExecStart="`+h.exe+`" "run" "`+absData+`"`) {
		t.Errorf("reinstalled unit does not run the moved program:\n%s", unit)
	}
	if env, _ := os.ReadFile(h.sd.EnvPath("labdl")); !strings.Contains(string(env), "hunter2-secret") {
		t.Error("the captured secret was lost by the reinstall")
	}

	h.expect(0, "Removed service labdl", "stop_and_remove", "--service_name", "labdl")
	h.expect(installer.ExitStatusNotInstalled, "not installed", "status", "--service_name", "labdl")
	// The saved install outlives the removal...
	h.vars["KAFKA_PASSWORD"] = "hunter2-secret"
	h.expect(0, "Installed service labdl again", "reinstall", "--service_name", "labdl")
	h.expect(0, "Removed service labdl", "uninstall", "--service_name", "labdl", "--remove_install_args")
	// ...until --remove_install_args.
	h.expect(1, "no earlier install was saved", "reinstall", "--service_name", "labdl")
	h.expect(1, "not installed", "start", "--service_name", "labdl")
	if _, err := os.Stat(absData); err != nil {
		t.Errorf("the output folder was touched: %v", err)
	}
}

func TestInstallDryRun(t *testing.T) {
	h := newServiceHarness(t)
	out := h.expect(0, "nothing was changed", "install", "data", "--config", "lab.config", "--topic_name", "t1", "--dry_run")
	for _, want := range []string{"[Unit]", "[Service]", "ExecStart=", `"--service_name" "DataFileDownloadDirectory"`, "KAFKA_PASSWORD", "[Install]"} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "hunter2") || strings.Contains(out, "dry_run") {
		t.Errorf("dry run output:\n%s", out)
	}
	if _, err := os.Stat(h.sd.Root); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a dry run wrote into the root: %v", err)
	}
	if len(h.sc.Calls) != 0 {
		t.Errorf("a dry run ran systemctl: %q", h.sc.Calls)
	}
	if !strings.Contains(out, "\nUser=datafiledownloaddirectory\n") || !strings.Contains(out, "It runs as the user datafiledownloaddirectory, sandboxed") ||
		strings.Contains(out, "WARNING") {
		t.Errorf("dry run without --service_user:\n%s", out)
	}
	out = h.expect(0, "nothing was changed", "install", "data", "--config", "lab.config", "--topic_name", "t1", "--dry_run", "--service_user", "root")
	if !strings.Contains(out, "\nUser=root\n") || !strings.Contains(out, "WARNING: the service runs as root") {
		t.Errorf("dry run with --service_user root:\n%s", out)
	}
}

func TestInstallChecksLikeConsoleMode(t *testing.T) {
	h := newServiceHarness(t)
	h.expect(options.ExitUsage, "not found", "install", "data", "--config", "nosuch.config", "--topic_name", "test", "--service_name", "labdl")
	delete(h.vars, "KAFKA_PASSWORD")
	h.expect(options.ExitUsage, "KAFKA_PASSWORD", "install", "data", "--config", "lab.config", "--topic_name", "test", "--service_name", "labdl")
	h.expect(options.ExitUsage, "service name", "install", "data", "--config", "lab.config", "--topic_name", "test", "--service_name", "my service")
	h.expect(options.ExitUsage, "OUTPUT_DIR", "install", "--config", "lab.config", "--topic_name", "test")
	h.expect(options.ExitUsage, "unexpected argument", "start", "labdl")
	if _, err := os.Stat(h.sd.UnitPath("labdl")); !errors.Is(err, os.ErrNotExist) {
		t.Error("a rejected install wrote a unit")
	}
	h.sd.Euid = func() int { return 1000 }
	h.vars["KAFKA_PASSWORD"] = "x"
	h.expect(1, "sudo", "install", "data", "--config", "lab.config", "--topic_name", "test", "--service_name", "labdl")
}
