// Package kafkatest runs the real Apache Kafka broker of test/kafka/broker.sh
// for Go tests, and creates topics on it.
//
// A test package calls Shared from TestMain: it uses the broker named by
// $KAFKA_BOOTSTRAP if set, else starts one for the package's tests and stops
// it afterwards. Tests that need the broker call Require; without a broker
// they are skipped, unless $DFDD_REQUIRE_BROKER=1 (as `make test` sets),
// which makes a missing broker a failure.
package kafkatest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

// Broker is one broker started by broker.sh.
type Broker struct {
	dir string
}

// Start starts a broker in dir: a new one if dir is empty, else the one
// whose data and ports dir holds (a restart).
func Start(ctx context.Context, dir string) (*Broker, error) {
	b := &Broker{dir: dir}
	if err := b.script(ctx, "start"); err != nil {
		return nil, err
	}
	return b, nil
}

func (b *Broker) script(ctx context.Context, verb string) error {
	root, err := repoRoot()
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(root, "test", "kafka", "broker.sh"), verb, b.dir)
	cmd.Env = append(os.Environ(), "KAFKA_WATCH_PID="+strconv.Itoa(os.Getpid()))
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("broker.sh %s: %v\n%s", verb, err, out)
	}
	return nil
}

// Dir is the broker's folder: config, data and logs (logs/server.log).
func (b *Broker) Dir() string { return b.dir }

// Bootstrap is the plaintext listener's address.
func (b *Broker) Bootstrap() string { return b.read("bootstrap") }

// BootstrapSASL is the SASL_PLAINTEXT (PLAIN) listener's address.
func (b *Broker) BootstrapSASL() string { return b.read("bootstrap_sasl") }

func (b *Broker) read(name string) string {
	raw, _ := os.ReadFile(filepath.Join(b.dir, name))
	return strings.TrimSpace(string(raw))
}

// Stop shuts the broker down cleanly.
func (b *Broker) Stop() error { return b.script(context.Background(), "stop") }

// Kill stops the broker with SIGKILL, as a crash would.
func (b *Broker) Kill() error { return b.script(context.Background(), "kill") }

// Restart starts a stopped broker again with the same data and ports, so
// that clients reconnect to it.
func (b *Broker) Restart(ctx context.Context) error { return b.script(ctx, "start") }

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "test", "kafka", "broker.sh")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("test/kafka/broker.sh not found above the working directory")
		}
		dir = parent
	}
}

// CreateTopic creates a topic and waits until every partition has a leader.
func CreateTopic(ctx context.Context, bootstrap, name string, partitions int) error {
	a, err := kafka.NewAdminClient(&kafka.ConfigMap{
		"bootstrap.servers": bootstrap,
		// The admin client is a producer inside, and producers would
		// auto-create the topic with the default partition count while
		// we ask for its metadata.
		"allow.auto.create.topics": false,
		"log_level":                3,
	})
	if err != nil {
		return err
	}
	defer a.Close()
	res, err := a.CreateTopics(ctx, []kafka.TopicSpecification{{Topic: name, NumPartitions: partitions, ReplicationFactor: 1}},
		kafka.SetAdminOperationTimeout(30*time.Second))
	if err != nil {
		return fmt.Errorf("create topic %s: %w", name, err)
	}
	for _, r := range res {
		if c := r.Error.Code(); c != kafka.ErrNoError && c != kafka.ErrTopicAlreadyExists {
			return fmt.Errorf("create topic %s: %w", name, r.Error)
		}
	}
	for {
		md, err := a.GetMetadata(&name, false, 1000)
		if err == nil && ready(md, name, partitions) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("topic %s not ready: %w", name, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func ready(md *kafka.Metadata, name string, partitions int) bool {
	t, ok := md.Topics[name]
	if !ok || t.Error.Code() != kafka.ErrNoError || len(t.Partitions) != partitions {
		return false
	}
	for _, p := range t.Partitions {
		if p.Error.Code() != kafka.ErrNoError || p.Leader < 0 {
			return false
		}
	}
	return true
}

var (
	shared    *Broker
	sharedErr error
	bootstrap string
)

// Shared runs a test package's tests with a broker; call it from TestMain
// and exit with its result.
func Shared(m *testing.M) int {
	if bs := os.Getenv("KAFKA_BOOTSTRAP"); bs != "" {
		bootstrap = bs
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "kafkatest")
	if err != nil {
		sharedErr = err
		return m.Run()
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	shared, sharedErr = Start(ctx, dir)
	cancel()
	if sharedErr == nil {
		bootstrap = shared.Bootstrap()
		defer shared.Stop()
	}
	return m.Run()
}

// Bootstrap is the shared broker's address.
func Bootstrap() string { return bootstrap }

// SharedBroker is the broker Shared started, or nil when the tests use one
// from $KAFKA_BOOTSTRAP (which they must not stop).
func SharedBroker() *Broker { return shared }

// Require skips a test that needs the broker when there is none, or fails
// it when $DFDD_REQUIRE_BROKER=1.
func Require(t testing.TB) {
	t.Helper()
	if bootstrap != "" {
		return
	}
	reason := "no Kafka broker: set KAFKA_BOOTSTRAP or make test/kafka/broker.sh work (make kafka-lib)"
	if sharedErr != nil {
		reason = fmt.Sprintf("no Kafka broker: %v", sharedErr)
	}
	if os.Getenv("DFDD_REQUIRE_BROKER") == "1" {
		t.Fatal(reason)
	}
	t.Skip(reason)
}
