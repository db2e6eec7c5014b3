// Package kafkatest gives Go tests a real Apache Kafka broker: the
// single-node KRaft broker of test/kafka/broker.sh, run from Maven Central
// jars on loopback. broker.sh is the only place that knows the broker's
// configuration; this package drives it and adds what Go tests need on top
// (a shared broker per test package, topics, quiet client logs).
//
// A test package calls Shared from TestMain. Tests that need the broker
// call Require first: without a broker they are skipped with the reason,
// or fail under DFDD_REQUIRE_ALL=1 (as `make test` sets it). With
// $KAFKA_BOOTSTRAP set, the tests use that broker and start none.
package kafkatest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/openmsi/datafiledownloaddirectory/test/testkit"
)

// Broker is one broker process run by broker.sh in its own folder.
type Broker struct {
	dir string
	// Serialises start/stop/kill: broker.sh keeps no lock of its own on a
	// broker folder.
	mu sync.Mutex
}

// Start formats dir as a new single-node cluster on free loopback ports
// (or, when dir already holds one, starts it again with its data and
// ports), waits until it answers a metadata request, and returns it.
// dir is created if missing. The broker dies with this process even when
// the process is killed: broker.sh leaves a watchdog on our PID.
func Start(ctx context.Context, dir string) (*Broker, error) {
	if dir == "" {
		return nil, errors.New("kafkatest: Start needs a folder")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	b := &Broker{dir: abs}
	if err := b.start(ctx); err != nil {
		return nil, err
	}
	return b, nil
}

func (b *Broker) start(ctx context.Context) error {
	if _, err := runScript(ctx, "start", b.dir); err != nil {
		// A start that timed out on our side may have left a JVM behind.
		runScript(context.Background(), "kill", b.dir)
		return err
	}
	if err := waitMetadata(ctx, b.Bootstrap()); err != nil {
		runScript(context.Background(), "kill", b.dir)
		return fmt.Errorf("kafkatest: broker in %s started but does not answer: %w (logs in %s)",
			b.dir, err, filepath.Join(b.dir, "logs"))
	}
	return nil
}

// Dir is the broker's folder: server.properties, data/, logs/server.log.
func (b *Broker) Dir() string { return b.dir }

// Bootstrap is the PLAINTEXT listener, e.g. "127.0.0.1:23456".
func (b *Broker) Bootstrap() string { return b.read("bootstrap") }

// BootstrapSASL is the SASL_PLAINTEXT listener (mechanism PLAIN, users
// admin/admin-secret and alice/alice-secret).
func (b *Broker) BootstrapSASL() string { return b.read("bootstrap_sasl") }

// BootstrapSSL is the SASL_SSL listener (TLS, mechanism PLAIN, the same
// users as BootstrapSASL). Its certificate is signed by the CA in CAFile
// and valid for 127.0.0.1 and localhost.
func (b *Broker) BootstrapSSL() string { return b.read("bootstrap_ssl") }

// CAFile is the PEM file of the throwaway CA the broker's certificate was
// made with: what a client's ssl.ca.location must name.
func (b *Broker) CAFile() string { return filepath.Join(b.dir, "ca.pem") }

// PID is the broker JVM's process id, or 0 when it is not running.
func (b *Broker) PID() int {
	pid, err := strconv.Atoi(b.read("kafka.pid"))
	if err != nil {
		return 0
	}
	return pid
}

func (b *Broker) read(name string) string {
	raw, _ := os.ReadFile(filepath.Join(b.dir, name))
	return strings.TrimSpace(string(raw))
}

// Stop shuts the broker down cleanly (SIGTERM; SIGKILL after 30 s). A
// stopped broker can be started again with Restart.
func (b *Broker) Stop() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	_, err := runScript(context.Background(), "stop", b.dir)
	return err
}

// Kill stops the broker with SIGKILL, as a crash would; Restart then runs
// Kafka's log recovery.
func (b *Broker) Kill() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	_, err := runScript(context.Background(), "kill", b.dir)
	return err
}

// Restart starts the broker again on the same data and the same ports, so
// that clients created before a Stop or Kill reconnect by themselves. A
// broker that is still running is stopped cleanly first.
func (b *Broker) Restart(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, err := runScript(ctx, "stop", b.dir); err != nil {
		return err
	}
	return b.start(ctx)
}

var (
	rootOnce sync.Once
	rootDir  string
	rootErr  error
)

// repoRoot is the module root, found once.
func repoRoot() (string, error) {
	rootOnce.Do(func() { rootDir, rootErr = testkit.FindRepoRoot() })
	return rootDir, rootErr
}

// runScript runs test/kafka/broker.sh and returns its standard output.
func runScript(ctx context.Context, args ...string) (string, error) {
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	script := filepath.Join(root, "test", "kafka", "broker.sh")
	if _, err := os.Stat(script); err != nil {
		return "", fmt.Errorf("kafkatest: %w", err)
	}
	if _, err := exec.LookPath("bash"); err != nil {
		return "", fmt.Errorf("kafkatest: %w", err)
	}
	cmd := exec.CommandContext(ctx, "bash", append([]string{script}, args...)...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "KAFKA_WATCH_PID="+strconv.Itoa(os.Getpid()))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	ownProcessGroup(cmd)
	// The JVM and the watchdog detach from our pipes, but a stuck child
	// (Maven, the storage formatter) would otherwise keep Wait blocked
	// after a cancel.
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("kafkatest: broker.sh %s: %v\n%s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// Lib fills .kafka/lib with the broker's jars if they are missing or stale
// (broker.sh lib). Start does it too; calling it first separates a slow
// first download from the start timeout.
func Lib(ctx context.Context) error {
	_, err := runScript(ctx, "lib")
	return err
}
