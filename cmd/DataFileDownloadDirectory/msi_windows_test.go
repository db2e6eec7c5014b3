//go:build windows

package main_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/windows/svc"
	"golang.org/x/sys/windows/svc/mgr"

	"github.com/openmsi/datafiledownloaddirectory/test/testkit"
	"github.com/openmsi/datafiledownloaddirectory/test/uploadtest"
)

// TestMSIInstallsAndRemovesTheService: `msiexec /i` with the service's
// properties installs the program, registers the service and starts it,
// and the service downloads a file; `msiexec /x` stops and removes it.
// The package is the one make package builds ($DFDD_MSI).
func TestMSIInstallsAndRemovesTheService(t *testing.T) {
	scmAllowed(t)
	msi := os.Getenv("DFDD_MSI")
	if msi == "" {
		t.Skip("set DFDD_MSI to the .msi that make package built (make test-windows does)")
	}
	topic, cfg := setup(t, 2)
	literal(t, cfg) // wine's service manager passes no environment
	name := serviceName()
	out := filepath.Join(t.TempDir(), "msi out")
	logs := t.TempDir()
	msiexec := func(args ...string) {
		t.Helper()
		log := filepath.Join(logs, args[0][1:]+".log")
		cmd := exec.Command("msiexec", append(args, "/qn", "/l*v", log)...)
		if b, err := cmd.CombinedOutput(); err != nil {
			raw, _ := os.ReadFile(log)
			t.Fatalf("msiexec %s: %v\n%s\nlast lines of its log:\n%s", strings.Join(args, " "), err, b, tail(string(raw), 30))
		}
	}
	installed := false
	t.Cleanup(func() {
		if installed {
			exec.Command("msiexec", "/x", msi, "/qn").Run()
		}
	})

	msiexec("/i", msi, "OUTPUT_DIR="+out, "CONFIG="+cfg, "TOPIC="+topic, "SERVICE_NAME="+name)
	installed = true
	exe := filepath.Join(os.Getenv("ProgramW6432"), "DataFileDownloadDirectory", "DataFileDownloadDirectory.exe")
	if os.Getenv("ProgramW6432") == "" {
		exe = filepath.Join(`C:\Program Files`, "DataFileDownloadDirectory", "DataFileDownloadDirectory.exe")
	}
	if _, err := os.Stat(exe); err != nil {
		t.Fatalf("the program is not where the MSI puts it: %v", err)
	}
	waitFor(t, "the service running", time.Minute, func() bool { return serviceState(t, name) == svc.Running })

	data := randomData(91, 200_000)
	produce(t, topic, uploadtest.FileChunks(data, "via msi/b.dat", 65536, uploadtest.Options{}))
	waitFor(t, "the file downloaded by the MSI's service", 2*time.Minute, func() bool {
		return sameFile(filepath.Join(out, "via msi", "b.dat"), data)
	})

	msiexec("/x", msi)
	installed = false
	// Windows' msiexec waits for the service to stop (ServiceControl
	// Wait="yes") before it deletes it and its program; wine's returns at
	// once, so the service still stops and goes away here.
	waitFor(t, "the service stopped and removed", 45*time.Second, func() bool { return serviceState(t, name) == 0 })
	if _, err := os.Stat(exe); err == nil {
		if testkit.UnderWine() {
			// The program was still running when wine's RemoveFiles came
			// to it, so Windows Installer's rule for a file in use applies:
			// it goes at the next reboot. Windows would have waited.
			t.Logf("%s is left after msiexec /x: wine's msiexec does not wait for the service to stop before removing its files", exe)
		} else {
			t.Errorf("%s is still there after msiexec /x", exe)
		}
	}
	if t.Failed() {
		raw, _ := os.ReadFile(filepath.Join(logs, "x.log"))
		t.Logf("msiexec /x log:\n%s", strings.ReplaceAll(string(raw), "\r\n", "\n"))
	}
}

// serviceState is the service's state, or 0 when it does not exist.
func serviceState(t *testing.T, name string) svc.State {
	t.Helper()
	m, err := mgr.Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer m.Disconnect()
	s, err := m.OpenService(name)
	if err != nil {
		return 0
	}
	defer s.Close()
	st, err := s.Query()
	if err != nil {
		return 0
	}
	return st.State
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
