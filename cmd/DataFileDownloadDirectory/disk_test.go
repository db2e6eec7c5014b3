//go:build linux

package main_test

// Disk trouble under the built program, on real filesystems: a small tmpfs
// that fills up, the same remounted read-only, and a folder the program may
// not write to. Each time the program must say what is wrong, keep every
// chunk it could not store in Kafka (pause and retry, no offset committed),
// never show a truncated file, and finish every file once the trouble is
// gone. Mounting needs root (CAP_SYS_ADMIN); root also ignores permission
// bits, so the permission case runs the program as the user nobody.

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/openmsi/datafiledownloaddirectory/test/testkit"
)

// mountTmpfs mounts a tmpfs of the given size (as mount(8) reads it) for
// the test, or skips the test saying why it cannot.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		testkit.Need(t, "mounting a small tmpfs needs root (the fault-injection unit tests cover the same errors)")
	}
	dir := filepath.Join(t.TempDir(), "mnt")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size+",mode=0755", "tmpfs", dir).CombinedOutput(); err != nil {
		testkit.Need(t, fmt.Sprintf("cannot mount a tmpfs here (%v: %s); the fault-injection unit tests cover the same errors", err, strings.TrimSpace(string(out))))
	}
	t.Cleanup(func() {
		// Lazy, so that a program still holding files there cannot keep
		// the mount alive after the test.
		if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// fill writes a ballast file until only about leave bytes are free.
func fill(t *testing.T, ballast string, leave int64) {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(filepath.Dir(ballast), &st); err != nil {
		t.Fatal(err)
	}
	n := int64(st.Bavail)*int64(st.Bsize) - leave
	f, err := os.Create(ballast)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	block := make([]byte, 1<<20)
	for ; n > 0; n -= int64(len(block)) {
		if _, err := f.Write(block[:min(int64(len(block)), n)]); err != nil {
			if errors.Is(err, syscall.ENOSPC) {
				return
			}
			t.Fatal(err)
		}
	}
}

func merged(ms ...map[string][]byte) map[string][]byte {
	all := map[string][]byte{}
	for _, m := range ms {
		for k, v := range m {
			all[k] = v
		}
	}
	return all
}

func watch(out string, files map[string][]byte) (chan struct{}, chan error) {
	stop := make(chan struct{})
	errc := make(chan error, 1)
	go func() { errc <- watchOutput(out, files, stop) }()
	return stop, errc
}

// TestDiskFull: the output folder's filesystem fills up. Once with space
// freed while the program runs (it resumes by itself), once with the
// program killed while the disk is full and started again after space was
// freed (what it could not write was not committed, so it comes again).
func TestDiskFull(t *testing.T) {
	mnt := mountTmpfs(t, "32m")
	out := filepath.Join(mnt, "out")
	ballast := filepath.Join(mnt, "ballast")
	topic, cfg := setup(t, 4)
	args := []string{out, "--config", cfg, "--topic_name", topic, "--consumer_group_id", "full-" + topic}
	first, firstMsgs := someFiles(400, "first", 6, 1_500_000)
	second, secondMsgs := someFiles(500, "second", 6, 1_500_000)
	stopWatch, watchErr := watch(out, merged(first, second))

	p := start(t, false, args...)
	waitFor(t, "the state folder", 30*time.Second, func() bool {
		_, err := os.Stat(filepath.Join(out, ".datafiledownloaddirectory", "partial"))
		return err == nil
	})
	fill(t, ballast, 3<<20)
	produce(t, topic, firstMsgs)
	waitFor(t, "the full disk to be reported", time.Minute, func() bool { return strings.Contains(p.Output(), "no space left on device") })
	time.Sleep(3 * time.Second) // a few retries
	assertRunning(t, p)
	if n := countIn(first, out); n == len(first) {
		t.Fatal("every file arrived although the disk was full")
	}
	if !strings.Contains(p.Output(), "paused and retried") {
		t.Fatal("no pause reported")
	}
	freed := time.Now()
	if err := os.Remove(ballast); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the files after space was freed", 2*time.Minute, allThere(out, first))
	t.Logf("first files complete %s after space was freed", time.Since(freed).Round(100*time.Millisecond))

	fill(t, ballast, 3<<20)
	mark := len(p.Output())
	produce(t, topic, secondMsgs)
	waitFor(t, "the full disk to be reported again", time.Minute, func() bool { return strings.Contains(p.Output()[mark:], "no space left on device") })
	time.Sleep(2 * time.Second)
	p.cmd.Process.Kill()
	p.wait(t, 10*time.Second)
	reported := p.Output()
	t.Logf("killed with %d of %d second files complete", countIn(second, out), len(second))
	if err := os.Remove(ballast); err != nil {
		t.Fatal(err)
	}
	p = start(t, false, args...)
	waitFor(t, "every file after the restart", 2*time.Minute, allThere(out, merged(first, second)))
	stopCleanly(t, p, out, stopWatch, watchErr)
	lines := 0
	for _, line := range strings.Split(reported, "\n") {
		if strings.Contains(line, "no space") {
			if lines == 0 {
				t.Logf("reported: %s", line)
			}
			lines++
		}
	}
	t.Logf("%d lines about the full disk", lines)
	if os.Getenv("DFDD_SHOW_OUTPUT") == "1" {
		t.Log(reported)
	}
}

// TestReadOnlyFolder: the output folder's filesystem is remounted
// read-only while the program runs, then read-write again.
func TestReadOnlyFolder(t *testing.T) {
	mnt := mountTmpfs(t, "64m")
	out := filepath.Join(mnt, "out")
	topic, cfg := setup(t, 4)
	before, beforeMsgs := someFiles(600, "before", 3, 500_000)
	during, duringMsgs := someFiles(700, "during", 4, 800_000)
	stopWatch, watchErr := watch(out, merged(before, during))
	// The log file elsewhere: an open log file on the mount would keep
	// it from being remounted read-only.
	p := start(t, false, out, "--config", cfg, "--topic_name", topic, "--logger_file_path", filepath.Join(t.TempDir(), "dfdd.log"))
	produce(t, topic, beforeMsgs)
	waitFor(t, "the first files", time.Minute, allThere(out, before))
	// Between files the program holds nothing open for writing there, so
	// the remount succeeds once its last barrier has closed the journals.
	waitFor(t, "the filesystem to be remounted read-only", 30*time.Second, func() bool {
		return exec.Command("mount", "-o", "remount,ro", mnt).Run() == nil
	})
	produce(t, topic, duringMsgs)
	waitFor(t, "the read-only folder to be reported", time.Minute, func() bool { return strings.Contains(p.Output(), "read-only file system") })
	time.Sleep(3 * time.Second)
	assertRunning(t, p)
	if n := countIn(during, out); n != 0 {
		t.Fatalf("%d files appeared on a read-only filesystem", n)
	}
	if out, err := exec.Command("mount", "-o", "remount,rw", mnt).CombinedOutput(); err != nil {
		t.Fatalf("remount read-write: %v: %s", err, out)
	}
	back := time.Now()
	waitFor(t, "the files after the remount", 2*time.Minute, allThere(out, during))
	t.Logf("files complete %s after the folder became writable again", time.Since(back).Round(100*time.Millisecond))
	stopCleanly(t, p, out, stopWatch, watchErr)
}

// TestPermissionDenied: a destination folder the program may not write
// to. Root may write anywhere, so the program runs as the user nobody.
func TestPermissionDenied(t *testing.T) {
	if os.Geteuid() != 0 {
		testkit.Need(t, "running the program as another user needs root")
	}
	topic, cfg := setup(t, 4)
	nb := forNobody(t, cfg, "perm")
	uid, gid, base, bin, userCfg := nb.uid, nb.gid, nb.base, nb.bin, nb.cfg
	out := filepath.Join(base, "out")
	locked := filepath.Join(out, "locked")
	nb.own(t, out, locked)

	files, msgs := someFiles(800, "locked", 4, 600_000)
	stopWatch, watchErr := watch(out, files)
	asNobody := func(c *exec.Cmd) {
		c.Path = bin
		c.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	}
	p := startWith(t, asNobody, false, out, "--config", userCfg, "--topic_name", topic)
	if err := os.Chmod(locked, 0o555); err != nil {
		t.Fatal(err)
	}
	produce(t, topic, msgs)
	waitFor(t, "the permission problem to be reported", time.Minute, func() bool { return strings.Contains(p.Output(), "permission denied") })
	time.Sleep(3 * time.Second)
	assertRunning(t, p)
	if n := countIn(files, out); n != 0 {
		t.Fatalf("%d files appeared in a folder the program may not write to", n)
	}
	if err := os.Chmod(locked, 0o755); err != nil {
		t.Fatal(err)
	}
	back := time.Now()
	waitFor(t, "the files after the permission was given", 2*time.Minute, allThere(out, files))
	t.Logf("files complete %s after the folder became writable", time.Since(back).Round(100*time.Millisecond))
	stopCleanly(t, p, out, stopWatch, watchErr)
	for _, line := range strings.Split(p.Output(), "\n") {
		if strings.Contains(line, "permission denied") {
			t.Logf("reported: %s", line)
			break
		}
	}
}

// nobodyKit is what the program needs to run as the user nobody: a
// folder nobody may enter (base), the program and the config file in it.
type nobodyKit struct {
	uid, gid       int
	base, bin, cfg string
}

// forNobody prepares a nobodyKit in a new folder named name, with a copy of
// config cfg; it needs root.
func forNobody(t *testing.T, cfg, name string) nobodyKit {
	t.Helper()
	if os.Geteuid() != 0 {
		testkit.Need(t, "running the program as another user needs root")
	}
	nobody, err := user.Lookup("nobody")
	if err != nil {
		testkit.Need(t, "no user nobody: "+err.Error())
	}
	k := nobodyKit{base: filepath.Join(t.TempDir(), name)}
	k.uid, _ = strconv.Atoi(nobody.Uid)
	k.gid, _ = strconv.Atoi(nobody.Gid)
	if err := os.MkdirAll(k.base, 0o755); err != nil {
		t.Fatal(err)
	}
	for d := k.base; d != filepath.Clean(os.TempDir()) && d != "/"; d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	k.bin = filepath.Join(k.base, "DataFileDownloadDirectory")
	copyFile(t, binary(t), k.bin, 0o755)
	k.cfg = filepath.Join(k.base, "lab.config")
	copyFile(t, cfg, k.cfg, 0o644)
	return k
}

// own makes the folders, in order, and gives them to nobody.
func (k nobodyKit) own(t *testing.T, dirs ...string) {
	t.Helper()
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(d, k.uid, k.gid); err != nil {
			t.Fatal(err)
		}
	}
}

func copyFile(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	src, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(fmt.Errorf("copy %s: %w", from, err))
	}
}
