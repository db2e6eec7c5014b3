package main_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Two programs on one output folder, with different groups (so no broker
// fencing can tell them apart): the second stops at once and names the
// first; once the first has been killed, the folder is free again.
func TestSecondProgramOnFolderRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "down.config")
	// Nothing listens on port 1: no broker is needed to hold the folder.
	if err := os.WriteFile(cfg, []byte("[broker]\nbootstrap.servers = 127.0.0.1:1\n[consumer]\nauto.offset.reset = earliest\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	first := start(t, false, out, "--config", cfg, "--topic_name", "t", "--consumer_group_id", "one")
	waitFor(t, "the first program to start", 30*time.Second, func() bool {
		return strings.Contains(first.Output(), "Listening for files to reconstruct in "+out)
	})

	began := time.Now()
	second := start(t, false, out, "--config", cfg, "--topic_name", "t", "--consumer_group_id", "two")
	if code := second.wait(t, 10*time.Second); code != 1 {
		t.Fatalf("the second program exited with %d, want 1\n%s", code, second.Output())
	}
	if took := time.Since(began); took > 5*time.Second {
		t.Errorf("the second program took %v to refuse", took)
	}
	want := fmt.Sprintf("another DataFileDownloadDirectory (pid %d, started ", first.cmd.Process.Pid)
	if o := second.Output(); !strings.Contains(o, want) || !strings.Contains(o, ") is using "+out) {
		t.Errorf("the second program does not name the first (%q ... is using %s):\n%s", want, out, o)
	}

	// SIGKILL leaves no stale lock behind.
	if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	first.wait(t, 10*time.Second)
	third := start(t, true, out, "--config", cfg, "--topic_name", "t", "--consumer_group_id", "three")
	waitFor(t, "the third program to start", 30*time.Second, func() bool {
		return strings.Contains(third.Output(), "Listening for files to reconstruct in "+out)
	})
	if _, err := third.stdin.Write([]byte("q\n")); err != nil {
		t.Fatal(err)
	}
	if code := third.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("the third program exited with %d\n%s", code, third.Output())
	}
}
