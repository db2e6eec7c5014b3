package config

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

// SettingError is a consumer setting that librdkafka (or this package)
// rejects. Its text names the setting and never contains a secret value.
// It does not name the config file, which ValidateConsumer does not know:
// the caller adds File.Path().
type SettingError struct {
	Key     string // the setting, "" when the message names none of the given settings
	Problem string
}

func (e *SettingError) Error() string {
	if e.Key == "" {
		return "Kafka consumer settings: " + e.Problem
	}
	return fmt.Sprintf("Kafka consumer setting %s: %s", e.Key, e.Problem)
}

// probeGroupID is the group.id of the throw-away consumer: librdkafka only
// starts its consumer-group machinery, and checks its settings, with one.
const probeGroupID = "datafiledownloaddirectory-config-check"

// ValidateConsumer checks every key and value of settings against librdkafka
// itself by creating a consumer from a copy and closing it at once. It
// returns nil, or one *SettingError per bad setting (joined, sorted by key).
//
// The copy has no broker list (bootstrap.servers and metadata.broker.list are
// checked here instead, for shape only), so the check opens no connection
// and resolves no host name: with a broker list, closing waits for
// librdkafka's broker threads, measured at 0.4 s for a name that does not
// resolve. Without one it takes about 1 ms, or about 20 ms with
// security.protocol = SASL_SSL, where librdkafka loads the CA certificates.
// librdkafka's log lines go to a channel that is dropped, not to stderr.
func ValidateConsumer(settings map[string]string) error {
	var problems []*SettingError
	probe := kafka.ConfigMap{}
	for key, value := range settings {
		switch {
		case strings.HasPrefix(key, "go."):
			problems = append(problems, &SettingError{Key: key, Problem: `settings starting with "go." belong to ` +
				"the Go Kafka client that this program configures itself; remove it from the config file"})
		case key == "bootstrap.servers" || key == "metadata.broker.list":
			if problem := brokerListProblem(value); problem != "" {
				problems = append(problems, &SettingError{Key: key, Problem: problem})
			}
		case key == "group.id":
			// Any string is a valid group id; the probe uses its own so
			// that it never joins the real group.
		default:
			probe[key] = value
		}
	}
	problems = append(problems, librdkafkaProblems(probe, settings)...)
	if len(problems) == 0 {
		return nil
	}
	sort.SliceStable(problems, func(i, j int) bool { return problems[i].Key < problems[j].Key })
	errs := make([]error, len(problems))
	for i, p := range problems {
		errs[i] = p
	}
	return errors.Join(errs...)
}

// librdkafkaProblems creates consumers from probe until one succeeds. The Go
// client sets properties in map order and stops at the first bad one, so
// each rejected property is removed and the rest tried again: the user sees
// every bad setting at once, not one per restart.
func librdkafkaProblems(probe kafka.ConfigMap, settings map[string]string) []*SettingError {
	var problems []*SettingError
	probe["group.id"] = probeGroupID
	probe["go.logs.channel.enable"] = true
	for range len(probe) {
		consumer, err := kafka.NewConsumer(&probe)
		if err == nil {
			// Close returns an error only for a consumer already closed.
			_ = consumer.Close()
			return problems
		}
		message := err.Error()
		key, rejectedWhileSetting := rejectedKey(message, probe)
		problems = append(problems, &SettingError{Key: key, Problem: describeRejection(message, settings, key != "")})
		if !rejectedWhileSetting {
			// The settings were accepted one by one and failed together
			// (say, SASL_SSL without a password); removing one would only
			// produce misleading follow-up errors.
			return problems
		}
		delete(probe, key)
	}
	return problems
}

// rejectedKey finds the setting librdkafka's message is about. setting is
// true when librdkafka refused the property itself (rd_kafka_conf_set): its
// messages quote the property name, as in `No such configuration property:
// "x"` or `Invalid value "v" for configuration property "x"`, though a long
// value can push the name past librdkafka's 128-byte message buffer.
func rejectedKey(message string, probe kafka.ConfigMap) (key string, setting bool) {
	keys := make([]string, 0, len(probe))
	for k := range probe {
		if k != "group.id" && !strings.HasPrefix(k, "go.") {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	isProbed := func(k string) bool {
		_, ok := probe[k]
		return ok && k != "group.id" && !strings.HasPrefix(k, "go.")
	}
	// The name after `property "` or `for "` first: the value is quoted
	// too, and could happen to spell another setting's name.
	for _, marker := range []string{`property "`, `for "`} {
		if _, after, ok := strings.Cut(message, marker); ok {
			if name, _, ok := strings.Cut(after, `"`); ok && isProbed(name) {
				return name, true
			}
		}
	}
	for _, quoted := range quotedParts(message) {
		if isProbed(quoted) {
			return quoted, true
		}
	}
	const invalidValue = `Invalid value "`
	if strings.HasPrefix(message, invalidValue) {
		for _, k := range keys {
			value, _ := probe[k].(string)
			full := invalidValue + value + `" for configuration property "` + k + `"`
			if strings.HasPrefix(full, message) {
				return k, true
			}
		}
	}
	// Errors from creating the client name properties without quotes
	// ("ssl.ca.location failed: ...") or in backquotes.
	best, bestAt := "", len(message)
	for _, k := range keys {
		if at := indexWord(message, k); at >= 0 && (at < bestAt || (at == bestAt && len(k) > len(best))) {
			best, bestAt = k, at
		}
	}
	return best, false
}

func quotedParts(message string) []string {
	var parts []string
	for rest := message; ; {
		open := strings.IndexByte(rest, '"')
		if open < 0 {
			return parts
		}
		closing := strings.IndexByte(rest[open+1:], '"')
		if closing < 0 {
			return parts
		}
		parts = append(parts, rest[open+1:open+1+closing])
		rest = rest[open+1+closing+1:]
	}
}

func isPropertyNameByte(c byte) bool {
	return c == '.' || c == '_' || c == '-' || ('0' <= c && c <= '9') || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
}

// indexWord finds word in text where it is not part of a longer property
// name, so that "ssl.key" is not found inside "ssl.key.location".
func indexWord(text, word string) int {
	for from := 0; from < len(text); {
		at := strings.Index(text[from:], word)
		if at < 0 {
			return -1
		}
		at += from
		end := at + len(word)
		// A sentence-ending "." after the name does not extend it.
		afterOK := end == len(text) || !isPropertyNameByte(text[end]) ||
			(text[end] == '.' && (end+1 == len(text) || text[end+1] == ' '))
		if (at == 0 || !isPropertyNameByte(text[at-1])) && afterOK {
			return at
		}
		from = at + 1
	}
	return -1
}

func describeRejection(message string, settings map[string]string, aboutOneSetting bool) string {
	message = redactSecretValues(message, settings)
	switch {
	case strings.HasPrefix(message, "No such configuration property"):
		return "librdkafka has no such setting; check its spelling against " +
			"https://github.com/confluentinc/librdkafka/blob/master/CONFIGURATION.md or remove it " +
			"(librdkafka says: " + message + ")"
	case aboutOneSetting:
		return "librdkafka rejects it: " + message
	default:
		return "librdkafka rejects them: " + message
	}
}

var securityProtocols = map[string]bool{"plaintext": true, "ssl": true, "sasl_plaintext": true, "sasl_ssl": true}

// brokerListProblem checks the shape librdkafka expects of a broker list:
// entries separated by commas or spaces, each [protocol://]host[:port].
// librdkafka only logs a malformed entry and then never connects to it.
func brokerListProblem(list string) string {
	entries := strings.FieldsFunc(list, func(r rune) bool { return r == ',' || isPySpace(r) })
	if len(entries) == 0 {
		return "it is empty; it must list the Kafka broker addresses, such as kafka.example.org:9092"
	}
	for _, entry := range entries {
		if problem := brokerAddressProblem(entry); problem != "" {
			return fmt.Sprintf("%q %s; write host:port, such as kafka.example.org:9092, "+
				"and separate several brokers with commas", entry, problem)
		}
	}
	return ""
}

func brokerAddressProblem(entry string) string {
	hostPort := entry
	if scheme, rest, ok := strings.Cut(entry, "://"); ok {
		if !securityProtocols[strings.ToLower(scheme)] {
			return fmt.Sprintf("starts with %q, which is not a Kafka security protocol "+
				"(plaintext, ssl, sasl_plaintext or sasl_ssl; http:// and similar do not apply)", scheme+"://")
		}
		hostPort = rest
	}
	if strings.Contains(hostPort, "/") {
		return "contains \"/\", which a broker address does not have"
	}
	host, port := hostPort, ""
	switch {
	case strings.HasPrefix(hostPort, "["):
		closing := strings.IndexByte(hostPort, ']')
		if closing < 0 {
			return "has a \"[\" without its \"]\""
		}
		host, port = hostPort[1:closing], strings.TrimPrefix(hostPort[closing+1:], ":")
		if rest := hostPort[closing+1:]; rest != "" && !strings.HasPrefix(rest, ":") {
			return "has text after \"]\" that is not :port"
		}
	case strings.Count(hostPort, ":") == 1:
		host, port, _ = strings.Cut(hostPort, ":")
	}
	if host == "" {
		return "has no host name"
	}
	for _, r := range host {
		if !isHostNameRune(r) {
			return fmt.Sprintf("contains %q, which a host name cannot", string(r))
		}
	}
	if port != "" || strings.HasSuffix(hostPort, ":") {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return "has a port that is not a number from 1 to 65535"
		}
	}
	return ""
}

// isHostNameRune accepts what host names and IP addresses (with an IPv6 zone)
// are made of; "localhost:9092;other:9092" is a common slip.
func isHostNameRune(r rune) bool {
	return r == '.' || r == '-' || r == '_' || r == ':' || r == '%' ||
		('0' <= r && r <= '9') || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z')
}
