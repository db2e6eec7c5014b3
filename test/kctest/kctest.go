// Package kctest gives Go tests KafkaCrypto nodes provisioned by
// kafkacrypto itself (test/python/kc_provision.py) under a throwaway root of
// trust, and a running Python producer node (test/python/kc_produce.py).
package kctest

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Python returns the venv's Python (DFDD_PYTHON_VENV, which `make test`
// sets). Without it the test is skipped, or fails when DFDD_REQUIRE_BROKER
// is 1, as under `make test`.
func Python(t testing.TB) string {
	t.Helper()
	venv := os.Getenv("DFDD_PYTHON_VENV")
	if venv == "" && runtime.GOOS == "windows" {
		// Not a missing tool: the venv, kafkacrypto's libsodium and the
		// scripts are Linux's (`make test` runs these there).
		t.Skip("runs kafkacrypto's Python nodes, which the tests set up on Linux only")
	}
	if venv == "" {
		if os.Getenv("DFDD_REQUIRE_BROKER") == "1" {
			t.Fatal("DFDD_PYTHON_VENV is not set, and DFDD_REQUIRE_BROKER=1 requires the KafkaCrypto interop tests")
		}
		t.Skip("DFDD_PYTHON_VENV is not set: run through `make test`, which installs kafkacrypto")
	}
	py := filepath.Join(venv, "bin", "python")
	if _, err := os.Stat(py); err != nil {
		t.Fatalf("DFDD_PYTHON_VENV=%s has no Python: %v", venv, err)
	}
	return py
}

// Script is the path of a script in test/python.
func Script(name string) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "python", name)
}

// Lab is a root of trust and the nodes provisioned under it, in Dir.
type Lab struct {
	t      testing.TB
	py     string
	Dir    string
	rootJS string
}

// NewLab makes a new root of trust in a temporary folder.
func NewLab(t testing.TB, py string) *Lab {
	l := &Lab{t: t, py: py, Dir: t.TempDir()}
	l.rootJS = filepath.Join(l.Dir, "root.json")
	l.run("root", l.rootJS)
	return l
}

func (l *Lab) run(args ...string) string {
	l.t.Helper()
	cmd := exec.Command(l.py, append([]string{"-W", "ignore", Script("kc_provision.py")}, args...)...)
	cmd.Dir = l.Dir
	out, err := cmd.Output()
	if err != nil {
		stderr := ""
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		l.t.Fatalf("kc_provision.py %v: %v\n%s", args, err, stderr)
	}
	return strings.TrimSpace(string(out))
}

// Node provisions a node in dir/<id>/ (dir "" = the lab's folder) and
// returns its signing public key (hex). extra are kc_provision.py options
// (--deny KEY, --lifetime S, --topics T).
func (l *Lab) Node(dir, id, role string, extra ...string) string {
	if dir == "" {
		dir = l.Dir
	}
	return l.run(append([]string{"node", l.rootJS, dir, id, "--role", role}, extra...)...)
}

// Producer is a running kc_produce.py.
type Producer struct {
	t     testing.TB
	cmd   *exec.Cmd
	in    io.WriteCloser
	lines chan string
}

// StartProducer runs a producer node until the test ends.
func StartProducer(t testing.TB, py, nodeConfig, bootstrap string) *Producer {
	t.Helper()
	cmd := exec.Command(py, "-W", "ignore", Script("kc_produce.py"), nodeConfig, "--bootstrap", bootstrap)
	stderr, err := os.Create(filepath.Join(t.TempDir(), "producer.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = stderr
	in, _ := cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &Producer{t: t, cmd: cmd, in: in, lines: make(chan string)}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		close(p.lines)
	}()
	t.Cleanup(func() {
		p.in.Close()
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		stderr.Close()
		if t.Failed() {
			b, _ := os.ReadFile(stderr.Name())
			t.Logf("producer node's log:\n%s", tail(string(b), 3000))
		}
	})
	p.expect("ready")
	return p
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

func (p *Producer) expect(prefix string) string {
	p.t.Helper()
	select {
	case line, ok := <-p.lines:
		if !ok || !strings.HasPrefix(line, prefix) {
			p.t.Fatalf("producer node: got %q (open %v), want %q", line, ok, prefix)
		}
		return strings.TrimSpace(strings.TrimPrefix(line, prefix))
	case <-time.After(60 * time.Second):
		p.t.Fatalf("producer node: no %q within 60 s", prefix)
	}
	return ""
}

// Send encrypts and sends one message and returns its key index (hex).
func (p *Producer) Send(topic string, key, value []byte) string {
	p.t.Helper()
	fmt.Fprintf(p.in, "send %s %s %s\n", topic, hex.EncodeToString(key), hex.EncodeToString(value))
	return p.expect("sent")
}

// Rotate makes the producer use a new key from its next message on.
func (p *Producer) Rotate() {
	p.t.Helper()
	fmt.Fprintln(p.in, "rotate")
	p.expect("rotated")
}
