package main_test

// End-to-end tests of authenticated brokers: SASL over plaintext and over
// TLS with a CA of the lab's own, credentials from the environment, and
// what a user sees with a wrong password.

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/openmsi/datafiledownloaddirectory/test/kafkatest"
	"github.com/openmsi/datafiledownloaddirectory/test/testkit"
	"github.com/openmsi/datafiledownloaddirectory/test/uploadtest"
)

// authPassword is the broker's password for alice (test/kafka/broker.sh);
// it must appear nowhere in what the program writes.
const authPassword = "alice-secret"

// authConfig writes a config file as a lab would for an authenticated
// broker, with the user name and password taken from the environment.
func authConfig(t *testing.T, protocol, bootstrap string) string {
	t.Helper()
	text := "[broker]\nbootstrap.servers = " + bootstrap + "\nsecurity.protocol = " + protocol +
		"\nsasl.mechanism = PLAIN\nsasl.username = $E2E_KAFKA_USER\nsasl.password = $E2E_KAFKA_PASSWORD\n"
	if protocol == "SASL_SSL" {
		text += "ssl.ca.location = $E2E_KAFKA_CA\n"
	}
	text += "\n[consumer]\ngroup.id = create_new\nauto.offset.reset = earliest\n"
	path := filepath.Join(t.TempDir(), "auth.config")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestAuthenticatedBrokersE2E downloads a file through the SASL_PLAINTEXT
// and the SASL_SSL listeners, with heartbeats and log messages produced
// with the same credentials, everything logged at debug level, and checks
// that the password is in none of the console output, the log file, the
// `check` output, the heartbeats and the log messages.
func TestAuthenticatedBrokersE2E(t *testing.T) {
	kafkatest.Require(t)
	for _, listener := range []struct{ protocol, bootstrap string }{
		{"SASL_PLAINTEXT", kafkatest.BootstrapSASL()},
		{"SASL_SSL", kafkatest.BootstrapSSL()},
	} {
		t.Run(listener.protocol, func(t *testing.T) {
			if listener.bootstrap == "" {
				testkit.Need(t, "the broker has no "+listener.protocol+" listener")
			}
			topic, _ := setup(t, 2)
			hbTopic, logTopic := extraTopic(t, "hb"), extraTopic(t, "log")
			t.Setenv("E2E_KAFKA_USER", "alice")
			t.Setenv("E2E_KAFKA_PASSWORD", authPassword)
			t.Setenv("E2E_KAFKA_CA", kafkatest.CAFile())
			cfg := authConfig(t, listener.protocol, listener.bootstrap)
			out := t.TempDir()
			logFile := filepath.Join(t.TempDir(), "run.log")
			data := randomData(51, 150_000)
			produce(t, topic, uploadtest.FileChunks(data, "auth/a.dat", 65536, uploadtest.Options{}))

			p := start(t, true, out, "--config", cfg, "--topic_name", topic,
				"--logger_stream_level", "debug", "--logger_file_level", "debug", "--logger_file_path", logFile,
				"--heartbeat_topic_name", hbTopic, "--heartbeat_program_id", "auth-pc", "--heartbeat_interval_secs", "1",
				"--log_topic_name", logTopic, "--log_program_id", "auth-pc", "--log_interval_secs", "1")
			waitFor(t, "the file", time.Minute, func() bool { return sameFile(filepath.Join(out, "auth", "a.dat"), data) })
			io.WriteString(p.stdin, "check\n")
			waitFor(t, "the check output", 10*time.Second, func() bool {
				return strings.Contains(p.Output(), "1 file completely reconstructed so far")
			})
			// Heartbeats went through the authenticated listener.
			kafkatest.ReadTopic(t, kafkatest.Bootstrap(), hbTopic, 15*time.Second, func(m []*kafka.Message) bool { return len(m) >= 2 })
			io.WriteString(p.stdin, "quit\n")
			if code := p.wait(t, 30*time.Second); code != 0 {
				t.Fatalf("exit code %d", code)
			}

			written := map[string]string{"the console": p.Output()}
			raw, err := os.ReadFile(logFile)
			if err != nil {
				t.Fatal(err)
			}
			written["the log file"] = string(raw)
			if !strings.Contains(written["the log file"], "level=debug") && !strings.Contains(written["the log file"], "DEBUG") {
				t.Logf("log file:\n%s", raw)
			}
			for _, tp := range []string{hbTopic, logTopic} {
				var all []string
				kafkatest.ReadTopic(t, kafkatest.Bootstrap(), tp, 15*time.Second, func(m []*kafka.Message) bool {
					all = all[:0]
					for _, msg := range m {
						all = append(all, string(msg.Key)+" "+string(msg.Value))
					}
					return strings.Contains(strings.Join(all, "\n"), "shut down") || tp == hbTopic && len(m) >= 3
				})
				written["topic "+tp] = strings.Join(all, "\n")
			}
			for where, text := range written {
				if strings.Contains(text, authPassword) {
					t.Errorf("the password appears in %s:\n%s", where, text)
				}
			}
			if !strings.Contains(written["the log file"], "sasl.password=[redacted]") {
				t.Errorf("the debug log does not show the redacted settings:\n%s", written["the log file"])
			}
		})
	}
}

// TestWrongPasswordE2E: a wrong password gives one error that says what to
// change, not a line per retry, and the program still stops cleanly.
func TestWrongPasswordE2E(t *testing.T) {
	kafkatest.Require(t)
	if kafkatest.BootstrapSASL() == "" {
		testkit.Need(t, "the broker has no SASL listener")
	}
	const wrong = "not-alices-password-93"
	t.Setenv("E2E_KAFKA_USER", "alice")
	t.Setenv("E2E_KAFKA_PASSWORD", wrong)
	cfg := authConfig(t, "SASL_PLAINTEXT", kafkatest.BootstrapSASL())
	p := start(t, true, t.TempDir(), "--config", cfg, "--topic_name", "never_read", "--n_threads", "2", "--update_seconds", "-1")
	const want = "the Kafka broker refused this program's credentials"
	waitFor(t, "the error", 30*time.Second, func() bool { return strings.Contains(p.Output(), want) })
	// librdkafka retries with a backoff of up to 10 s: several retries.
	time.Sleep(15 * time.Second)
	io.WriteString(p.stdin, "quit\n")
	if code := p.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("exit code %d after quit", code)
	}
	out := p.Output()
	if n := strings.Count(out, want); n != 1 {
		t.Errorf("the refusal was reported %d times, want once:\n%s", n, out)
	}
	if !strings.Contains(out, `Check sasl.username ("alice"), sasl.password`) {
		t.Errorf("the error does not say what to check:\n%s", out)
	}
	for _, noise := range []string{"WARNING", "Authentication failed: Invalid username or password (after"} {
		if n := strings.Count(out, noise); noise == "WARNING" && n > 0 || n > 1 {
			t.Errorf("%d lines with %q besides the error:\n%s", n, noise, out)
		}
	}
	if strings.Contains(out, wrong) {
		t.Errorf("the password appears in the output:\n%s", out)
	}
}
