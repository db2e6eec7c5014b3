package config

import (
	"sort"
	"strings"
)

// redactedText replaces secret values in logs and messages.
const redactedText = "[redacted]"

// secretWords in a setting's name mark its value as secret. The list errs
// on the side of hiding: a redacted token endpoint URL costs a look into the
// file, a printed password costs a credential.
var secretWords = []string{"password", "passwd", "secret", "passphrase", "token", "credential", "private"}

// secretNames are secret settings whose names contain none of secretWords:
// librdkafka's inline private key and OAUTHBEARER config string, which can
// hold a client secret, and the usual spellings of API keys.
var secretNames = map[string]bool{
	"ssl.key.pem":             true,
	"ssl.key":                 true,
	"sasl.oauthbearer.config": true,
	"sasl.jaas.config":        true,
	"api.key":                 true,
	"apikey":                  true,
}

// IsSecret reports whether the value of a setting must never be printed:
// sasl.password, ssl.key.password, ssl.keystore.password,
// sasl.oauthbearer.client.secret, ssl.key.pem, anything whose name contains
// "password", "secret", "token", "passphrase", "credential" or "private"...
// Case, "_" and "-" are ignored, so ssl_key_password counts too.
func IsSecret(key string) bool {
	normalized := strings.NewReplacer("_", ".", "-", ".").Replace(strings.ToLower(strings.TrimSpace(key)))
	if secretNames[normalized] {
		return true
	}
	for _, word := range secretWords {
		if strings.Contains(normalized, word) {
			return true
		}
	}
	return false
}

// Redacted returns a copy of settings with secret values replaced by
// "[redacted]", for logging. An empty secret stays empty: it reveals
// nothing and "the password is empty" is worth seeing.
func Redacted(settings map[string]string) map[string]string {
	out := make(map[string]string, len(settings))
	for k, v := range settings {
		if IsSecret(k) && v != "" {
			v = redactedText
		}
		out[k] = v
	}
	return out
}

// redactSecretValues hides every secret value of settings wherever it occurs
// in text; librdkafka's messages may quote values.
func redactSecretValues(text string, settings map[string]string) string {
	var secrets []string
	for k, v := range settings {
		if IsSecret(k) && v != "" {
			secrets = append(secrets, v)
		}
	}
	// Longest first, so that a secret containing another is hidden whole.
	sort.Slice(secrets, func(i, j int) bool { return len(secrets[i]) > len(secrets[j]) })
	for _, secret := range secrets {
		text = strings.ReplaceAll(text, secret, redactedText)
	}
	return text
}
