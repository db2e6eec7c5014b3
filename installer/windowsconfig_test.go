package installer

import (
	"reflect"
	"testing"
)

func TestWindowsConfig(t *testing.T) {
	t.Parallel()
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
		"OnFailure":              "restart",
		"OnFailureDelayDuration": "10s",
		"OnFailureResetPeriod":   86400,
	}
	// Asked of kardianos, delayed start makes CreateService fail where
	// the service manager lacks it (wine's); ConfigureSelf sets it.
	if v, ok := c.Option["DelayedAutoStart"]; ok {
		t.Errorf("DelayedAutoStart = %v given to kardianos/service", v)
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
