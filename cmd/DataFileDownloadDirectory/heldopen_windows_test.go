//go:build windows

package main_test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openmsi/datafiledownloaddirectory/test/kafkatest"
	"github.com/openmsi/datafiledownloaddirectory/test/uploadtest"
)

// TestFileHeldOpenIsReplacedWhenClosed is the lab PC's everyday case: a
// downloaded workbook is open in Excel when its new version arrives.
// Windows refuses to replace a file open without FILE_SHARE_DELETE (wine
// too). The new version must wait, durable, without holding up anything
// else: the other files land at once, every offset is committed, the log
// says once what is going on, and the new version replaces the old within
// 30 s of the file being closed, without a restart.
func TestFileHeldOpenIsReplacedWhenClosed(t *testing.T) {
	topic, cfg := setup(t, 4)
	group := "held-" + topic
	out := t.TempDir()
	p := start(t, false, out, "--config", cfg, "--topic_name", topic, "--consumer_group_id", group)
	v1, v2 := randomData(81, 150_000), randomData(82, 160_000)
	produce(t, topic, uploadtest.FileChunks(v1, "results/report.xlsx", 65536, uploadtest.Options{Mtime: 1700000000}))
	final := filepath.Join(out, "results", "report.xlsx")
	waitFor(t, "version 1", time.Minute, func() bool { return sameFile(final, v1) })

	release := holdFile(t, final)
	others := map[string][]byte{}
	msgs := uploadtest.FileChunks(v2, "results/report.xlsx", 65536, uploadtest.Options{Mtime: 1700000100})
	for i := range 6 {
		rel := fmt.Sprintf("results/other%d.bin", i)
		others[rel] = randomData(uint64(90+i), 70_000+i*1000)
		msgs = append(msgs, uploadtest.FileChunks(others[rel], rel, 65536, uploadtest.Options{})...)
	}
	produce(t, topic, msgs)
	waitFor(t, "the other files while version 1 is held open", time.Minute, allThere(out, others))
	waitFor(t, "every offset committed while version 1 is held open", time.Minute, func() bool { return kafkatest.CommittedAll(t, kafkatest.Bootstrap(), group, topic, 4) })
	if !sameFile(final, v1) {
		t.Fatal("version 1 was replaced while another program held it open: this is not Windows' sharing")
	}
	time.Sleep(3 * time.Second) // retries meanwhile must not add log lines
	var held []string
	for _, line := range strings.Split(p.Output(), "\n") {
		if strings.Contains(line, "open in another program") {
			held = append(held, line)
		}
	}
	if len(held) != 1 || !strings.Contains(held[0], "report.xlsx") || !strings.Contains(held[0], "replaced when it is closed") {
		t.Fatalf("want one line saying that report.xlsx is open in another program and will be replaced when it is closed, got %d:\n%s", len(held), p.Output())
	}
	t.Logf("logged: %s", held[0])

	release()
	released := time.Now()
	waitFor(t, "version 2 in place within 30 s of the release", 30*time.Second, func() bool { return sameFile(final, v2) })
	t.Logf("version 2 in place %s after the release", time.Since(released).Round(100*time.Millisecond))
	assertRunning(t, p)
	p.askStop(t)
	if code := p.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("exit code %d", code)
	}
}

// holdFile runs "another program" that holds path open as Excel does, and
// returns what closes it.
func holdFile(t *testing.T, path string) (release func()) {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), holdEnv+"="+path)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(stdout)
	if !lines.Scan() || lines.Text() != "holding" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("the holder did not hold %s: %q", path, lines.Text())
	}
	done := false
	release = func() {
		if done {
			return
		}
		done = true
		stdin.Close()
		for lines.Scan() {
		}
		if err := cmd.Wait(); err != nil {
			t.Errorf("holder: %v", err)
		}
	}
	t.Cleanup(release)
	return release
}
