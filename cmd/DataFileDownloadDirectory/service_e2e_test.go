package main_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openmsi/datafiledownloaddirectory/download"
	"github.com/openmsi/datafiledownloaddirectory/service"
	"github.com/openmsi/datafiledownloaddirectory/test/uploadtest"
)

// TestServiceUnderSupervisor drives the run verb as systemd or the Windows
// service manager would: started with no console, stopped with SIGTERM
// (on Windows, outside the service manager, CTRL_BREAK),
// killed, started again. Every stop must leave the group with its offsets
// committed, and every start must resume.
func TestServiceUnderSupervisor(t *testing.T) {
	topic, cfg := setup(t, 3)
	out := filepath.Join(t.TempDir(), "lab data")
	logFile := filepath.Join(t.TempDir(), "svc.log")
	statusPath := filepath.Join(out, download.StateDirName, service.StatusFileName)
	args := []string{"run", out, "--config", cfg, "--topic_name", topic, "--consumer_group_id", "svc-" + topic,
		"--service_name", "e2esvc", "--logger_file_path", logFile}
	files := map[string][]byte{}
	batch := func(first, n, size int) []uploadtest.Message {
		var msgs []uploadtest.Message
		for i := first; i < first+n; i++ {
			rel := fmt.Sprintf("batch%d/f%02d.bin", first, i)
			files[rel] = randomData(uint64(500+i), size+i)
			msgs = append(msgs, uploadtest.FileChunks(files[rel], rel, 65536, uploadtest.Options{})...)
		}
		return msgs
	}
	allThere := func() bool {
		for rel, data := range files {
			if !sameFile(filepath.Join(out, rel), data) {
				return false
			}
		}
		return true
	}
	status := func() service.StatusReport {
		r, err := service.ReadStatusFile(statusPath)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}

	// 1. Start, download, report progress in the status file, stop on
	// request.
	first := batch(0, 4, 200_000)
	produce(t, topic, first)
	p := start(t, false, args...)
	waitFor(t, "the first files", time.Minute, allThere)
	waitFor(t, "the status file to count them", 15*time.Second, func() bool {
		r, err := service.ReadStatusFile(statusPath)
		return err == nil && r.Status.FilesCompleted == 4 && r.PID == p.cmd.Process.Pid && !r.Stopped
	})
	stopAt := time.Now()
	p.askStop(t)
	if code := p.wait(t, 45*time.Second); code != 0 {
		t.Fatalf("exit %d after the stop request", code)
	}
	t.Logf("clean stop took %v", time.Since(stopAt).Round(time.Millisecond))
	if r := status(); !r.Stopped || r.Status.MessagesRead != int64(len(first)) {
		t.Errorf("status after the stop: %+v", r)
	}
	output := p.Output()
	if strings.Contains(output, "\n.\n") {
		t.Errorf("dots printed under a service manager:\n%s", output)
	}
	for _, want := range []string{"Running as service e2esvc", "shut down", "4 files were successfully reconstructed"} {
		if !strings.Contains(output, want) {
			t.Errorf("stdout (the journal) lacks %q", want)
		}
	}
	if logged, _ := os.ReadFile(logFile); !strings.Contains(string(logged), "INFO: Running as service e2esvc") {
		t.Errorf("log file:\n%s", logged)
	}

	// 2. Started again with the same group, it reads only what is new: the
	// stop committed the offsets.
	second := batch(10, 3, 150_000)
	produce(t, topic, second)
	p = start(t, false, args...)
	waitFor(t, "the second files", time.Minute, allThere)
	waitFor(t, "the status file to count them", 15*time.Second, func() bool {
		r, err := service.ReadStatusFile(statusPath)
		return err == nil && r.PID == p.cmd.Process.Pid && r.Status.FilesCompleted == 3
	})
	if r := status(); r.Status.MessagesRead != int64(len(second)) {
		t.Errorf("after the restart %d messages were read, want only the %d new ones", r.Status.MessagesRead, len(second))
	}

	// 3. Killed in the middle of a stream (a crash, or a power cut), started
	// again: every file arrives.
	third := batch(20, 6, 1_200_000)
	go func() {
		for i := 0; i < len(third); i += 8 {
			produce(t, topic, third[i:min(i+8, len(third))])
			time.Sleep(200 * time.Millisecond)
		}
	}()
	time.Sleep(1500 * time.Millisecond)
	p.cmd.Process.Kill()
	p.wait(t, 10*time.Second)
	p = start(t, false, args...)
	waitFor(t, "every file after the kill", 2*time.Minute, allThere)
	p.askStop(t)
	if code := p.wait(t, 45*time.Second); code != 0 {
		t.Fatalf("exit %d after the stop request", code)
	}
}

// TestServiceBadConfigExits2 checks the exit status that the unit's
// RestartPreventExitStatus=2 relies on: a config error must not make
// systemd restart the service in a loop.
func TestServiceBadConfigExits2(t *testing.T) {
	t.Parallel()
	bad := filepath.Join(t.TempDir(), "bad.config")
	if err := os.WriteFile(bad, []byte("[broker]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := start(t, false, "run", t.TempDir(), "--config", bad, "--topic_name", "t", "--service_name", "e2esvc", "--logger_file_path", filepath.Join(t.TempDir(), "x.log"))
	if code := p.wait(t, 30*time.Second); code != 2 {
		t.Fatalf("exit %d for a config without bootstrap.servers, want 2\n%s", code, p.Output())
	}
	if !strings.Contains(p.Output(), "bootstrap.servers") {
		t.Errorf("exit 2 for another reason than the config:\n%s", p.Output())
	}
}
