//go:build !windows

package main_test

import (
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/openmsi/datafiledownloaddirectory/test/uploadtest"
)

// withOpenFileLimit runs the program under `ulimit -n n`, as a lab server
// with a low descriptor limit would.
func withOpenFileLimit(n int) func(*exec.Cmd) {
	return func(c *exec.Cmd) {
		c.Args = append([]string{"sh", "-c", fmt.Sprintf(`ulimit -n %d && exec "$0" "$@"`, n)}, c.Args...)
		c.Path = "/bin/sh"
	}
}

// The program starts and works under ulimit -n 256 with 400 files whose
// last chunk never comes: descriptors are bounded whatever the number of
// unfinished files, also when it resumes them all after a restart.
func TestManyUnfinishedFilesUnderLowDescriptorLimit(t *testing.T) {
	topic, cfg := setup(t, 4)
	out := t.TempDir()
	group := "g-" + topic
	args := []string{out, "--config", cfg, "--topic_name", topic, "--consumer_group_id", group, "--update_seconds", "-1"}

	unfinished := make([][]uploadtest.Message, 400)
	var heads []uploadtest.Message
	for i := range unfinished {
		rel := fmt.Sprintf("unfinished/%03d.bin", i)
		unfinished[i] = uploadtest.FileChunks(randomData(uint64(1000+i), 3000), rel, 1000, uploadtest.Options{})
		heads = append(heads, unfinished[i][:2]...)
	}
	complete, completeMsgs := someFiles(5000, "complete", 20, 5000)

	p := startWith(t, withOpenFileLimit(256), false, args...)
	produce(t, topic, heads)
	produce(t, topic, completeMsgs)
	waitFor(t, "the complete files sent after 400 unfinished ones", 2*time.Minute, allThere(out, complete))
	p.cmd.Process.Signal(syscall.SIGTERM)
	if code := p.wait(t, time.Minute); code != 0 {
		t.Fatalf("exit %d after SIGTERM\n%s", code, p.Output())
	}

	p2 := startWith(t, withOpenFileLimit(256), false, args...)
	waitFor(t, "the restart to resume 400 files", time.Minute, func() bool {
		return strings.Contains(p2.Output(), "400 unfinished or unpublished files")
	})
	var tails []uploadtest.Message
	finished := map[string][]byte{}
	for i, msgs := range unfinished[:50] {
		tails = append(tails, msgs[2])
		rel := fmt.Sprintf("unfinished/%03d.bin", i)
		finished[rel] = randomData(uint64(1000+i), 3000)
	}
	more, moreMsgs := someFiles(6000, "after_restart", 10, 5000)
	produce(t, topic, tails)
	produce(t, topic, moreMsgs)
	waitFor(t, "the resumed and new files", 2*time.Minute, func() bool {
		return allThere(out, finished)() && allThere(out, more)()
	})
	p2.cmd.Process.Signal(syscall.SIGTERM)
	if code := p2.wait(t, time.Minute); code != 0 {
		t.Fatalf("exit %d after SIGTERM\n%s", code, p2.Output())
	}
	if strings.Contains(p.Output()+p2.Output(), "too many open files") {
		t.Fatal("ran out of descriptors")
	}
}
