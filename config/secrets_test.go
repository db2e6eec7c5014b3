package config

import (
	"reflect"
	"testing"
)

func TestIsSecret(t *testing.T) {
	t.Parallel()
	for key, want := range map[string]bool{
		"sasl.password":                              true,
		"SASL.Password":                              true,
		"ssl.key.password":                           true,
		"ssl.keystore.password":                      true,
		"sasl.oauthbearer.client.secret":             true,
		"sasl.oauthbearer.config":                    true,
		"ssl.key.pem":                                true,
		"ssl_key_password":                           true,
		"secret_key_id":                              true,
		"my-passphrase":                              true,
		"sasl.oauthbearer.assertion.private.key.pem": true,
		"sasl.username":                              false,
		"bootstrap.servers":                          false,
		"ssl.certificate.pem":                        false,
		"ssl.key.location":                           false,
		"group.id":                                   false,
	} {
		if got := IsSecret(key); got != want {
			t.Errorf("IsSecret(%q) = %v, want %v", key, got, want)
		}
	}
}

func TestRedacted(t *testing.T) {
	t.Parallel()
	settings := map[string]string{"sasl.password": "p", "sasl.username": "u", "ssl.key.password": ""}
	got := Redacted(settings)
	want := map[string]string{"sasl.password": "[redacted]", "sasl.username": "u", "ssl.key.password": ""}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Redacted() = %q, want %q", got, want)
	}
	if settings["sasl.password"] != "p" {
		t.Error("Redacted changed its argument")
	}
}

func TestRedactSecretValues(t *testing.T) {
	t.Parallel()
	settings := map[string]string{"sasl.password": "abc", "ssl.key.password": "abcdef", "client.id": "abc"}
	if got := redactSecretValues("x abcdef y abc", settings); got != "x [redacted] y [redacted]" {
		t.Errorf("redactSecretValues = %q", got)
	}
}
