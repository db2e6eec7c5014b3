package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// testEnv is the environment the unit tests load with.
var testEnv = map[string]string{
	"KAFKA_BOOTSTRAP":                      "broker.lab:9092",
	"KAFKA_USER":                           "lab-user",
	"KAFKA_PASSWORD":                       "hunter2-secret-value",
	"EMPTY_VARIABLE":                       "",
	"PORT":                                 "9094",
	"SELF_REFERENCE":                       "$SELF_REFERENCE",
	"LOCAL_KAFKA_BROKER_BOOTSTRAP_SERVERS": "localhost:9092",
}

func testLookup(name string) (string, bool) {
	value, ok := testEnv[name]
	return value, ok
}

// writeConfig writes text to a file in a fresh folder and returns its path.
func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "lab.config")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadSectionValues(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		text    string
		section string
		want    map[string]string
	}{
		{"equals separator", "[broker]\nbootstrap.servers = localhost:9092\n", "broker",
			map[string]string{"bootstrap.servers": "localhost:9092"}},
		{"colon separator", "[broker]\nbootstrap.servers: localhost:9092\n", "broker",
			map[string]string{"bootstrap.servers": "localhost:9092"}},
		{"first delimiter splits", "[broker]\na = b:c=d\nx: y=z\n", "broker",
			map[string]string{"a": "b:c=d", "x": "y=z"}},
		{"values and names stripped", "[broker]\n   key   =   spaced value   \n", "broker",
			map[string]string{"key": "spaced value"}},
		{"option names lowercased", "[broker]\nBootstrap.SERVERS = Host:1\n", "broker",
			map[string]string{"bootstrap.servers": "Host:1"}},
		{"full-line comments", "[broker]\n# x = 1\n; y = 2\n   # z = 3\nk = v\n", "broker",
			map[string]string{"k": "v"}},
		{"inline comments kept", "[broker]\nk = v # not a comment\nl = w ; neither\n", "broker",
			map[string]string{"k": "v # not a comment", "l": "w ; neither"}},
		{"empty values", "[broker]\na =\nb:\nc =    \n", "broker",
			map[string]string{"a": "", "b": "", "c": ""}},
		{"continuation lines", "[broker]\nk = one\n    two\n\tthree\n", "broker",
			map[string]string{"k": "one\ntwo\nthree"}},
		{"empty line inside a value", "[broker]\nk = one\n\n  two\n\n\nl = x\n", "broker",
			map[string]string{"k": "one\n\ntwo", "l": "x"}},
		{"comment inside a value skipped", "[broker]\nk = one\n  # note\n  two\n", "broker",
			map[string]string{"k": "one\ntwo"}},
		{"value starting on the next line", "[broker]\nk =\n  next line\n", "broker",
			map[string]string{"k": "\nnext line"}},
		{"indented header continues a value", "[broker]\nk = v\n  [consumer]\n", "broker",
			map[string]string{"k": "v\n[consumer]"}},
		{"DEFAULT inherited", "[DEFAULT]\na = 1\nb = 2\n[broker]\nb = 3\n", "broker",
			map[string]string{"a": "1", "b": "3"}},
		{"DEFAULT after the section", "[broker]\nb = 3\n[DEFAULT]\na = 1\n", "broker",
			map[string]string{"a": "1", "b": "3"}},
		{"two DEFAULT blocks merge", "[DEFAULT]\na = 1\n[broker]\n[DEFAULT]\nb = 2\n", "broker",
			map[string]string{"a": "1", "b": "2"}},
		{"DEFAULT itself", "[DEFAULT]\na = 1\n[broker]\nb = 2\n", "DEFAULT",
			map[string]string{"a": "1"}},
		{"interpolation", "[broker]\nhost = h\nport = 1\nbootstrap.servers = %(host)s:%(PORT)s\n", "broker",
			map[string]string{"host": "h", "port": "1", "bootstrap.servers": "h:1"}},
		{"interpolation from DEFAULT", "[DEFAULT]\nhost = d\n[broker]\nb = %(host)s\n", "broker",
			map[string]string{"host": "d", "b": "d"}},
		{"DEFAULT value interpolated per section", "[DEFAULT]\nurl = %(host)s:9092\n[broker]\nhost = a\n", "broker",
			map[string]string{"url": "a:9092", "host": "a"}},
		{"nested interpolation", "[broker]\na = x\nb = %(a)s%(a)s\nc = [%(b)s]\n", "broker",
			map[string]string{"a": "x", "b": "xx", "c": "[xx]"}},
		{"percent escapes", "[broker]\na = 100%%\nb = %%(a)s\nc = %%%%\n", "broker",
			map[string]string{"a": "100%", "b": "%(a)s", "c": "%%"}},
		{"environment variable", "[broker]\nbootstrap.servers = $KAFKA_BOOTSTRAP\nu = ${KAFKA_USER}\n", "broker",
			map[string]string{"bootstrap.servers": "broker.lab:9092", "u": "lab-user"}},
		{"several variables", "[broker]\nb = $KAFKA_BOOTSTRAP,other:$PORT\n", "broker",
			map[string]string{"b": "broker.lab:9092,other:9094"}},
		{"dollar not first is literal", "[broker]\npw = pa$$word$KAFKA_USER\n", "broker",
			map[string]string{"pw": "pa$$word$KAFKA_USER"}},
		{"variable set but empty", "[broker]\nb = $EMPTY_VARIABLE\n", "broker",
			map[string]string{"b": ""}},
		{"variable value not expanded again", "[broker]\nb = $SELF_REFERENCE\n", "broker",
			map[string]string{"b": "$SELF_REFERENCE"}},
		{"variable through interpolation", "[DEFAULT]\nv = $KAFKA_USER\n[broker]\nu = %(v)s\n", "broker",
			map[string]string{"v": "lab-user", "u": "lab-user"}},
		{"crlf line endings", "[broker]\r\nk = v\r\n  w\r\n", "broker",
			map[string]string{"k": "v\nw"}},
		{"byte order mark skipped", "\uFEFF[broker]\nk = v\n", "broker",
			map[string]string{"k": "v"}},
		{"header name up to the last bracket", "[a]b] trailing\nk = v\n", "a]b",
			map[string]string{"k": "v"}},
		{"empty section", "[broker]\n[consumer]\n", "consumer", map[string]string{}},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			file, err := Load(writeConfig(t, test.text), testLookup)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			got, err := file.Section(test.section)
			if err != nil {
				t.Fatalf("Section(%q): %v", test.section, err)
			}
			if !reflect.DeepEqual(got, test.want) {
				t.Errorf("Section(%q) = %q, want %q", test.section, got, test.want)
			}
		})
	}
}

func TestSectionsAndHas(t *testing.T) {
	t.Parallel()
	file, err := Load(writeConfig(t, "[DEFAULT]\na = 1\n[broker]\n[Consumer]\n[ log ]\n[heartbeat]\n"), testLookup)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := file.Sections(), []string{"broker", "Consumer", " log ", "heartbeat"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Sections() = %q, want %q", got, want)
	}
	for name, want := range map[string]bool{"broker": true, "Consumer": true, "consumer": false, " log ": true,
		"log": false, "DEFAULT": false, "heartbeat": true, "kafkacrypto": false} {
		if got := file.Has(name); got != want {
			t.Errorf("Has(%q) = %v, want %v", name, got, want)
		}
	}
	if _, err := file.Section("consumer"); err == nil || !strings.Contains(err.Error(), "[Consumer] at line 4") {
		t.Errorf("Section(consumer) error = %v, want a pointer to [Consumer]", err)
	}
}

func TestSectionReturnsACopy(t *testing.T) {
	t.Parallel()
	file, err := Load(writeConfig(t, "[broker]\nk = v\n"), testLookup)
	if err != nil {
		t.Fatal(err)
	}
	first, _ := file.Section("broker")
	first["k"] = "changed"
	if second, _ := file.Section("broker"); second["k"] != "v" {
		t.Errorf("a caller's change leaked into the file: k = %q", second["k"])
	}
}

func TestLoadErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		text     string
		line     int
		contains []string
	}{
		{"before any header", "k = v\n[broker]\n", 1, []string{"before any section header"}},
		{"no delimiter", "[broker]\nk = v\nthis has no delimiter\n", 3, []string{`"name = value"`, "[broker]"}},
		{"no name", "[broker]\n= v\n", 2, []string{"no name"}},
		{"empty brackets", "[broker]\n[]\n", 2, []string{"[name]"}},
		{"unclosed header", "[broker]\n[consumer\n", 2, []string{"[name]"}},
		{"not UTF-8 after old Mac line ends", "[broker]\rk = v\rx = caf\xe9\r", 3, []string{"UTF-8"}},
		{"duplicate section", "[broker]\n[consumer]\n\n[broker]\n", 4, []string{"[broker]", "first at line 1"}},
		{"duplicate option", "[broker]\nk = 1\nK = 2\n", 3, []string{`"k"`, "first at line 2", "upper/lower"}},
		{"duplicate option across DEFAULT blocks", "[DEFAULT]\na = 1\n[broker]\n[DEFAULT]\nA = 2\n", 5,
			[]string{`"a"`, "[DEFAULT]"}},
		{"not UTF-8", "[broker]\nk = caf\xe9\n", 2, []string{"UTF-8"}},
		{"unset variable", "[broker]\nbootstrap.servers = $NOT_SET_ANYWHERE\n", 2,
			[]string{"NOT_SET_ANYWHERE", "[broker] bootstrap.servers", "not set"}},
		{"unset variable among several", "[broker]\nb = $KAFKA_BOOTSTRAP,$ALSO_NOT_SET\n", 2, []string{"ALSO_NOT_SET"}},
		{"unset variable inherited", "[DEFAULT]\nx = $NOT_SET_ANYWHERE\n[consumer]\n", 2,
			[]string{"NOT_SET_ANYWHERE", "[consumer] x", "inherited from [DEFAULT], line 2"}},
		{"dollar without a name", "[broker]\nk = $\n", 2, []string{"no variable name"}},
		{"empty braces", "[consumer]\nk = ${}\n", 2, []string{"${}"}},
		{"missing interpolation key", "[broker]\nk = %(nowhere)s\n", 2, []string{"%(nowhere)s", "no setting"}},
		{"lone percent", "[broker]\nk = 100%\n", 2, []string{`"100%"`, "%%"}},
		{"bad reference", "[broker]\nport = 1\nk = %(port)d\n", 3, []string{"%(name)s"}},
		{"unclosed reference", "[broker]\nk = %(port\n", 2, []string{"%(name)s"}},
		{"interpolation loop", "[producer]\na = %(b)s\nb = %(a)s\n", 2, []string{"10 levels"}},
		{"problem through a reference", "[broker]\na = 5%\nb = %(a)s\n", 2, []string{`"5%"`}},
		{"exponential references", exponentialReferences(), 2, []string{"100000 references"}},
		{"many large values", manyLargeValues(), 15, []string{"100000 references"}},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			path := writeConfig(t, test.text)
			_, err := Load(path, testLookup)
			var configErr *Error
			if !errors.As(err, &configErr) {
				t.Fatalf("Load error = %v (%T), want *Error", err, err)
			}
			if configErr.Line != test.line {
				t.Errorf("line = %d, want %d (%v)", configErr.Line, test.line, err)
			}
			for _, part := range append(test.contains, path) {
				if !strings.Contains(err.Error(), part) {
					t.Errorf("error %q does not contain %q", err, part)
				}
			}
		})
	}
}

func TestLoadReadErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, err := Load(filepath.Join(dir, "absent.config"), testLookup); err == nil ||
		!strings.Contains(err.Error(), "does not exist") || !strings.Contains(err.Error(), "absent.config") {
		t.Errorf("missing file: error = %v", err)
	}
	if _, err := Load(dir, testLookup); err == nil || !strings.Contains(err.Error(), "folder") {
		t.Errorf("folder: error = %v", err)
	}
}

// Sections this program does not read may reference variables set only
// on another machine, as OpenMSIStream's downloader allows.
func TestOtherSectionsResolvedOnDemand(t *testing.T) {
	t.Parallel()
	path := writeConfig(t, "[broker]\nbootstrap.servers = $KAFKA_BOOTSTRAP\n[s3]\nsecret_key_id = $S3_ONLY_VARIABLE\n")
	file, err := Load(path, testLookup)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if _, err := file.Section("s3"); err == nil || !strings.Contains(err.Error(), "S3_ONLY_VARIABLE") {
		t.Errorf("Section(s3) error = %v, want one naming S3_ONLY_VARIABLE", err)
	}
	if got := file.EnvVars(); !reflect.DeepEqual(got, []string{"KAFKA_BOOTSTRAP"}) {
		t.Errorf("EnvVars() = %q", got)
	}
}

func TestEnvVars(t *testing.T) {
	t.Parallel()
	text := "[DEFAULT]\nuser = $KAFKA_USER\n" +
		"[broker]\nbootstrap.servers = ${KAFKA_BOOTSTRAP},$PORT\nsasl.password = $KAFKA_PASSWORD\nliteral = a$NOT_A_REFERENCE\n" +
		"[consumer]\nagain = $KAFKA_USER\n[heartbeat]\nvia = %(user)s\n"
	file, err := Load(writeConfig(t, text), testLookup)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"KAFKA_BOOTSTRAP", "KAFKA_PASSWORD", "KAFKA_USER", "PORT"}
	if got := file.EnvVars(); !reflect.DeepEqual(got, want) {
		t.Errorf("EnvVars() = %q, want %q", got, want)
	}
}

func TestPathIsAsGiven(t *testing.T) {
	t.Parallel()
	path := writeConfig(t, "[broker]\n")
	file, err := Load(path, testLookup)
	if err != nil {
		t.Fatal(err)
	}
	if file.Path() != path {
		t.Errorf("Path() = %q, want %q", file.Path(), path)
	}
}

// No error text may show a secret: not a password written in the file, not
// a value taken from the environment.
func TestErrorsNeverShowSecrets(t *testing.T) {
	t.Parallel()
	const written = "written-password-123"
	texts := []string{
		"[broker]\nsasl.password = " + written + "%\n",
		"[broker]\nsasl.password = " + written + "%(x\n",
		"[broker]\nsasl.password = " + written + "\nother = %(sasl.password)s%(nowhere)s\n",
		"[broker]\nsasl.password = " + written + "\n[broker]\n",
		"[broker]\nsasl.password = $KAFKA_PASSWORD\nb = %(sasl.password)s\n[consumer]\nx = %(b)s%\n",
		"[broker]\nssl.key.password = $KAFKA_PASSWORD\n",
	}
	for _, text := range texts {
		file, err := Load(writeConfig(t, text), testLookup)
		if err == nil {
			_, err = file.Consumer()
		}
		if err == nil {
			t.Errorf("no error for %q", text)
			continue
		}
		for _, secret := range []string{written, testEnv["KAFKA_PASSWORD"]} {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error shows a secret: %v", err)
			}
		}
	}
}

// exponentialReferences nests ten references per value nine levels deep:
// 10^9 references, which configparser would try to build in memory.
func exponentialReferences() string {
	var b strings.Builder
	b.WriteString("[broker]\n")
	for level := range 9 {
		fmt.Fprintf(&b, "k%d = %s\n", level, strings.Repeat(fmt.Sprintf("%%(k%d)s", level+1), 10))
	}
	b.WriteString("k9 = %%\n")
	return b.String()
}

// manyLargeValues has values of 10,000 references each: fine alone, too many
// together.
func manyLargeValues() string {
	var b strings.Builder
	b.WriteString("[broker]\n")
	for level := range 3 {
		fmt.Fprintf(&b, "k%d = %s\n", level, strings.Repeat(fmt.Sprintf("%%(k%d)s", level+1), 10))
	}
	b.WriteString("k3 = %%\n")
	for i := range 20 {
		fmt.Fprintf(&b, "x%d = %s\n", i, strings.Repeat("%(k0)s", 9))
	}
	return b.String()
}
