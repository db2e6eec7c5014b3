package main_test

// End-to-end tests of consumer-group membership: static membership after a
// SIGKILL, and two instances of the program in one group.

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openmsi/datafiledownloaddirectory/test/uploadtest"
)

// groupConfig writes a config file whose consumers have the given session
// timeout, plus extra [consumer] lines.
func groupConfig(t *testing.T, sessionMS int, extra string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "group.config")
	text := fmt.Sprintf("[broker]\nbootstrap.servers = $E2E_BOOTSTRAP\n\n[consumer]\nauto.offset.reset = earliest\nsession.timeout.ms = %d\n%s", sessionMS, extra)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestRestartAfterKillStaticMembership measures the time from restarting a
// killed program to its first file, with static membership (the default
// with a fixed --consumer_group_id) and without it (group.instance.id =
// none in the config file). Without it, the killed program's members keep
// their partitions until their session times out. $DFDD_SESSION_TIMEOUT_MS
// sets the session timeout (10000 here; librdkafka's default is 45000).
func TestRestartAfterKillStaticMembership(t *testing.T) {
	sessionMS := 10000
	if v := os.Getenv("DFDD_SESSION_TIMEOUT_MS"); v != "" {
		var err error
		if sessionMS, err = strconv.Atoi(v); err != nil {
			t.Fatal(err)
		}
	}
	session := time.Duration(sessionMS) * time.Millisecond
	took := map[string]time.Duration{}
	for _, mode := range []struct{ name, extra string }{
		{"static", ""},
		{"dynamic", "group.instance.id = none\n"},
	} {
		t.Run(mode.name, func(t *testing.T) {
			topic, _ := setup(t, 4)
			cfg := groupConfig(t, sessionMS, mode.extra)
			out := t.TempDir()
			args := []string{out, "--config", cfg, "--topic_name", topic, "--consumer_group_id", "restart-" + topic, "--n_threads", "2"}
			first, second := randomData(41, 200_000), randomData(42, 200_000)

			p := start(t, false, args...)
			produce(t, topic, uploadtest.FileChunks(first, "first.bin", 65536, uploadtest.Options{}))
			waitFor(t, "the first file", time.Minute, func() bool { return sameFile(filepath.Join(out, "first.bin"), first) })
			time.Sleep(1500 * time.Millisecond) // its offsets are committed
			p.cmd.Process.Kill()
			p.wait(t, 10*time.Second)

			began := time.Now()
			p = start(t, false, args...)
			produce(t, topic, uploadtest.FileChunks(second, "second.bin", 65536, uploadtest.Options{}))
			waitFor(t, "the file after the restart", 2*session+time.Minute, func() bool {
				return sameFile(filepath.Join(out, "second.bin"), second)
			})
			took[mode.name] = time.Since(began)
			p.askStop(t)
			if code := p.wait(t, 30*time.Second); code != 0 {
				t.Fatalf("exit code %d", code)
			}
			if strings.Contains(p.Output(), "is shared with") && mode.name == "static" {
				t.Errorf("the restarted program took its own static members for others:\n%s", p.Output())
			}
			t.Logf("%s membership: restart to first file %v (session.timeout.ms %d)", mode.name, took[mode.name].Round(10*time.Millisecond), sessionMS)
		})
	}
	static, dynamic := took["static"], took["dynamic"]
	if static == 0 || dynamic == 0 {
		return // a subtest failed
	}
	if static >= session/2 {
		t.Errorf("with static membership the restart took %v, want well under the session timeout %v", static, session)
	}
	if dynamic < session/2 {
		t.Errorf("without static membership the restart took only %v: the measurement does not show the session timeout %v", dynamic, session)
	}
}

// Two instances of the program on one host with the same fixed group: with
// static membership they carry the same group.instance.id, so the broker
// fences the older one, which stops with an error that says what to do.
func TestSecondInstanceSameGroupFencesFirst(t *testing.T) {
	topic, _ := setup(t, 2)
	cfg := groupConfig(t, 6000, "")
	group := "twice-" + topic
	data := randomData(43, 100_000)
	produce(t, topic, uploadtest.FileChunks(data, "a.bin", 65536, uploadtest.Options{}))
	out1, out2 := t.TempDir(), t.TempDir()
	p1 := start(t, false, out1, "--config", cfg, "--topic_name", topic, "--consumer_group_id", group)
	waitFor(t, "the first instance's file", time.Minute, func() bool { return sameFile(filepath.Join(out1, "a.bin"), data) })
	p2 := start(t, false, out2, "--config", cfg, "--topic_name", topic, "--consumer_group_id", group)
	if code := p1.wait(t, time.Minute); code != 1 {
		t.Fatalf("the fenced instance exited with %d, want 1", code)
	}
	out := p1.Output()
	if !strings.Contains(out, `another consumer took this program's place in consumer group "`+group+`"`) ||
		!strings.Contains(out, "One consumer group per output folder") {
		t.Fatalf("no clear error from the fenced instance:\n%s", out)
	}
	if n := strings.Count(out, "another consumer took this program's place"); n > 2 {
		t.Errorf("the fencing was reported %d times", n)
	}
	p2.askStop(t)
	if code := p2.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("the second instance exited with %d", code)
	}
}
