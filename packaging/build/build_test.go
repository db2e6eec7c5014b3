package main

import (
	"compress/gzip"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/openmsi/datafiledownloaddirectory/config"
)

func TestCheckVersion(t *testing.T) {
	for _, v := range []string{"0.1.0", "1.2.3", "255.255.65535", "10.0.7"} {
		if err := checkVersion(v); err != nil {
			t.Errorf("checkVersion(%q) = %v, want nil", v, err)
		}
	}
	for _, v := range []string{"", "dev", "1.2", "1.2.3.4", "v1.2.3", "1.2.3-rc1", "256.0.0", "0.256.0", "0.0.65536", "01.2.3", " 1.2.3"} {
		if err := checkVersion(v); err == nil {
			t.Errorf("checkVersion(%q) = nil, want an error", v)
		}
	}
}

func TestProductCodeIsStablePerVersion(t *testing.T) {
	a, b := productCode("1.2.3"), productCode("1.2.3")
	if a != b {
		t.Fatalf("product code of one version changed: %s, %s", a, b)
	}
	if c := productCode("1.2.4"); c == a {
		t.Fatalf("versions 1.2.3 and 1.2.4 have the same product code %s", a)
	}
	if a != strings.ToUpper(a) || len(a) != 36 {
		t.Fatalf("product code %q is not an upper-case GUID", a)
	}
}

func TestRoff(t *testing.T) {
	cases := map[string]string{
		"--config FILE":     `\-\-config FILE`,
		`C:\ProgramData`:    `C:\eProgramData`,
		".datafile folder":  `\&.datafile folder`,
		"'quoted' at start": `\&'quoted' at start`,
		"plain text":        "plain text",
	}
	for in, want := range cases {
		if got := roff(in); got != want {
			t.Errorf("roff(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestManPageHoldsTheHelp(t *testing.T) {
	help := "usage: X OUTPUT_DIR\n.hidden line\n  --topic_name TOPIC   topic\n"
	page := manPage(help, "1.2.3")
	for _, want := range []string{
		".TH DATAFILEDOWNLOADDIRECTORY 1 \"\" \"DataFileDownloadDirectory 1.2.3\"",
		"\\&.hidden line\n",
		`  \-\-topic_name TOPIC   topic` + "\n",
		"/etc/datafiledownloaddirectory/NAME.env",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("man page lacks %q:\n%s", want, page)
		}
	}
}

func TestWriteManPageRunsTheProgram(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the man page goes into the Linux packages, and its stand-in program here is a shell script")
	}
	// A stand-in program whose --help is known.
	dir := t.TempDir()
	prog := dir + "/prog"
	if err := os.WriteFile(prog, []byte("#!/bin/sh\n[ \"$1\" = --help ] && echo 'usage: stand-in --flag'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	path, err := writeManPage(prog, "9.8.7", dir)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	page, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(page), `usage: stand\-in \-\-flag`) {
		t.Fatalf("man page does not hold the program's --help:\n%s", page)
	}

	if err := os.WriteFile(prog, []byte("#!/bin/sh\necho broken >&2\nexit 3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := writeManPage(prog, "9.8.7", dir); err == nil || !strings.Contains(err.Error(), "broken") {
		t.Fatalf("a failing --help gave %v, want an error with its stderr", err)
	}
}

func TestStampedStringReadsAGoString(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil && runtime.GOOS == "windows" {
		t.Skip("builds its stand-in programs with the go command, which is not installed here (under wine it never is)")
	}
	// A small program stamped as the Makefile stamps this one, built for
	// Linux (ELF) and Windows (PE).
	dir := t.TempDir()
	src := "package main\n\nvar Stamp = \"unset\"\n\nfunc main() { println(Stamp) }\n"
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module stamped\n\ngo 1.26\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, goos := range []string{"linux", "windows"} {
		bin := filepath.Join(dir, "prog-"+goos)
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-X main.Stamp=1.2.3-stamp", "-o", bin, ".")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOOS="+goos, "GOARCH=amd64", "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("building the %s stand-in: %v\n%s", goos, err, out)
		}
		got, err := StampedString(bin, "main.Stamp")
		if err != nil {
			t.Fatalf("%s: %v", goos, err)
		}
		if got != "1.2.3-stamp" {
			t.Errorf("%s: StampedString = %q, want 1.2.3-stamp", goos, got)
		}
		if _, err := StampedString(bin, "main.NoSuchVariable"); err == nil {
			t.Errorf("%s: a missing symbol gave no error", goos)
		}
		if err := checkStamp(bin, "1.2.3"); err == nil {
			t.Errorf("%s: checkStamp accepted a program without app.Version", goos)
		}
	}
	if _, err := StampedString(filepath.Join(dir, "main.go"), "main.Stamp"); err == nil {
		t.Error("a text file gave no error")
	}
}

func TestSignerFromEnv(t *testing.T) {
	t.Setenv(envSignCert, "")
	t.Setenv(envSignKey, "")
	if s, err := signerFromEnv(); s != nil || err != nil {
		t.Fatalf("no variables: got %v, %v; want no signer and no error", s, err)
	}
	t.Setenv(envSignCert, "/nonexistent/cert.pem")
	if _, err := signerFromEnv(); err == nil || !strings.Contains(err.Error(), envSignKey) {
		t.Fatalf("only the certificate set: got %v, want an error naming %s", err, envSignKey)
	}
	t.Setenv(envSignKey, "/nonexistent/key.pem")
	if _, err := signerFromEnv(); err == nil {
		t.Fatal("missing files gave no error")
	}
}

// The example config that the packages install is one the program
// accepts: config.Load reads it as the program does, and librdkafka takes
// every setting (it rejects unknown ones when the consumer is made, before
// connecting).
func TestExampleConfigIsValid(t *testing.T) {
	f, err := config.Load("../example.config", func(name string) (string, bool) {
		if name == "KAFKA_BOOTSTRAP_SERVERS" {
			return "127.0.0.1:1", true
		}
		return "", false
	})
	if err != nil {
		t.Fatal(err)
	}
	settings, err := f.Consumer()
	if err != nil {
		t.Fatal(err)
	}
	if settings.GroupID == "" || settings.GroupID == "create_new" {
		t.Errorf("the example's group.id is %q; a service needs a fixed one to resume after a restart", settings.GroupID)
	}
	cm := kafka.ConfigMap{"group.id": settings.GroupID}
	for k, v := range settings.Kafka {
		cm[k] = v
	}
	c, err := kafka.NewConsumer(&cm)
	if err != nil {
		t.Fatalf("librdkafka rejects the example config: %v", err)
	}
	c.Close()
}

// example.env holds what the unit's ExecStart needs, as KEY=value lines
// (systemd's EnvironmentFile syntax, no shell).
func TestExampleEnv(t *testing.T) {
	b, err := os.ReadFile("../linux/example.env")
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || strings.ContainsAny(k, " \t$") {
			t.Errorf("not a KEY=value line: %q", line)
			continue
		}
		keys[k] = v
	}
	for _, k := range []string{"OUTPUT_DIR", "TOPIC", "KAFKA_BOOTSTRAP_SERVERS"} {
		if keys[k] == "" {
			t.Errorf("example.env does not set %s", k)
		}
	}
}
