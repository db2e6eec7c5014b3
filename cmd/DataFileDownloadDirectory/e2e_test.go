package main_test

// End-to-end tests of the built program against a real Kafka broker: what a
// user sees when running it, killing it and starting it again.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/openmsi/datafiledownloaddirectory/session"
	"github.com/openmsi/datafiledownloaddirectory/test/kafkatest"
	"github.com/openmsi/datafiledownloaddirectory/test/soak"
	"github.com/openmsi/datafiledownloaddirectory/test/terminate"
	"github.com/openmsi/datafiledownloaddirectory/test/testkit"
	"github.com/openmsi/datafiledownloaddirectory/test/uploadtest"
)

// holdEnv makes the test executable hold a file open instead of testing
// (see holdOpen).
const holdEnv = "DFDD_TEST_HOLD_OPEN"

func TestMain(m *testing.M) {
	if path := os.Getenv(holdEnv); path != "" {
		os.Exit(holdOpen(path))
	}
	os.Exit(kafkatest.Shared(m))
}

// binary is the program under test (testkit.Binary).
func binary(t *testing.T) string { return testkit.Binary(t) }

// setup makes a topic and a config file for it, as a user would write it.
func setup(t *testing.T, partitions int) (topic, cfgPath string) {
	t.Helper()
	return setupWith(t, partitions, "session.timeout.ms = 6000\n")
}

// setupWith is setup with more lines for the config's [consumer] section.
func setupWith(t *testing.T, partitions int, consumer string) (topic, cfgPath string) {
	t.Helper()
	kafkatest.Require(t)
	topic = fmt.Sprintf("e2e_%s_%d", strings.ReplaceAll(t.Name(), "/", "_"), time.Now().UnixNano())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := kafkatest.CreateTopic(ctx, kafkatest.Bootstrap(), topic, partitions); err != nil {
		t.Fatal(err)
	}
	cfgPath = filepath.Join(t.TempDir(), "lab.config")
	cfg := "[broker]\nbootstrap.servers = $E2E_BOOTSTRAP\n\n[consumer]\ngroup.id = create_new\nauto.offset.reset = earliest\nenable.auto.commit = False\nfetch.min.bytes = 100000\nkey.deserializer = StringDeserializer\nvalue.deserializer = DataFileChunkDeserializer\n" + consumer
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return topic, cfgPath
}

// proc is the program running in the background.
type proc struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	output testkit.LockedBuffer // stdout and stderr together
	done   chan struct{}
	err    error
}

func (p *proc) Output() string { return p.output.String() }

func start(t *testing.T, stdin bool, args ...string) *proc {
	t.Helper()
	return startWith(t, nil, stdin, args...)
}

// startWith is start with prep (if not nil) applied to the command first.
func startWith(t *testing.T, prep func(*exec.Cmd), stdin bool, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(binary(t), args...), done: make(chan struct{})}
	if prep != nil {
		prep(p.cmd)
	}
	p.cmd.Env = append(os.Environ(), "GOTRACEBACK=all", "E2E_BOOTSTRAP="+kafkatest.Bootstrap(), "LOCAL_KAFKA_BROKER_BOOTSTRAP_SERVERS="+kafkatest.Bootstrap())
	terminate.Prepare(p.cmd)
	if runtime.GOOS == "windows" {
		// Windows has no SIGQUIT: a program that hangs shows its
		// goroutines through the debug server instead.
		p.cmd.Env = append(p.cmd.Env, session.DebugAddrEnv+"=127.0.0.1:0")
	}
	p.cmd.Stdout, p.cmd.Stderr = &p.output, &p.output
	if stdin {
		var err error
		if p.stdin, err = p.cmd.StdinPipe(); err != nil {
			t.Fatal(err)
		}
	} // else stdin is /dev/null, as under nohup or a supervisor
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		if t.Failed() {
			p.dumpGoroutines(t)
		}
		p.cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("program output:\n%s", p.Output())
		}
	})
	return p
}

var debugURL = regexp.MustCompile(`debug server: Go runtime profiles on (http://\S+/debug/pprof/)`)

// dumpGoroutines asks a program that is still running to print every
// goroutine's stack and exit (Go's answer to SIGQUIT), so that a test that
// failed because the program hung shows where it hangs. On Windows, which
// has no SIGQUIT, the stacks come from the program's debug server.
func (p *proc) dumpGoroutines(t *testing.T) {
	select {
	case <-p.done:
		return
	default:
	}
	if p.cmd.Process.Signal(syscall.SIGQUIT) != nil {
		if m := debugURL.FindStringSubmatch(p.Output()); m != nil {
			c := http.Client{Timeout: 5 * time.Second}
			if resp, err := c.Get(m[1] + "goroutine?debug=2"); err == nil {
				stacks, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				t.Logf("goroutines of the program that is still running:\n%s", stacks)
			}
		}
		return
	}
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
	}
}

// askStop asks the program to stop as a service manager or a user would:
// SIGTERM on Unix, CTRL_BREAK on Windows.
func (p *proc) askStop(t *testing.T) {
	t.Helper()
	if err := terminate.Ask(p.cmd); err != nil {
		t.Fatal(err)
	}
}

func (p *proc) wait(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(timeout):
		t.Fatalf("program did not exit within %s", timeout)
	}
	if ee, ok := p.err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	if p.err != nil {
		t.Fatal(p.err)
	}
	return 0
}

func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func randomData(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 0))
	b := make([]byte, n)
	for i := 0; i+8 <= n; i += 8 {
		v := r.Uint64()
		for j := range 8 {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return b
}

func sameFile(path string, want []byte) bool {
	got, err := os.ReadFile(path)
	return err == nil && bytes.Equal(got, want)
}

func produce(t *testing.T, topic string, msgs []uploadtest.Message) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := uploadtest.Produce(ctx, kafkatest.Bootstrap(), topic, msgs); err != nil {
		t.Fatal(err)
	}
}

func TestQuitCheckAndSummary(t *testing.T) {
	t.Parallel()
	topic, cfg := setup(t, 4)
	out := filepath.Join(t.TempDir(), "new", "out") // created if missing
	data := randomData(1, 300_000)
	produce(t, topic, uploadtest.FileChunks(data, "sub/dir/a.dat", 65536, uploadtest.Options{}))

	p := start(t, true, out, "--config", cfg, "--topic-name", topic, "--n_threads", "3", "--update_seconds", "1")
	waitFor(t, "the file", time.Minute, func() bool { return sameFile(filepath.Join(out, "sub", "dir", "a.dat"), data) })
	// The file is in place a moment before the counters say so: ask again
	// until they do.
	asked := time.Time{}
	waitFor(t, "the check output", 10*time.Second, func() bool {
		if time.Since(asked) > 500*time.Millisecond {
			io.WriteString(p.stdin, "check\n")
			asked = time.Now()
		}
		return strings.Contains(p.Output(), "5 messages read, 5 messages processed, 1 file completely reconstructed so far")
	})
	waitFor(t, "a dot", 5*time.Second, func() bool { return strings.Contains(p.Output(), "\n.\n") })
	io.WriteString(p.stdin, "quit\n")
	if code := p.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("exit code %d after quit", code)
	}
	if !strings.Contains(p.Output(), "5 total messages were consumed, 5 messages were successfully processed, and 1 file was successfully reconstructed from") ||
		!strings.Contains(p.Output(), "\tsub/dir/a.dat") {
		t.Fatalf("summary missing:\n%s", p.Output())
	}
}

// TestClosedStdinStopRequest: with stdin at EOF (started by a supervisor,
// nohup, a scheduled task) the program keeps running without spinning, and
// stops cleanly when asked (SIGTERM; CTRL_BREAK on Windows).
func TestClosedStdinStopRequest(t *testing.T) {
	t.Parallel()
	topic, cfg := setup(t, 2)
	out := t.TempDir()
	p := start(t, false, out, "--config", cfg, "--topic_name", topic)
	data := randomData(2, 1000)
	produce(t, topic, uploadtest.FileChunks(data, "x.bin", 512, uploadtest.Options{}))
	waitFor(t, "the file", time.Minute, func() bool { return sameFile(filepath.Join(out, "x.bin"), data) })
	// With stdin at EOF it keeps running, and does not spin.
	time.Sleep(time.Second)
	if cpu, err := cpuTime(p.cmd.Process.Pid); err != nil {
		if runtime.GOOS != "windows" {
			testkit.Need(t, err.Error())
		}
		// Wine reports no CPU time of other processes; the stop request
		// is still worth checking.
		t.Logf("CPU use not checked: %v", err)
		time.Sleep(2 * time.Second)
	} else {
		time.Sleep(2 * time.Second)
		now, _ := cpuTime(p.cmd.Process.Pid)
		if used := now - cpu; used > 500*time.Millisecond {
			t.Fatalf("idle program used %s of CPU in 2 s", used)
		}
	}
	select {
	case <-p.done:
		t.Fatal("program exited when stdin was closed")
	default:
	}
	p.askStop(t)
	if code := p.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("exit code %d after the stop request", code)
	}
	if !strings.Contains(p.Output(), "1 file was successfully reconstructed") {
		t.Fatalf("no summary after the stop request:\n%s", p.Output())
	}
}

// TestKillAndRestart is issue 3's crash soak: over a GiB in a few hundred
// files on a 4-partition topic, the program killed with SIGKILL at random
// moments at least 10 times and restarted with the same group each time.
// Every file arrives byte for byte, a watcher sampling the folder never
// sees one unfinished, nothing partial is left (test/soak does the work).
func TestKillAndRestart(t *testing.T) {
	// A short session timeout lets a restarted instance take over the
	// partitions of the killed one in a second or two instead of six.
	topic, cfg := setupWith(t, 4, "session.timeout.ms = 2000\nheartbeat.interval.ms = 500\n")
	out := t.TempDir()
	o := soak.Options{
		Binary:     binary(t),
		Args:       []string{out, "--config", cfg, "--topic_name", topic, "--consumer_group_id", "kill-" + topic},
		Env:        []string{"E2E_BOOTSTRAP=" + kafkatest.Bootstrap()},
		Out:        out,
		Bootstrap:  kafkatest.Bootstrap(),
		Topic:      topic,
		TotalBytes: 1 << 30,
		Rate:       28 << 20,
		KillMin:    300 * time.Millisecond,
		KillMax:    4 * time.Second,
		MinKills:   10,
		Seed:       7,
		Logf:       t.Logf,
	}
	if testing.Short() {
		// A slower stream, so that it still runs when the kills come: at
		// full rate 64 MiB are uploaded before a slow start (the Windows
		// run, under wine) has joined the group, and no kill lands mid-file.
		o.TotalBytes, o.MinKills, o.Rate = 64<<20, 4, 6<<20
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	rep, err := soak.Run(ctx, o)
	if err != nil {
		t.Fatalf("after %d kills: %v", rep.Kills, err)
	}
	if rep.Resumed == 0 {
		t.Fatal("no run resumed a half-received file: the kills did not land mid-file")
	}
	t.Logf("survived %d SIGKILLs, resumed half-received files %d times; %d files, %d bytes, %d messages in %s; peak RSS %d MiB; the watcher scanned the folder %d times",
		rep.Kills, rep.Resumed, rep.Files, rep.Bytes, rep.Messages, rep.Elapsed.Round(time.Second), rep.PeakRSS>>20, rep.WatchChecks)
}

// watchOutput samples the output folder until stop is closed and fails if
// a file is ever visible under its final name with anything but its full,
// final content.
func watchOutput(out string, files map[string][]byte, stop <-chan struct{}) error {
	for {
		select {
		case <-stop:
			return nil
		case <-time.After(20 * time.Millisecond):
		}
		err := filepath.WalkDir(out, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				if d != nil && d.Name() == ".datafiledownloaddirectory" {
					return fs.SkipDir
				}
				return nil
			}
			rel, _ := filepath.Rel(out, p)
			want, ok := files[filepath.ToSlash(rel)]
			if !ok {
				return fmt.Errorf("unexpected file %s", rel)
			}
			if got, err := os.ReadFile(p); err == nil && !bytes.Equal(got, want) {
				return fmt.Errorf("%s visible with %d bytes that are not the uploaded file", rel, len(got))
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
}

// TestLargeFileMemory: a 512 MiB file must not take the program's memory
// past about 250 MiB.
func TestLargeFileMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("moves 512 MiB")
	}
	topic, cfg := setup(t, 4)
	out := t.TempDir()
	const size = 512 << 20
	data := randomData(3, size)
	p := start(t, false, out, "--config", cfg, "--topic_name", topic)
	produce(t, topic, uploadtest.FileChunks(data, "big/file.bin", 512<<10, uploadtest.Options{}))
	final := filepath.Join(out, "big", "file.bin")
	var peak int64
	waitFor(t, "the 512 MiB file", 5*time.Minute, func() bool {
		peak = max(peak, peakRSS(p.cmd.Process.Pid))
		st, err := os.Stat(final)
		return err == nil && st.Size() == size
	})
	peak = max(peak, peakRSS(p.cmd.Process.Pid))
	p.askStop(t)
	p.wait(t, 30*time.Second)
	if peak == 0 {
		t.Skip("this system reports no memory figures for another process")
	}
	t.Logf("peak RSS while rebuilding a 512 MiB file: %d MiB", peak>>20)
	if peak > 250<<20 {
		t.Fatalf("peak RSS %d MiB, want at most 250 MiB", peak>>20)
	}
}

// fieldLike matches the logging fields (consumer=1, tag=FAIL, client=...)
// that belong in the log file only.
var fieldLike = regexp.MustCompile(` (consumer|client|tag|topic|partition|offset|file|journal)=\S`)

// TestUnreachableBroker: a broker that is down is reported (through the
// program's log, not raw librdkafka lines) and retried, and quit still works.
func TestUnreachableBroker(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "down.config")
	// Port 1 on loopback: nothing listens there.
	os.WriteFile(cfg, []byte("[broker]\nbootstrap.servers = 127.0.0.1:1\n[consumer]\nauto.offset.reset = earliest\n"), 0o644)
	p := start(t, true, filepath.Join(dir, "out"), "--config", cfg, "--topic_name", "nowhere")
	waitFor(t, "the outage to be reported", 30*time.Second, func() bool {
		return strings.Contains(p.Output(), "cannot reach the Kafka broker")
	})
	time.Sleep(5 * time.Second) // librdkafka retries meanwhile
	// One warning for the outage, in the program's words: no librdkafka
	// line, raw or forwarded, and no key=value fields meant for the log
	// file.
	if n := strings.Count(p.Output(), "WARNING"); n != 1 {
		t.Errorf("%d warnings for one outage, want 1", n)
	}
	for _, line := range strings.Split(p.Output(), "\n") {
		if strings.HasPrefix(line, "%") || strings.Contains(line, "librdkafka") {
			t.Errorf("librdkafka's own line on the console: %s", line)
		}
		if fieldLike.MatchString(line) {
			t.Errorf("a console line with key=value fields: %s", line)
		}
	}
	io.WriteString(p.stdin, "q\n")
	if code := p.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("exit code %d after quit with the broker down", code)
	}
}
