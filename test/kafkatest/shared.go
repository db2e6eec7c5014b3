package kafkatest

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/openmsi/datafiledownloaddirectory/test/testkit"
)

var (
	shared        *Broker
	sharedErr     error
	bootstrap     string
	bootstrapSASL string
	bootstrapSSL  string
	caFile        string
)

// Shared runs a test package's tests with a broker; call it from TestMain
// as os.Exit(kafkatest.Shared(m)).
//
// With $KAFKA_BOOTSTRAP set (and optionally $KAFKA_BOOTSTRAP_SASL,
// $KAFKA_BOOTSTRAP_SSL and $KAFKA_SSL_CA) it uses that broker and never
// stops it. Otherwise it starts one in a temporary
// folder, which it removes afterwards unless a test failed (then the
// broker's logs are kept and their path printed). If the broker cannot be
// started, tests that call Require are skipped, or with
// DFDD_REQUIRE_ALL=1 fail, and the package fails as a whole.
func Shared(m *testing.M) int {
	if bs := os.Getenv("KAFKA_BOOTSTRAP"); bs != "" {
		bootstrap, bootstrapSASL = bs, os.Getenv("KAFKA_BOOTSTRAP_SASL")
		bootstrapSSL, caFile = os.Getenv("KAFKA_BOOTSTRAP_SSL"), os.Getenv("KAFKA_SSL_CA")
		return m.Run()
	}
	if fuzzing() {
		// Every fuzz worker is a process running TestMain: a broker each
		// would take the whole fuzz time to start, and fuzz targets need
		// none.
		sharedErr = errors.New("no broker is started while fuzzing")
		return m.Run()
	}
	code := runShared(m)
	if sharedErr != nil && required() {
		fmt.Fprintf(os.Stderr, "kafkatest: DFDD_REQUIRE_ALL=1 but no broker: %v\n", sharedErr)
		return 1
	}
	return code
}

func runShared(m *testing.M) int {
	dir, err := os.MkdirTemp("", "kafkatest-")
	if err != nil {
		sharedErr = err
		return m.Run()
	}
	// The first run on a machine downloads the jars (seconds to minutes,
	// depending on the network) before the broker's own 90 s start budget.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	shared, sharedErr = Start(ctx, filepath.Join(dir, "broker"))
	cancel()
	if sharedErr != nil {
		// broker.sh already put the tail of the broker's logs in the error.
		os.RemoveAll(dir)
		fmt.Fprintf(os.Stderr, "kafkatest: %v\n", sharedErr)
		return m.Run()
	}
	bootstrap, bootstrapSASL = shared.Bootstrap(), shared.BootstrapSASL()
	bootstrapSSL, caFile = shared.BootstrapSSL(), shared.CAFile()
	code := m.Run()
	if err := shared.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "kafkatest: %v\n", err)
	}
	if code == 0 {
		os.RemoveAll(dir)
	} else {
		fmt.Fprintf(os.Stderr, "kafkatest: broker logs kept in %s\n", filepath.Join(dir, "broker", "logs"))
	}
	return code
}

// Bootstrap is the address of the package's shared broker ("" without one).
func Bootstrap() string { return bootstrap }

// BootstrapSASL is the shared broker's SASL_PLAINTEXT (PLAIN) listener, ""
// when there is none, e.g. with $KAFKA_BOOTSTRAP but no $KAFKA_BOOTSTRAP_SASL.
func BootstrapSASL() string { return bootstrapSASL }

// BootstrapSSL is the shared broker's SASL_SSL (PLAIN) listener and CAFile
// the CA its certificate is signed by; both "" when there is none, e.g.
// with $KAFKA_BOOTSTRAP but no $KAFKA_BOOTSTRAP_SSL.
func BootstrapSSL() string { return bootstrapSSL }

// CAFile is the CA of BootstrapSSL's certificate (PEM), "" without one.
func CAFile() string { return caFile }

// SharedBroker is the broker Shared started, or nil when the package uses
// one from $KAFKA_BOOTSTRAP (which the tests must not stop) or has none.
func SharedBroker() *Broker { return shared }

// fuzzing says whether this test binary runs with -test.fuzz, as the
// coordinator or as one of its workers.
func fuzzing() bool {
	if !flag.Parsed() {
		flag.Parse()
	}
	f := flag.Lookup("test.fuzz")
	return f != nil && f.Value.String() != ""
}

// required says whether a missing broker fails a test instead of skipping
// it: under DFDD_REQUIRE_ALL=1 (make test), or DFDD_REQUIRE_BROKER=1.
func required() bool {
	return os.Getenv(testkit.RequireAllEnv) == "1" || os.Getenv("DFDD_REQUIRE_BROKER") == "1"
}

// Require skips a test that needs the shared broker when there is none, or
// fails it under DFDD_REQUIRE_ALL=1 or DFDD_REQUIRE_BROKER=1.
func Require(t testing.TB) {
	t.Helper()
	if bootstrap != "" {
		return
	}
	reason := "no Kafka broker: kafkatest.Shared is not called from TestMain"
	if sharedErr != nil {
		reason = fmt.Sprintf("no Kafka broker (set KAFKA_BOOTSTRAP, or run `bash test/kafka/broker.sh lib` and check java/mvn): %v", sharedErr)
	}
	if required() {
		t.Fatal(reason)
	}
	t.Skip(reason)
}

// StartTest starts a broker of the test's own, in t.TempDir(), stopped at
// the end of the test: for tests that stop, kill or restart it and so
// must not share it. Like Require, it skips the test when no broker can be
// started, or fails it under DFDD_REQUIRE_ALL=1 or DFDD_REQUIRE_BROKER=1.
func StartTest(t testing.TB) *Broker {
	t.Helper()
	if runtime.GOOS == "windows" {
		// Not a missing tool: broker.sh is bash driving a JVM through
		// Linux's /proc and process groups. `make test` runs these tests
		// on Linux; under wine the shared broker comes from the Linux side.
		t.Skip("starts, stops and kills a broker of its own with test/kafka/broker.sh, which runs on Linux only")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	b, err := Start(ctx, filepath.Join(t.TempDir(), "broker"))
	if err != nil {
		if required() {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	t.Cleanup(func() {
		if err := b.Stop(); err != nil {
			t.Error(err)
		}
		// t.TempDir goes away with the test, and the log with it.
		if t.Failed() {
			logTail(t, filepath.Join(b.Dir(), "logs", "server.log"), 40)
		}
	})
	return b
}

func logTail(t testing.TB, path string, n int) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return
	}
	lines := strings.Split(strings.TrimRight(string(raw), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	t.Logf("last lines of %s:\n%s", path, strings.Join(lines, "\n"))
}
