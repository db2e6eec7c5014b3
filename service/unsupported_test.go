package service

import (
	"errors"
	"testing"
)

func TestUnsupportedWarning(t *testing.T) {
	if w := Unsupported(nil).Warning("lab"); w != "" {
		t.Errorf("nothing missing: %q", w)
	}
	level := errors.New("Invalid level.")
	u := Unsupported{
		{"restarting a service that stopped with an error", "is restarted after a crash only", level},
		{"delayed automatic start", "starts with Windows, perhaps before the network is up", level},
	}
	want := "This Windows service manager does not support restarting a service that stopped with an error nor delayed automatic start (Invalid level): service lab runs without, so it is restarted after a crash only and starts with Windows, perhaps before the network is up"
	if got := u.Warning("lab"); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
