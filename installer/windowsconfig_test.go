package installer

import (
	"reflect"
	"testing"
)

func TestWindowsConfig(t *testing.T) {
	d := testDefinition(t)
	d.User = "labuser"
	c := windowsConfig(d)
	if c.Name != "labdl" || c.Executable != d.Executable || !reflect.DeepEqual(c.Arguments, d.Args) || !reflect.DeepEqual(c.EnvVars, d.Env) {
		t.Errorf("config %+v", c)
	}
	if c.UserName != `.\labuser` {
		t.Errorf("a local account needs the .\\ prefix: %q", c.UserName)
	}
	if c.Description != "Rebuilds files in "+d.OutputDir {
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
