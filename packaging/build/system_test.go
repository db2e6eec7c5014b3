//go:build linux

package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The install test changes the real system (/usr/bin, /etc, a system user).
// A lock keeps two test runs on one machine apart, and a marker file
// remembers what a run that was killed before its cleanup left behind.
const (
	systemLock   = "/run/lock/datafiledownloaddirectory-package-test.lock"
	systemMarker = "/var/tmp/datafiledownloaddirectory-package-test.marker"
)

// claimSystem takes the machine for the install test: it waits for the
// lock, cleans up after a killed run, refuses to touch a real installation,
// and registers the cleanup that purges the package, removes its folders
// and the user it created, even when the test fails.
func claimSystem(t *testing.T) {
	t.Helper()
	lockPath := systemLock
	if _, err := os.Stat("/run/lock"); err != nil {
		lockPath = "/tmp/datafiledownloaddirectory-package-test.lock"
	}
	lock, err := os.OpenFile(lockPath, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lock.Close() }) // closing releases the lock

	if b, err := os.ReadFile(systemMarker); err == nil {
		t.Logf("cleaning up after an earlier run that was stopped before its cleanup")
		cleanSystem(t, string(b) == "user created\n")
	}
	if status := dpkgStatus(t); status != "" {
		t.Fatalf("datafiledownloaddirectory is installed on this machine (%s); this test installs and purges it, so remove it first: dpkg --purge datafiledownloaddirectory", status)
	}
	for _, dir := range []string{etcDir, libDir, logDir} {
		if _, err := os.Lstat(dir); err == nil {
			t.Fatalf("%s exists although the package is not installed; this test would delete it, so move it away first", dir)
		}
	}
	userCreated := exec.Command("getent", "passwd", user).Run() != nil
	mark := "user existed\n"
	if userCreated {
		mark = "user created\n"
	}
	if err := os.WriteFile(systemMarker, []byte(mark), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cleanSystem(t, userCreated) })
}

// cleanSystem purges the package if it is installed, removes its folders
// (which did not exist before the test, see claimSystem) and the user and
// group when the test created them.
func cleanSystem(t *testing.T, deleteUser bool) {
	if dpkgStatus(t) != "" {
		if out, err := runDpkg("--purge", "datafiledownloaddirectory"); err != nil {
			t.Errorf("cleanup: dpkg --purge: %v\n%s", err, out)
		}
	}
	for _, dir := range []string{etcDir, libDir, logDir} {
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	}
	if deleteUser {
		if exec.Command("getent", "passwd", user).Run() == nil {
			if out, err := exec.Command("userdel", user).CombinedOutput(); err != nil {
				t.Errorf("cleanup: userdel %s: %v\n%s", user, err, out)
			}
		}
		if exec.Command("getent", "group", user).Run() == nil {
			if out, err := exec.Command("groupdel", user).CombinedOutput(); err != nil {
				t.Errorf("cleanup: groupdel %s: %v\n%s", user, err, out)
			}
		}
	}
	if err := os.Remove(systemMarker); err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Errorf("cleanup: %v", err)
	}
}

// dpkgStatus is the package's dpkg status ("installed", "config-files",
// ...), or "" when dpkg does not have it.
func dpkgStatus(t *testing.T) string {
	out, err := exec.Command("dpkg-query", "-W", "-f=${db:Status-Status}", "datafiledownloaddirectory").Output()
	status := strings.TrimSpace(string(out))
	if err != nil || status == "not-installed" {
		return ""
	}
	return status
}

// runDpkg runs dpkg, waiting up to two minutes for its lock, which apt on
// this shared machine may hold.
func runDpkg(args ...string) ([]byte, error) {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		cmd := exec.Command("dpkg", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		out, err := cmd.CombinedOutput()
		if err == nil || !bytes.Contains(out, []byte("lock")) || time.Now().After(deadline) {
			return out, err
		}
		time.Sleep(2 * time.Second)
	}
}

func dpkg(t *testing.T, args ...string) {
	t.Helper()
	out, err := runDpkg(args...)
	t.Logf("dpkg %s:\n%s", strings.Join(args, " "), out)
	if err != nil {
		t.Fatalf("dpkg %s: %v", strings.Join(args, " "), err)
	}
}
