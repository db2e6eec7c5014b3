package config

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

// validateWithin keeps the check honest about "does not block": generous
// enough for -race on a busy machine, far below any network timeout.
const validateWithin = 5 * time.Second

func timedValidate(t *testing.T, settings map[string]string) error {
	t.Helper()
	start := time.Now()
	err := ValidateConsumer(settings)
	took := time.Since(start)
	t.Logf("ValidateConsumer took %v", took)
	if took > validateWithin {
		t.Errorf("ValidateConsumer took %v, more than %v", took, validateWithin)
	}
	return err
}

func TestValidateConsumerAccepts(t *testing.T) {
	t.Parallel()
	tests := map[string]map[string]string{
		"local broker test.config": {
			"bootstrap.servers": "localhost:9092", "auto.offset.reset": "earliest",
			"enable.auto.commit": "False", "fetch.min.bytes": "100000",
		},
		"SASL_SSL test.config": {
			"bootstrap.servers": "kafka.example.org:9092,other.example.org:9093", "security.protocol": "SASL_SSL",
			"sasl.mechanism": "PLAIN", "sasl.username": "u", "sasl.password": "p",
			"auto.offset.reset": "earliest", "enable.auto.commit": "False", "fetch.min.bytes": "100000",
		},
		// An address nobody answers on must not slow the check down.
		"unreachable broker":       {"bootstrap.servers": "name.that.does.not.resolve.invalid:9092"},
		"ipv6 and protocol prefix": {"bootstrap.servers": "[::1]:9092, SASL_SSL://broker:9093 plain"},
		"group.id is ignored":      {"bootstrap.servers": "b:1", "group.id": ""},
	}
	for name, settings := range tests {
		t.Run(name, func(t *testing.T) {
			if err := timedValidate(t, settings); err != nil {
				t.Errorf("ValidateConsumer: %v", err)
			}
		})
	}
}

func TestValidateConsumerRejects(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 300)
	tests := []struct {
		name     string
		settings map[string]string
		keys     []string // the settings named, in order
		contains []string
	}{
		{"unknown property", map[string]string{"fetch.min.byte": "1"}, []string{"fetch.min.byte"},
			[]string{"CONFIGURATION.md", "spelling"}},
		{"Java client property", map[string]string{"key.deserializer": "x"}, []string{"key.deserializer"}, nil},
		{"not a boolean", map[string]string{"enable.auto.commit": "yes"}, []string{"enable.auto.commit"}, nil},
		{"not a number", map[string]string{"fetch.min.bytes": "lots"}, []string{"fetch.min.bytes"}, nil},
		{"out of range", map[string]string{"log_level": "9"}, []string{"log_level"}, []string{"0..7"}},
		{"bad enum", map[string]string{"auto.offset.reset": "none"}, []string{"auto.offset.reset"}, nil},
		{"long bad value", map[string]string{"auto.offset.reset": long}, []string{"auto.offset.reset"}, nil},
		{"several bad settings", map[string]string{"fetch.min.byte": "1", "enable.auto.commit": "maybe",
			"client.id": "fine", "auto.offset.reset": "sideways"},
			[]string{"auto.offset.reset", "enable.auto.commit", "fetch.min.byte"}, nil},
		{"Go client setting", map[string]string{"go.events.channel.enable": "true"},
			[]string{"go.events.channel.enable"}, []string{"Go Kafka client"}},
		{"settings that only fail together", map[string]string{"security.protocol": "SASL_SSL",
			"sasl.mechanism": "PLAIN", "sasl.username": "u"}, []string{"sasl.username"},
			[]string{"sasl.password must be set"}},
		{"missing CA file", map[string]string{"security.protocol": "SSL", "ssl.ca.location": "/nonexistent/ca.pem"},
			[]string{"ssl.ca.location"}, nil},
		{"web address as broker", map[string]string{"bootstrap.servers": "http://kafka.example.org:9092"},
			[]string{"bootstrap.servers"}, []string{`"http://"`}},
		{"semicolon between brokers", map[string]string{"bootstrap.servers": "a:9092;b:9092"},
			[]string{"bootstrap.servers"}, []string{`";"`}},
		{"bad port", map[string]string{"bootstrap.servers": "a:90x2"}, []string{"bootstrap.servers"}, []string{"port"}},
		{"empty port", map[string]string{"metadata.broker.list": "a:"}, []string{"metadata.broker.list"}, nil},
		{"empty broker list", map[string]string{"bootstrap.servers": " , "}, []string{"bootstrap.servers"}, nil},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			err := timedValidate(t, test.settings)
			if err == nil {
				t.Fatal("ValidateConsumer accepted the settings")
			}
			var named []string
			for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
				var settingErr *SettingError
				if !errors.As(e, &settingErr) {
					t.Fatalf("error %v is a %T, not a *SettingError", e, e)
				}
				named = append(named, settingErr.Key)
			}
			if strings.Join(named, ",") != strings.Join(test.keys, ",") {
				t.Errorf("named %q, want %q; error:\n%v", named, test.keys, err)
			}
			for _, part := range test.contains {
				if !strings.Contains(err.Error(), part) {
					t.Errorf("error %q does not contain %q", err, part)
				}
			}
		})
	}
}

func TestValidateConsumerNeverShowsSecrets(t *testing.T) {
	t.Parallel()
	const secret = "SuperSecret-42"
	settings := map[string]string{
		"sasl.password": secret, "ssl.key.password": secret, "security.protocol": "SSL",
		"ssl.key.location": "/etc/hostname", "fetch.min.byte": "1",
	}
	err := timedValidate(t, settings)
	if err == nil {
		t.Fatal("ValidateConsumer accepted the settings")
	}
	if strings.Contains(err.Error(), secret) {
		t.Errorf("error shows a secret: %v", err)
	}
}

// librdkafka quotes invalid values; a secret one must not come through.
func TestRejectionMessagesRedacted(t *testing.T) {
	t.Parallel()
	settings := map[string]string{"sasl.oauthbearer.client.secret": "s3cr3t-value"}
	message := `Invalid value "s3cr3t-value" for configuration property "sasl.oauthbearer.client.secret"`
	if got := describeRejection(message, settings, true); strings.Contains(got, "s3cr3t-value") {
		t.Errorf("describeRejection shows the secret: %s", got)
	}
}

func TestRejectedKeyFromTruncatedMessage(t *testing.T) {
	t.Parallel()
	value := strings.Repeat("v", 150)
	probe := map[string]string{"auto.offset.reset": value, "client.id": "c"}
	message := (`Invalid value "` + value + `" for configuration property "auto.offset.reset"`)[:127]
	configMap := kafka.ConfigMap{}
	for k, v := range probe {
		configMap[k] = v
	}
	key, setting := rejectedKey(message, configMap)
	if key != "auto.offset.reset" || !setting {
		t.Errorf("rejectedKey = %q, %v", key, setting)
	}
}
