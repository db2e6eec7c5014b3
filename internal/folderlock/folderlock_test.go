package folderlock

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// holdEnv makes the test binary a second process that holds the lock on
// the folder the variable names until it is killed.
const holdEnv = "DFDD_FOLDERLOCK_HOLD"

func TestMain(m *testing.M) {
	if dir := os.Getenv(holdEnv); dir != "" {
		if _, err := Acquire(dir, dir); err != nil {
			os.Stdout.WriteString("error: " + err.Error() + "\n")
			os.Exit(1)
		}
		os.Stdout.WriteString("locked\n")
		select {} // until killed
	}
	os.Exit(m.Run())
}

// holdInChild starts a process that holds the lock and returns it once it
// does.
func holdInChild(t *testing.T, dir string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), holdEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "locked\n" {
		t.Fatalf("the child did not lock: %q %v", line, err)
	}
	return cmd
}

func TestSecondProcessRefusedUntilFirstDies(t *testing.T) {
	t.Parallel()
	out := t.TempDir()
	state := filepath.Join(out, ".state")
	before := time.Now().Add(-time.Second)
	child := holdInChild(t, state)

	_, err := Acquire(state, out)
	var inUse *InUseError
	if !errors.As(err, &inUse) {
		t.Fatalf("a second process got the lock: %v", err)
	}
	if inUse.PID != child.Process.Pid || inUse.Started.Before(before) || inUse.Started.After(time.Now()) {
		t.Errorf("holder pid %d started %v, want pid %d started after %v", inUse.PID, inUse.Started, child.Process.Pid, before)
	}
	msg := err.Error()
	for _, want := range []string{"another DataFileDownloadDirectory (pid ", ", started ", ") is using " + out} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}

	// A crash (here SIGKILL) releases the lock: no stale lock to remove.
	if err := child.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = child.Wait()
	l, err := Acquire(state, out)
	if err != nil {
		t.Fatalf("the lock outlived the process that held it: %v", err)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
}

func TestSameProcessSecondAcquireRefusedThenReleased(t *testing.T) {
	t.Parallel()
	state := filepath.Join(t.TempDir(), "state")
	l, err := Acquire(state, "OUT")
	if err != nil {
		t.Fatal(err)
	}
	var inUse *InUseError
	if _, err := Acquire(state, "OUT"); !errors.As(err, &inUse) || inUse.PID != os.Getpid() {
		t.Fatalf("second Acquire: %v", err)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	l2, err := Acquire(state, "OUT")
	if err != nil {
		t.Fatalf("after Release: %v", err)
	}
	l2.Release()
}

func TestHolderNotWrittenYet(t *testing.T) {
	e := holder(mustTemp(t, ""), "OUT")
	if e.PID != 0 || !strings.Contains(e.Error(), "another DataFileDownloadDirectory is using OUT (it has only just started)") {
		t.Errorf("%+v: %s", e, e)
	}
}

func mustTemp(t *testing.T, content string) *os.File {
	t.Helper()
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestUnwritableStateFolder(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	var inUse *InUseError
	if _, err := Acquire(filepath.Join(file, "state"), "OUT"); err == nil || errors.As(err, &inUse) {
		t.Errorf("a state folder below a file: %v", err)
	}
}

// The lock holds no file open for writing, which would keep a lab from
// remounting the output folder's filesystem read-only.
func TestLockFileNotOpenForWriting(t *testing.T) {
	t.Parallel()
	state := filepath.Join(t.TempDir(), "state")
	l, err := Acquire(state, "OUT")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	if l.f.Name() == "" {
		t.Fatal("no file")
	}
	if _, err := l.f.Write([]byte("x")); err == nil {
		t.Error("the lock's file is open for writing")
	}
}
