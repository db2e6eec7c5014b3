package terminate

import (
	"bufio"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"testing"
	"time"
)

// TestAskStopsAGoProgram runs this test executable again as a child that
// waits for a stop request the way DataFileDownloadDirectory does
// (os.Interrupt and SIGTERM), asks it to stop, and checks that the child
// saw the request and exited by itself, not killed.
func TestAskStopsAGoProgram(t *testing.T) {
	if os.Getenv("TERMINATE_TEST_CHILD") == "1" {
		child()
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestAskStopsAGoProgram$")
	cmd.Env = append(os.Environ(), "TERMINATE_TEST_CHILD=1")
	Prepare(cmd)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	lines := bufio.NewScanner(stdout)
	if !lines.Scan() || lines.Text() != "ready" {
		t.Fatalf("child did not get ready: %q", lines.Text())
	}
	if err := Ask(cmd); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	var said []string
	go func() {
		for lines.Scan() {
			said = append(said, lines.Text())
		}
		done <- cmd.Wait()
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("child ended with %v, after saying %q", err, said)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("child still running 20 s after the stop request")
	}
	if !strings.Contains(strings.Join(said, "\n"), "stop requested") {
		t.Fatalf("child said %q", said)
	}
}

func child() {
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, stopSignals...)
	os.Stdout.WriteString("ready\n")
	select {
	case s := <-stop:
		os.Stdout.WriteString("stop requested: " + s.String() + "\n")
	case <-time.After(30 * time.Second):
		os.Stdout.WriteString("no stop request\n")
	}
}
