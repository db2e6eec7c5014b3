package config

import (
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestConsumerFromShippedConfigs(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"KAFKA_TEST_CLUSTER_BOOTSTRAP_SERVERS": "test.cluster:9092",
		"KAFKA_TEST_CLUSTER_USERNAME":          "test-user",
		"KAFKA_TEST_CLUSTER_PASSWORD":          "test-password",
		"LOCAL_KAFKA_BROKER_BOOTSTRAP_SERVERS": "localhost:9092",
	}
	lookup := func(name string) (string, bool) { v, ok := env[name]; return v, ok }
	tests := []struct {
		file string
		want ConsumerSettings
		vars []string
	}{
		{"test.config", ConsumerSettings{
			Kafka: map[string]string{
				"bootstrap.servers": "test.cluster:9092", "sasl.mechanism": "PLAIN", "security.protocol": "SASL_SSL",
				"sasl.username": "test-user", "sasl.password": "test-password",
				"auto.offset.reset": "earliest", "fetch.min.bytes": "100000",
			},
			GroupID: "create_new",
		}, []string{"KAFKA_TEST_CLUSTER_BOOTSTRAP_SERVERS", "KAFKA_TEST_CLUSTER_PASSWORD", "KAFKA_TEST_CLUSTER_USERNAME"}},
		{"local_broker_test.config", ConsumerSettings{
			Kafka: map[string]string{
				"bootstrap.servers": "localhost:9092",
				"auto.offset.reset": "earliest", "fetch.min.bytes": "100000",
			},
			GroupID: "create_new",
		}, []string{"LOCAL_KAFKA_BROKER_BOOTSTRAP_SERVERS"}},
	}
	for _, test := range tests {
		t.Run(test.file, func(t *testing.T) {
			file, err := Load(filepath.Join("testdata", test.file), lookup)
			if err != nil {
				t.Fatal(err)
			}
			got, err := file.Consumer()
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*got, test.want) {
				t.Errorf("Consumer() = %+v,\nwant %+v", *got, test.want)
			}
			if vars := file.EnvVars(); !reflect.DeepEqual(vars, test.vars) {
				t.Errorf("EnvVars() = %q, want %q", vars, test.vars)
			}
		})
	}
}

func TestConsumerRules(t *testing.T) {
	t.Parallel()
	const broker = "[broker]\nbootstrap.servers = localhost:9092\n"
	tests := []struct {
		name string
		text string
		want ConsumerSettings
	}{
		{"consumer wins over broker", "[broker]\nbootstrap.servers = b:1\nclient.id = from-broker\n" +
			"[consumer]\nclient.id = from-consumer\n",
			ConsumerSettings{Kafka: map[string]string{"bootstrap.servers": "b:1", "client.id": "from-consumer"}}},
		{"OpenMSIStream keys dropped", broker + "node_id = n\n[consumer]\nkey.deserializer = StringDeserializer\n" +
			"value.deserializer = DataFileChunkDeserializer\nkey.serializer = x\nvalue.serializer = y\nnode_id = m\n",
			ConsumerSettings{Kafka: map[string]string{"bootstrap.servers": "localhost:9092"}}},
		{"group id taken out", broker + "[consumer]\ngroup.id = lab-downloads\n",
			ConsumerSettings{Kafka: map[string]string{"bootstrap.servers": "localhost:9092"}, GroupID: "lab-downloads"}},
		{"create_new kept literally", broker + "[consumer]\ngroup.id = Create_New\n",
			ConsumerSettings{Kafka: map[string]string{"bootstrap.servers": "localhost:9092"}, GroupID: "Create_New"}},
		{"auto.offset.reset none removed", broker + "[consumer]\nauto.offset.reset = none\n",
			ConsumerSettings{Kafka: map[string]string{"bootstrap.servers": "localhost:9092"}}},
		{"auto.offset.reset None removed", broker + "[consumer]\nauto.offset.reset = None\n",
			ConsumerSettings{Kafka: map[string]string{"bootstrap.servers": "localhost:9092"}}},
		{"auto.offset.reset other kept", broker + "[consumer]\nauto.offset.reset = latest\n",
			ConsumerSettings{Kafka: map[string]string{"bootstrap.servers": "localhost:9092", "auto.offset.reset": "latest"}}},
		{"DEFAULT reaches the consumer", "[DEFAULT]\nclient.id = lab\n" + broker + "[consumer]\n",
			ConsumerSettings{Kafka: map[string]string{"bootstrap.servers": "localhost:9092", "client.id": "lab"}}},
		{"metadata.broker.list is enough", "[broker]\nmetadata.broker.list = b:1\n[consumer]\n",
			ConsumerSettings{Kafka: map[string]string{"metadata.broker.list": "b:1"}}},
		{"values as written, commit settings left to the downloader", broker + "[consumer]\nfetch.min.bytes = 100000\nenable.auto.commit = False\nenable.auto.offset.store = yes\n",
			ConsumerSettings{Kafka: map[string]string{"bootstrap.servers": "localhost:9092", "fetch.min.bytes": "100000"}}},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			file, err := Load(writeConfig(t, test.text), testLookup)
			if err != nil {
				t.Fatal(err)
			}
			got, err := file.Consumer()
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*got, test.want) {
				t.Errorf("Consumer() = %+v, want %+v", *got, test.want)
			}
		})
	}
}

func TestAutoCommitRequested(t *testing.T) {
	t.Parallel()
	for value, want := range map[string]bool{
		"true": true, "True": true, "TRUE": true, "yes": true, "On": true, "1": true,
		"false": false, "False": false, "no": false, "off": false, "0": false, "": false, "maybe": false,
	} {
		text := "[broker]\nbootstrap.servers = b:1\n[consumer]\nenable.auto.commit = " + value + "\n"
		file, err := Load(writeConfig(t, text), testLookup)
		if err != nil {
			t.Fatal(err)
		}
		got, err := file.Consumer()
		if err != nil {
			t.Fatal(err)
		}
		if got.AutoCommitRequested != want {
			t.Errorf("enable.auto.commit = %q: AutoCommitRequested = %v, want %v", value, got.AutoCommitRequested, want)
		}
	}
	file, err := Load(writeConfig(t, "[broker]\nbootstrap.servers = b:1\n[consumer]\n"), testLookup)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := file.Consumer(); got.AutoCommitRequested {
		t.Error("AutoCommitRequested without enable.auto.commit in the file")
	}
}

func TestConsumerErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		text     string
		contains []string
	}{
		{"no broker section", "[consumer]\ngroup.id = g\n", []string{"no [broker] section", "bootstrap.servers"}},
		{"no consumer section", "[broker]\nbootstrap.servers = b:1\n", []string{"no [consumer] section", "group.id", "auto.offset.reset = earliest"}},
		{"consumer section in another case", "[broker]\nbootstrap.servers = b:1\n[Consumer]\ngroup.id = g\n", []string{"no [consumer] section", "[Consumer] at line 3"}},
		{"broker section in another case", "[Broker]\nbootstrap.servers = b:1\n", []string{"[broker]", "[Broker] at line 1"}},
		{"no bootstrap servers", "[broker]\nsecurity.protocol = SSL\n", []string{"bootstrap.servers", "[broker]"}},
		{"empty bootstrap servers", "[broker]\nbootstrap.servers =\n", []string{"bootstrap.servers is empty", "line 2"}},
		{"bootstrap servers from an empty variable", "[broker]\nbootstrap.servers = $EMPTY_VARIABLE\n",
			[]string{"EMPTY_VARIABLE", "set but empty"}},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			path := writeConfig(t, test.text)
			file, err := Load(path, testLookup)
			if err != nil {
				t.Fatal(err)
			}
			_, err = file.Consumer()
			var configErr *Error
			if !errors.As(err, &configErr) {
				t.Fatalf("Consumer() error = %v (%T), want *Error", err, err)
			}
			for _, part := range append(test.contains, path) {
				if !strings.Contains(err.Error(), part) {
					t.Errorf("error %q does not contain %q", err, part)
				}
			}
		})
	}
}

// The shipped encrypted config loads (its variables are set); its consumer
// settings are the plain ones and [kafkacrypto] names the node.
func TestShippedEncryptedConfig(t *testing.T) {
	t.Parallel()
	lookup := func(string) (string, bool) { return "set", true }
	file, err := Load(filepath.Join("testdata", "test_encrypted.config"), lookup)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := file.Consumer(); err != nil {
		t.Errorf("Consumer() error = %v", err)
	}
	kc, err := file.KafkaCrypto()
	if err != nil || kc == nil || kc.NodeID != "testing_node" || kc.ConfigFile != "" {
		t.Errorf("KafkaCrypto() = %+v, %v", kc, err)
	}
}

func TestKafkaCryptoSection(t *testing.T) {
	for _, c := range []struct {
		text, node, file, err string
	}{
		{"[broker]\nbootstrap.servers = b:1\n", "", "", ""},
		{"[kafkacrypto]\nconfig_file = file#/x/n.config\n", "", "file#/x/n.config", ""},
		{"[kafkacrypto]\nnode_id = n\nconfig_file = /x/n.config\n", "n", "/x/n.config", ""},
		{"[kafkacrypto]\n", "", "", "needs node_id"},
	} {
		file, err := Load(writeConfig(t, c.text), testLookup)
		if err != nil {
			t.Fatal(err)
		}
		kc, err := file.KafkaCrypto()
		switch {
		case c.err != "":
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: error %v, want %q", c.text, err, c.err)
			}
		case err != nil:
			t.Errorf("%q: %v", c.text, err)
		case c.node == "" && c.file == "":
			if kc != nil {
				t.Errorf("%q: %+v without a section", c.text, kc)
			}
		case kc == nil || kc.NodeID != c.node || kc.ConfigFile != c.file:
			t.Errorf("%q: %+v", c.text, kc)
		}
	}
}
