//go:build !windows

package installer

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestQuoteExecArg(t *testing.T) {
	t.Parallel()
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
	t.Parallel()
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
