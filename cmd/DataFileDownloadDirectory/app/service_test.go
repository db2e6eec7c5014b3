package app

import (
	"context"
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
	"github.com/openmsi/datafiledownloaddirectory/service"
)

// serviceHarness runs the verbs against a systemd backend in a temporary
// root, from the harness's folder, with a broker secret in the
// environment.
type serviceHarness struct {
	*harness
	sd   *installer.Systemd
	sc   *installertest.Systemctl
	exe  string
	vars map[string]string
}

func newServiceHarness(t *testing.T) *serviceHarness {
	h := &serviceHarness{harness: newHarness(t, cleanStop)}
	h.sd, h.sc = installertest.NewSystemd(filepath.Join(h.dir, "root"))
	h.exe = filepath.Join(h.dir, "bin", Name)
	writeFile(t, h.exe, "#!/bin/sh\n")
	h.vars = map[string]string{"KAFKA_PASSWORD": "hunter2-secret"}
	writeFile(t, h.config, "[broker]\nbootstrap.servers = localhost:9092\nsasl.password = $KAFKA_PASSWORD\n[consumer]\n")
	h.env.backend = func() installer.Backend { return h.sd }
	h.env.executable = func() (string, error) { return h.exe, nil }
	h.env.lookupEnv = func(k string) (string, bool) { v, ok := h.vars[k]; return v, ok }
	h.env.interactive = func() bool { return false }
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
	h.stdout.b.Reset()
	h.stderr.b.Reset()
	code := h.wait(h.start(nil, args...))
	return code, h.stdout.String(), h.stderr.String()
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
	h.expect(ExitStatusStopped, "installed and stopped", "status", "--service_name", "labdl")
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
	h.exe = filepath.Join(h.dir, "newbin", Name)
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
	h.expect(ExitStatusNotInstalled, "not installed", "status", "--service_name", "labdl")
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
}

func TestInstallChecksLikeConsoleMode(t *testing.T) {
	h := newServiceHarness(t)
	h.expect(ExitUsage, "not found", "install", "data", "--config", "nosuch.config", "--service_name", "labdl")
	delete(h.vars, "KAFKA_PASSWORD")
	h.expect(ExitUsage, "KAFKA_PASSWORD", "install", "data", "--config", "lab.config", "--service_name", "labdl")
	h.expect(ExitUsage, "service name", "install", "data", "--config", "lab.config", "--service_name", "my service")
	h.expect(ExitUsage, "OUTPUT_DIR", "install", "--config", "lab.config")
	h.expect(ExitUsage, "unexpected argument", "start", "labdl")
	if _, err := os.Stat(h.sd.UnitPath("labdl")); !errors.Is(err, os.ErrNotExist) {
		t.Error("a rejected install wrote a unit")
	}
	h.sd.Euid = func() int { return 1000 }
	h.vars["KAFKA_PASSWORD"] = "x"
	h.expect(1, "sudo", "install", "data", "--config", "lab.config", "--service_name", "labdl")
}

// runHarness drives the run verb as a service manager would: start, then a
// stop request, with a fake downloader.
func runHarness(t *testing.T, job func(context.Context) error) (*harness, chan struct{}) {
	h := newHarness(t, job)
	h.env.interactive = func() bool { return false }
	stopReq := make(chan struct{})
	h.env.runService = func(_ service.Config, p *service.Program) error {
		if err := p.Start(nil); err != nil {
			return err
		}
		select {
		case <-stopReq:
			return p.Stop(nil)
		case <-p.Done():
			return p.Err()
		}
	}
	return h, stopReq
}

func TestRunVerbServiceMode(t *testing.T) {
	h, stopReq := runHarness(t, cleanStop)
	logDir := filepath.Join(h.dir, "logs")
	if err := os.Mkdir(logDir, 0o755); err != nil {
		t.Fatal(err)
	}
	code := h.start(strings.NewReader("quit\n"), "run", h.out(), "--config", h.config, "--service_name", "labdl",
		"--update_seconds", "1", "--logger_file_path", logDir)
	h.waitStarted()
	statusPath := filepath.Join(h.out(), download.StateDirName, service.StatusFileName)
	waitUntil(t, func() bool { _, err := service.ReadStatusFile(statusPath); return err == nil })
	// Typed input is not read and no dots are printed: nobody is there.
	time.Sleep(1500 * time.Millisecond)
	select {
	case c := <-code:
		t.Fatalf("the service stopped on its own (exit %d): it read stdin\n%s", c, h.stderr)
	default:
	}
	close(stopReq)
	if c := h.wait(code); c != 0 {
		t.Fatalf("exit %d\n%s", c, h.stdout)
	}
	out := h.stdout.String()
	if strings.Contains(out, "\n.\n") || strings.HasPrefix(out, ".") {
		t.Errorf("dots printed in service mode:\n%s", out)
	}
	for _, want := range []string{"Running as service labdl", "shut down", "7 total messages were consumed"} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout (the journal) lacks %q:\n%s", want, out)
		}
	}
	logged, err := os.ReadFile(filepath.Join(logDir, Name+".log"))
	if err != nil || !strings.Contains(string(logged), "INFO: Running as service labdl") {
		t.Errorf("log file at info level by default in service mode: %v\n%s", err, logged)
	}
	r, err := service.ReadStatusFile(statusPath)
	if err != nil || !r.Stopped || r.Status.MessagesRead != 7 || r.Service != "labdl" {
		t.Errorf("final status file %+v: %v", r, err)
	}
}

func TestRunVerbFailureExits1(t *testing.T) {
	h, _ := runHarness(t, func(context.Context) error { return errors.New("topic t does not exist") })
	code := h.wait(h.start(nil, "run", h.out(), "--config", h.config, "--logger_file_path", filepath.Join(h.dir, "x.log")))
	if code != ExitFailure || !strings.Contains(h.stdout.String(), "topic t does not exist") {
		t.Errorf("exit %d\n%s", code, h.stdout)
	}
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestServiceArgs(t *testing.T) {
	o, err := parseArgs([]string{"out", "--n-threads", "4", "--dry_run", "--config", "c", "--service_user", "u",
		"--update_seconds", "5", "--logger_file_level", "debug", "--consumer_group_id", "g", "--service_name", "s"}, installMode)
	if err != nil {
		t.Fatal(err)
	}
	got := o.ServiceArgs("/abs/out", "/abs/c.config", "")
	want := []string{"run", "/abs/out", "--n_threads", "4", "--config", "/abs/c.config", "--logger_file_level", "debug", "--consumer_group_id", "g", "--service_name", "s"}
	if !slices.Equal(got, want) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	if _, err := parseArgs([]string{"out", "--dry_run"}, consoleMode); err == nil {
		t.Error("--dry_run accepted in console mode")
	}
}
