package config

import (
	"fmt"
	"strings"
)

// ConsumerSettings are what the downloader's consumers need from the file.
type ConsumerSettings struct {
	// Kafka holds the librdkafka properties: [broker] merged with
	// [consumer] ([consumer] wins), without OpenMSIStream's own keys
	// (key.deserializer, value.deserializer, key.serializer,
	// value.serializer, node_id) and without group.id;
	// "auto.offset.reset = none" is removed so that librdkafka's default
	// applies, as in OpenMSIStream; enable.auto.commit and
	// enable.auto.offset.store are removed because the downloader sets
	// them. Other values are passed as written.
	Kafka map[string]string
	// GroupID is the file's group.id, "" when absent. "create_new" is kept
	// literally: the caller decides what a fresh group id looks like.
	GroupID string
	// AutoCommitRequested is true when enable.auto.commit is set to true,
	// yes, on or 1 (any case).
	AutoCommitRequested bool
}

// openMSIStreamOnlyKeys name settings that OpenMSIStream consumes itself and
// never hands to librdkafka, which would reject them. OpenMSIStream drops
// node_id only from sections whose name contains broker, producer or
// consumer; the consumer's sections always qualify.
var openMSIStreamOnlyKeys = []string{
	"key.deserializer", "value.deserializer", "key.serializer", "value.serializer", "node_id",
}

// Consumer returns the settings of the downloader's consumers. A
// [kafkacrypto] section does not change them: see KafkaCrypto.
func (f *File) Consumer() (*ConsumerSettings, error) {
	broker, ok := f.resolved["broker"]
	if !ok {
		return nil, &Error{File: f.path, Problem: "there is no [broker] section; it must say how to reach " +
			"Kafka, at least with a line such as \"bootstrap.servers = $KAFKA_BOOTSTRAP_SERVERS\"" + f.nearMiss("broker")}
	}
	kafka := map[string]string{}
	for k, v := range broker.values {
		kafka[k] = v
	}
	if consumer, ok := f.resolved["consumer"]; ok {
		for k, v := range consumer.values {
			kafka[k] = v
		}
	}
	for _, key := range openMSIStreamOnlyKeys {
		delete(kafka, key)
	}
	settings := &ConsumerSettings{Kafka: kafka, GroupID: kafka["group.id"]}
	delete(kafka, "group.id")
	// OpenMSIStream compares with "none" exactly, and librdkafka rejects
	// "None"; any case is accepted here since the meaning is unambiguous.
	if reset, ok := kafka["auto.offset.reset"]; ok && strings.EqualFold(strings.TrimSpace(reset), "none") {
		delete(kafka, "auto.offset.reset")
	}
	switch strings.ToLower(strings.TrimSpace(kafka["enable.auto.commit"])) {
	case "true", "yes", "on", "1":
		settings.AutoCommitRequested = true
	}
	// The downloader always commits by itself, so whatever the file says
	// about committing is overridden, and must not fail validation either
	// (librdkafka refuses "yes", which Python users write).
	delete(kafka, "enable.auto.commit")
	delete(kafka, "enable.auto.offset.store")
	if err := f.checkBootstrap(kafka); err != nil {
		return nil, err
	}
	// OpenMSIStream refuses a consumer without the section too. Without it
	// librdkafka's defaults would give a fresh group that starts at the
	// newest message: a topic full of files would give nothing.
	if _, ok := f.resolved["consumer"]; !ok {
		return nil, &Error{File: f.path, Problem: "there is no [consumer] section; add one with at least " +
			"\"group.id = NAME\" (a fixed consumer group, so that a restart resumes where it stopped) and " +
			"\"auto.offset.reset = earliest\" (so that files uploaded before the first start are read too)" + f.nearMiss("consumer")}
	}
	return settings, nil
}

// checkBootstrap catches a consumer that could never reach a broker: the
// original would start and then wait forever.
func (f *File) checkBootstrap(kafka map[string]string) error {
	for _, key := range []string{"bootstrap.servers", "metadata.broker.list"} {
		if strings.TrimSpace(kafka[key]) != "" {
			return nil
		}
	}
	problem := "no Kafka broker address: set bootstrap.servers in the [broker] section, " +
		"for example \"bootstrap.servers = $KAFKA_BOOTSTRAP_SERVERS\""
	if origin, ok := f.whereSet("bootstrap.servers"); ok {
		problem = "bootstrap.servers is empty" + origin + "; it must list the Kafka broker addresses, such as kafka.example.org:9092"
	}
	return &Error{File: f.path, Problem: problem}
}

// whereSet describes where the consumer's value of key comes from, naming an
// environment variable that supplied it.
func (f *File) whereSet(key string) (string, bool) {
	for _, name := range []string{"consumer", "broker"} {
		sec, ok := f.doc.byName[name]
		if !ok {
			continue
		}
		opt, ok := f.doc.lookupOption(sec, key)
		if !ok {
			continue
		}
		origin := fmt.Sprintf(" (line %d)", opt.line)
		if vars := envNames(f.resolved[name].interpolated[key]); len(vars) > 0 {
			origin = fmt.Sprintf(" (line %d takes it from environment variable %s, which is set but empty)",
				opt.line, strings.Join(vars, ", "))
		}
		return origin, true
	}
	return "", false
}

// KafkaCryptoSettings are a [kafkacrypto] section's: the node whose files
// decrypt the topic, by name (NodeID, looked for in node folders as
// OpenMSIStream does) or by its .config file (ConfigFile, which wins).
type KafkaCryptoSettings struct {
	NodeID     string
	ConfigFile string
}

// KafkaCrypto returns the [kafkacrypto] section's settings, nil when the
// file has none (the topic is not encrypted).
func (f *File) KafkaCrypto() (*KafkaCryptoSettings, error) {
	sec, ok := f.doc.byName["kafkacrypto"]
	if !ok {
		return nil, nil
	}
	values, err := f.Section("kafkacrypto")
	if err != nil {
		return nil, err
	}
	s := &KafkaCryptoSettings{NodeID: strings.TrimSpace(values["node_id"]), ConfigFile: strings.TrimSpace(values["config_file"])}
	if s.NodeID == "" && s.ConfigFile == "" {
		return nil, &Error{File: f.path, Line: sec.line, Section: "kafkacrypto", Problem: "the [kafkacrypto] section " +
			"needs node_id (the name of the provisioned KafkaCrypto node whose folder is beside this file) or config_file " +
			"(the path of the node's .config file)"}
	}
	return s, nil
}
