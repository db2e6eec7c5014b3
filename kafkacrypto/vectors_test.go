package kafkacrypto

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"
)

// vectors are reference values made by libsodium and kafkacrypto itself
// (test/python/kc_vectors.py), so that these tests check this package
// against the implementation it must interoperate with.
type vectors struct {
	Blake2b []struct {
		Msg, Key, Salt, Personal, Hash string
		Outlen                         int
	} `json:"blake2b_salt_personal"`
	Values []struct {
		Secret, Kind, Wire, Plaintext, Salt string
		KeyIndex                            string `json:"key_index"`
	}
	Chains []struct {
		Name, Chain         string
		Topic, Usage        *string
		Allowlist, Denylist []string
		Now, Maxage         float64
		OK                  bool
	}
	Exchange struct {
		Root              string
		Now               float64
		ConsumerAllowlist []string `json:"consumer_allowlist"`
		ConsumerESK       string   `json:"consumer_esk"`
		Random0           string
		Answer            string
		Keys              map[string]string
	}
}

func loadVectors(t testing.TB) *vectors {
	t.Helper()
	raw, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v vectors
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	return &v
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func unhexAll(t testing.TB, ss []string) [][]byte {
	out := make([][]byte, len(ss))
	for i, s := range ss {
		out[i] = unhex(t, s)
	}
	return out
}
