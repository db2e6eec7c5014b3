//go:build windows

package main_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/registry"

	"github.com/openmsi/datafiledownloaddirectory/test/kafkatest"
	"github.com/openmsi/datafiledownloaddirectory/test/uploadtest"
)

// scmAllowed says whether tests may register services with this machine's
// service manager: `make test-windows` allows it for wine's, and on a real
// Windows an administrator sets DFDD_WINDOWS_SCM=1 to run them.
func scmAllowed(t *testing.T) {
	t.Helper()
	if os.Getenv("DFDD_WINDOWS_SCM") != "1" {
		t.Skip("registers a real Windows service: set DFDD_WINDOWS_SCM=1 in an administrator's terminal to run it (make test-windows does, under wine)")
	}
}

// verb runs one of the program's service verbs and returns its exit code
// and output.
func verb(t *testing.T, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	cmd.Env = append(os.Environ(), "E2E_BOOTSTRAP="+kafkatest.Bootstrap())
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%s: %v", args[0], err)
	}
	return code, strings.ReplaceAll(string(out), "\r\n", "\n")
}

func mustVerb(t *testing.T, want int, args ...string) string {
	t.Helper()
	code, out := verb(t, args...)
	if code != want {
		t.Fatalf("%s exited with %d, want %d:\n%s", strings.Join(args, " "), code, want, out)
	}
	return out
}

// serviceName is a service name of the test's own.
func serviceName() string {
	return "dfddtest" + strings.ReplaceAll(time.Now().Format("150405.000"), ".", "")
}

// TestWindowsServiceLifecycle: install, start, status while it downloads,
// stop and uninstall, through the program's own verbs and the Windows
// service manager, as an administrator would.
func TestWindowsServiceLifecycle(t *testing.T) {
	scmAllowed(t)
	topic, cfg := setup(t, 2)
	// The broker's address written out: wine's service manager does not
	// hand a service the environment install captured (see
	// TestWindowsServiceInstallCapturesEnvironment).
	literal(t, cfg)
	name := serviceName()
	out := filepath.Join(t.TempDir(), "lab data") // a space, for the quoting
	logFile := filepath.Join(t.TempDir(), "service.log")
	t.Cleanup(func() {
		// Nothing left registered when the test fails half-way.
		verb(t, "stop", "--service_name", name)
		verb(t, "uninstall", "--service_name", name)
		if t.Failed() {
			if b, err := os.ReadFile(logFile); err == nil {
				t.Logf("service log:\n%s", b)
			}
		}
	})

	got := mustVerb(t, 0, "install", out, "--config", cfg, "--topic_name", topic, "--service_name", name,
		"--consumer_group_id", "svc-"+topic, "--logger_file_path", logFile)
	if !strings.Contains(got, "Installed service "+name) {
		t.Fatalf("install said:\n%s", got)
	}
	// Wine's service manager has no delayed start: one warning, and the
	// service is installed all the same.
	if n := strings.Count(got, "WARNING"); n > 1 {
		t.Errorf("install warned %d times:\n%s", n, got)
	}
	t.Logf("install:\n%s", got)

	mustVerb(t, 0, "start", "--service_name", name)
	data := randomData(71, 300_000)
	produce(t, topic, uploadtest.FileChunks(data, "from the service/a.dat", 65536, uploadtest.Options{}))
	waitFor(t, "the file downloaded by the service", 2*time.Minute, func() bool {
		return sameFile(filepath.Join(out, "from the service", "a.dat"), data)
	})

	var status string
	waitFor(t, "status to show the file", 30*time.Second, func() bool {
		_, status = verb(t, "status", "--service_name", name)
		return strings.Contains(status, "1 file completely reconstructed")
	})
	if !strings.Contains(status, "Service "+name+" is installed and running") {
		t.Errorf("status:\n%s", status)
	}
	// The command as Windows parses it (CommandLineToArgvW), not as Go
	// quotes strings: no doubled backslashes.
	exe, err := filepath.Abs(binary(t))
	if err != nil {
		t.Fatal(err)
	}
	absCfg, _ := filepath.Abs(cfg)
	want := windows.ComposeCommandLine([]string{exe, "run", out, "--config", absCfg})
	if !strings.Contains(status, "It runs: "+want) {
		t.Errorf("status does not show the command as Windows parses it, %s ...:\n%s", want, status)
	}
	t.Logf("status:\n%s", status)

	mustVerb(t, 0, "stop", "--service_name", name)
	if _, st := verb(t, "status", "--service_name", name); !strings.Contains(st, "is installed and stopped") {
		t.Errorf("status after stop:\n%s", st)
	}
	mustVerb(t, 0, "uninstall", "--service_name", name)
	if code, st := verb(t, "status", "--service_name", name); !strings.Contains(st, "is not installed") || code == 0 {
		t.Errorf("status after uninstall (exit %d):\n%s", code, st)
	}
	if b, err := os.ReadFile(logFile); err != nil || !strings.Contains(string(b), "Running as service "+name) {
		t.Errorf("the service's log file: %v\n%s", err, b)
	}
}

// literal replaces the config's $E2E_BOOTSTRAP by its value.
func literal(t *testing.T, cfg string) {
	t.Helper()
	b, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, []byte(strings.ReplaceAll(string(b), "$E2E_BOOTSTRAP", kafkatest.Bootstrap())), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestWindowsServiceInstallCapturesEnvironment: the variables a config
// refers to are captured into the service's Environment value, which the
// service manager hands to the service on Windows (wine's does not, so the
// service is not started here), and go with the service at uninstall. The
// saved install outlives the uninstall, for reinstall, until
// --remove_install_args.
func TestWindowsServiceInstallCapturesEnvironment(t *testing.T) {
	scmAllowed(t)
	_, cfg := setup(t, 1)
	name := serviceName()
	t.Cleanup(func() { verb(t, "uninstall", "--service_name", name, "--remove_install_args") })
	mustVerb(t, 0, "install", t.TempDir(), "--config", cfg, "--topic_name", "t", "--service_name", name)
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, `SYSTEM\CurrentControlSet\Services\`+name, registry.QUERY_VALUE)
	if err != nil {
		t.Fatal(err)
	}
	env, _, err := k.GetStringsValue("Environment")
	k.Close()
	if err != nil || !slices.Contains(env, "E2E_BOOTSTRAP="+kafkatest.Bootstrap()) {
		t.Errorf("the service's Environment value is %q (%v), want E2E_BOOTSTRAP=%s in it", env, err, kafkatest.Bootstrap())
	}
	mustVerb(t, 0, "uninstall", "--service_name", name)
	if _, err := registry.OpenKey(registry.LOCAL_MACHINE, `SYSTEM\CurrentControlSet\Services\`+name, registry.QUERY_VALUE); err == nil {
		t.Error("the service's registry key is still there after uninstall")
	}
	got := mustVerb(t, 0, "reinstall", "--service_name", name)
	if !strings.Contains(got, "Installed service "+name+" again") {
		t.Errorf("reinstall from the saved install:\n%s", got)
	}
}

// TestWindowsFailedInstallLeavesNothing: an install that fails after the
// service was registered (here: its saved install cannot be written,
// because a file stands where its folder must be) removes the service
// again and leaves no saved install that reinstall would take for a
// working one.
func TestWindowsFailedInstallLeavesNothing(t *testing.T) {
	scmAllowed(t)
	_, cfg := setup(t, 1)
	literal(t, cfg)
	name := serviceName()
	programData := t.TempDir()
	blocker := filepath.Join(programData, "DataFileDownloadDirectory")
	if err := os.WriteFile(blocker, []byte("not a folder"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { verb(t, "uninstall", "--service_name", name) })
	cmd := exec.Command(binary(t), "install", t.TempDir(), "--config", cfg, "--topic_name", "t", "--service_name", name)
	cmd.Env = append(os.Environ(), "ProgramData="+programData)
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("install went through although its saved install cannot be written:\n%s", out)
	}
	if !strings.Contains(string(out), blocker) {
		t.Errorf("the error does not name what failed:\n%s", out)
	}
	if st := serviceState(t, name); st != 0 {
		t.Errorf("the failed install left service %s registered (state %d)", name, st)
	}
	if _, err := registry.OpenKey(registry.LOCAL_MACHINE, `SYSTEM\CurrentControlSet\Services\`+name, registry.QUERY_VALUE); err == nil {
		t.Errorf("the failed install left the service's registry key")
	}
	if b, err := os.ReadFile(blocker); err != nil || string(b) != "not a folder" {
		t.Errorf("%s was changed: %q, %v", blocker, b, err)
	}
}
