//go:build !windows

package installer

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestQuoteExecArg(t *testing.T) {
	for in, want := range map[string]string{
		"/usr/bin/x":       `"/usr/bin/x"`,
		"/data/lab data":   `"/data/lab data"`,
		"100%":             `"100%%"`,
		"$HOME":            `"$$HOME"`,
		`say "hi"`:         `"say \"hi\""`,
		`C:\dir`:           `"C:\\dir"`,
		"a\tb":             `"a\tb"`,
		"%i-${X}-\\\"-end": `"%%i-$${X}-\\\"-end"`,
	} {
		if got := quoteExecArg(in); got != want {
			t.Errorf("quoteExecArg(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestEnvFileRoundTrip(t *testing.T) {
	env := map[string]string{"A": `x"y`, "B": `back\slash`, "C": "$dollar`tick`", "D": "", "E": "with spaces  and #"}
	path := filepath.Join(t.TempDir(), "x.env")
	d := Definition{Env: env}
	if err := os.WriteFile(path, []byte(envFileContent(env, d.EnvNames())), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := readEnvFile(path)
	if err != nil || !reflect.DeepEqual(got, env) {
		t.Errorf("read back %q, %v; want %q", got, err, env)
	}
}

func TestWindowsConfig(t *testing.T) {
	d := Definition{
		Name:        "labdl",
		Description: "Rebuilds files\nin D:\\lab data",
		Executable:  `C:\Program Files\DataFileDownloadDirectory\DataFileDownloadDirectory.exe`,
		Args:        []string{"run", `D:\lab data`, "--config", `C:\lab\lab.config`, "--service_name", "labdl"},
		Env:         map[string]string{"KAFKA_PASSWORD": "secret"},
		User:        "labuser",
	}
	c := windowsConfig(d)
	if c.Name != "labdl" || c.Executable != d.Executable || !reflect.DeepEqual(c.Arguments, d.Args) || !reflect.DeepEqual(c.EnvVars, d.Env) {
		t.Errorf("config %+v", c)
	}
	if c.UserName != `.\labuser` {
		t.Errorf("a local account needs the .\\ prefix: %q", c.UserName)
	}
	if c.Description != `Rebuilds files in D:\lab data` {
		t.Errorf("description %q", c.Description)
	}
	// The exact Go types kardianos/service type-asserts; any other type
	// falls back to its default without a word.
	want := map[string]any{
		"StartType":              "automatic",
		"DelayedAutoStart":       true,
		"OnFailure":              "restart",
		"OnFailureDelayDuration": "10s",
		"OnFailureResetPeriod":   86400,
	}
	for k, v := range want {
		if got := c.Option[k]; got != v || reflect.TypeOf(got) != reflect.TypeOf(v) {
			t.Errorf("option %s = %#v (%T), want %#v (%T)", k, got, got, v, v)
		}
	}
	for _, u := range []string{`DOMAIN\lab`, "lab@example.org", `NT SERVICE\labdl`} {
		d.User = u
		if got := windowsConfig(d).UserName; got != u {
			t.Errorf("account %q became %q", u, got)
		}
	}
	d.User = ""
	if got := windowsConfig(d).UserName; got != "" {
		t.Errorf("LocalSystem became %q", got)
	}
}
