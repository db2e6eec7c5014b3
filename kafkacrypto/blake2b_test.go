package kafkacrypto

import (
	"bytes"
	"encoding/hex"
	"testing"

	"golang.org/x/crypto/blake2b"
)

// The vectors come from libsodium's crypto_generichash_blake2b_salt_personal.
func TestBlake2bSaltPersonalVectors(t *testing.T) {
	v := loadVectors(t)
	if len(v.Blake2b) < 20 {
		t.Fatalf("only %d vectors", len(v.Blake2b))
	}
	for i, c := range v.Blake2b {
		var salt, personal []byte
		if c.Salt != "" {
			salt = unhex(t, c.Salt)
		}
		if c.Personal != "" {
			personal = unhex(t, c.Personal)
		}
		got, err := blake2bSaltPersonal(unhex(t, c.Msg), unhex(t, c.Key), salt, personal, c.Outlen)
		if err != nil {
			t.Fatalf("vector %d: %v", i, err)
		}
		if hex.EncodeToString(got) != c.Hash {
			t.Errorf("vector %d (msg %d bytes, key %d bytes, out %d): got %x, want %s",
				i, len(c.Msg)/2, len(c.Key)/2, c.Outlen, got, c.Hash)
		}
	}
}

// Without salt and personalization the parameter block is plain BLAKE2b's,
// so x/crypto must agree; this covers message lengths around block edges
// that the vectors do not.
func TestBlake2bMatchesXCrypto(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	for n := range 400 {
		msg := bytes.Repeat([]byte{byte(n)}, n)
		h, _ := blake2b.New(64, key)
		h.Write(msg)
		want := h.Sum(nil)
		got, err := blake2bSaltPersonal(msg, key, nil, nil, 64)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("len %d: got %x (%v), want %x", n, got, err, want)
		}
	}
}

func TestBlake2bRejectsBadParameters(t *testing.T) {
	for _, c := range []struct {
		name                string
		key, salt, personal []byte
		out                 int
	}{
		{"no output", nil, nil, nil, 0},
		{"output too long", nil, nil, nil, 65},
		{"key too long", make([]byte, 65), nil, nil, 32},
		{"short salt", nil, make([]byte, 15), nil, 32},
		{"long personal", nil, nil, make([]byte, 17), 32},
	} {
		if _, err := blake2bSaltPersonal(nil, c.key, c.salt, c.personal, c.out); err == nil {
			t.Errorf("%s: accepted", c.name)
		}
	}
}
