package main_test

// Issue 3's fault tests of the built program: the broker going away and
// coming back (this file), the disk failing (disk_test.go). The crash soak
// is TestKillAndRestart in e2e_test.go.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openmsi/datafiledownloaddirectory/test/kafkatest"
	"github.com/openmsi/datafiledownloaddirectory/test/uploadtest"
)

// How the program reports that it cannot reach the broker, and then that
// it can again.
const (
	outageWords = "cannot reach the Kafka broker"
	backWords   = "the Kafka broker can be reached again"
)

// brokerConfig writes a config file for a broker of the test's own.
func brokerConfig(t *testing.T, bootstrap string) string {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "own-broker.config")
	body := "[broker]\nbootstrap.servers = " + bootstrap + "\n\n[consumer]\nauto.offset.reset = earliest\nsession.timeout.ms = 6000\n"
	if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// someFiles makes n files of about size bytes each under dir/.
func someFiles(seed uint64, dir string, n, size int) (map[string][]byte, []uploadtest.Message) {
	files := map[string][]byte{}
	var msgs []uploadtest.Message
	for i := range n {
		rel := fmt.Sprintf("%s/f%02d.bin", dir, i)
		files[rel] = randomData(seed+uint64(i), size+i*4099)
		msgs = append(msgs, uploadtest.FileChunks(files[rel], rel, 65536, uploadtest.Options{Mtime: 1700000000})...)
	}
	return files, msgs
}

func allThere(out string, files map[string][]byte) func() bool {
	return func() bool {
		for rel, data := range files {
			if !sameFile(filepath.Join(out, filepath.FromSlash(rel)), data) {
				return false
			}
		}
		return true
	}
}

func countIn(files map[string][]byte, out string) int {
	n := 0
	for rel, data := range files {
		if sameFile(filepath.Join(out, filepath.FromSlash(rel)), data) {
			n++
		}
	}
	return n
}

// TestBrokerRestart: the broker is down when the program starts, and later
// goes away (SIGKILL, as a crash or power cut) in the middle of a stream;
// each time it comes back after more than 10 s. The program reports each
// outage, keeps running, resumes by itself, and every file arrives byte for
// byte, never visible unfinished.
func TestBrokerRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a broker of its own and waits through two outages")
	}
	b := kafkatest.StartTest(t)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	topic := "restart_" + fmt.Sprint(time.Now().UnixNano())
	if err := kafkatest.CreateTopic(ctx, b.Bootstrap(), topic, 4); err != nil {
		t.Fatal(err)
	}
	cfg := brokerConfig(t, b.Bootstrap())
	out := t.TempDir()
	before, beforeMsgs := someFiles(200, "before", 6, 700_000)
	during, duringMsgs := someFiles(300, "during", 16, 900_000)
	all := map[string][]byte{}
	for _, m := range []map[string][]byte{before, during} {
		for k, v := range m {
			all[k] = v
		}
	}
	stopWatch := make(chan struct{})
	watchErr := make(chan error, 1)
	go func() { watchErr <- watchOutput(out, all, stopWatch) }()

	// 1. Broker down at program start.
	if err := uploadtest.Produce(ctx, b.Bootstrap(), topic, beforeMsgs); err != nil {
		t.Fatal(err)
	}
	if err := b.Stop(); err != nil {
		t.Fatal(err)
	}
	down := time.Now()
	p := start(t, false, out, "--config", cfg, "--topic_name", topic, "--consumer_group_id", "restart-"+topic)
	waitFor(t, "the outage at start to be reported", 30*time.Second, func() bool { return strings.Contains(p.Output(), outageWords) })
	time.Sleep(time.Until(down.Add(12 * time.Second)))
	assertRunning(t, p)
	if err := b.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("broker down for %s at program start", time.Since(down).Round(time.Second))
	waitFor(t, "the files uploaded before the start", 2*time.Minute, allThere(out, before))
	waitFor(t, "the end of the outage to be reported", 10*time.Second, func() bool { return strings.Contains(p.Output(), backWords) })

	// 2. Broker killed mid-stream, while the uploader keeps trying.
	produced := make(chan error, 1)
	go func() {
		for i := 0; i < len(duringMsgs); i += 8 {
			if err := uploadtest.Produce(ctx, b.Bootstrap(), topic, duringMsgs[i:min(i+8, len(duringMsgs))]); err != nil {
				produced <- err
				return
			}
			time.Sleep(150 * time.Millisecond)
		}
		produced <- nil
	}()
	waitFor(t, "the stream to be under way", time.Minute, func() bool { return countIn(during, out) >= 2 })
	mark := len(p.Output())
	if err := b.Kill(); err != nil {
		t.Fatal(err)
	}
	down = time.Now()
	midway := countIn(during, out)
	// Within seconds, although the outage at start was reported less than a
	// minute ago.
	waitFor(t, "the mid-stream outage to be reported", 20*time.Second, func() bool { return strings.Contains(p.Output()[mark:], outageWords) })
	time.Sleep(time.Until(down.Add(12 * time.Second)))
	assertRunning(t, p)
	if err := b.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("broker killed with %d of %d files through, back after %s", midway, len(during), time.Since(down).Round(time.Second))
	if err := <-produced; err != nil {
		t.Fatal(err)
	}
	waitFor(t, "every file after the broker came back", 2*time.Minute, allThere(out, all))
	waitFor(t, "the end of the second outage to be reported", 10*time.Second, func() bool { return strings.Contains(p.Output()[mark:], backWords) })

	stopCleanly(t, p, out, stopWatch, watchErr)
	for _, line := range strings.Split(p.Output(), "\n") {
		if strings.Contains(line, outageWords) || strings.Contains(line, backWords) || strings.Contains(line, "by its own earlier membership") {
			t.Logf("reported: %s", line)
		}
	}
}

func assertRunning(t *testing.T, p *proc) {
	t.Helper()
	select {
	case <-p.done:
		t.Fatalf("the program exited (%v) while the broker was down", p.err)
	default:
	}
}

// stopCleanly asks the program to stop after its last barrier and
// checks the watcher and the state folder.
func stopCleanly(t *testing.T, p *proc, out string, stopWatch chan struct{}, watchErr chan error) {
	t.Helper()
	time.Sleep(1500 * time.Millisecond)
	p.askStop(t)
	if code := p.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	close(stopWatch)
	if err := <-watchErr; err != nil {
		t.Fatal(err)
	}
	assertNoPartial(t, out)
}

func assertNoPartial(t *testing.T, out string) {
	t.Helper()
	partial, err := os.ReadDir(filepath.Join(out, ".datafiledownloaddirectory", "partial"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range partial {
		t.Errorf("partial data left behind: %s", e.Name())
	}
}
