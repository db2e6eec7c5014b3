package kafkacrypto

import (
	"bytes"
	"errors"
	"testing"

	"golang.org/x/crypto/nacl/secretbox"
)

// The encrypted keys and values were made as KafkaCrypto's Serializer makes
// them, and opened by its Deserializer's code before being written.
func TestOpenKafkaCryptoValues(t *testing.T) {
	v := loadVectors(t)
	if len(v.Values) == 0 {
		t.Fatal("no value vectors")
	}
	for i, c := range v.Values {
		env, err := ParseEnvelope(unhex(t, c.Wire))
		if err != nil {
			t.Fatalf("vector %d: %v", i, err)
		}
		want, _ := keyIndexOf(unhex(t, c.KeyIndex))
		if env.KeyIndex.id != want.id || !bytes.Equal(env.Salt, unhex(t, c.Salt)) {
			t.Errorf("vector %d: key index %v salt %x", i, env.KeyIndex, env.Salt)
		}
		part := ValuePart
		if c.Kind == "key" {
			part = KeyPart
		}
		got, err := env.Open(unhex(t, c.Secret), part)
		if err != nil || !bytes.Equal(got, unhex(t, c.Plaintext)) {
			t.Errorf("vector %d (%s): got %x, %v", i, c.Kind, got, err)
		}
		// The other part's key must not open it: keys and values are
		// derived with different personalizations.
		if _, err := env.Open(unhex(t, c.Secret), 1-part); !errors.Is(err, ErrWrongKey) {
			t.Errorf("vector %d opened as the wrong part: %v", i, err)
		}
		wrong := unhex(t, c.Secret)
		wrong[0] ^= 1
		if _, err := env.Open(wrong, part); !errors.Is(err, ErrWrongKey) {
			t.Errorf("vector %d opened with a wrong secret: %v", i, err)
		}
	}
}

// A secretbox sealed here with a derived key opens, and a flipped bit in
// the tag or the ciphertext does not.
func TestSecretboxTamper(t *testing.T) {
	secret := bytes.Repeat([]byte{3}, 32)
	salt := []byte{1, 2, 3}
	key, nonce, err := deriveKeyNonce(secret, salt, ValuePart)
	if err != nil {
		t.Fatal(err)
	}
	box := secretbox.Seal(nil, []byte("chunk"), nonce, key)
	wire := append([]byte{Version1}, pack([]any{[]byte("ki"), salt, box})...)
	env, err := ParseEnvelope(wire)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := env.Open(secret, ValuePart); err != nil || string(got) != "chunk" {
		t.Fatalf("got %q, %v", got, err)
	}
	for _, i := range []int{0, 15, 16, len(box) - 1} {
		env.Box = bytes.Clone(box)
		env.Box[i] ^= 0x80
		if _, err := env.Open(secret, ValuePart); !errors.Is(err, ErrWrongKey) {
			t.Errorf("flipped byte %d: %v", i, err)
		}
	}
}

// Malformed encrypted values are errors, never a crash.
func TestParseEnvelopeMalformed(t *testing.T) {
	box := make([]byte, secretbox.Overhead)
	for _, c := range []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"plain chunk", []byte{0x9a}},
		{"version only", []byte{Version1}},
		{"version 2", append([]byte{2}, pack([]any{[]byte("k"), []byte("s"), box})...)},
		{"not an array", append([]byte{Version1}, pack([]byte("x"))...)},
		{"2 items", append([]byte{Version1}, pack([]any{[]byte("k"), []byte("s")})...)},
		{"4 items", append([]byte{Version1}, pack([]any{[]byte("k"), []byte("s"), box, box})...)},
		{"float key index", append([]byte{Version1}, pack([]any{1.5, []byte("s"), box})...)},
		{"salt too long", append([]byte{Version1}, pack([]any{[]byte("k"), make([]byte, 17), box})...)},
		{"salt a number", append([]byte{Version1}, pack([]any{[]byte("k"), int64(3), box})...)},
		{"box too short", append([]byte{Version1}, pack([]any{[]byte("k"), []byte("s"), box[:15]})...)},
		{"box nil", append([]byte{Version1}, pack([]any{[]byte("k"), []byte("s"), nil})...)},
		{"trailing bytes", append(append([]byte{Version1}, pack([]any{[]byte("k"), []byte("s"), box})...), 0)},
		{"truncated", append([]byte{Version1}, pack([]any{[]byte("k"), []byte("s"), box})...)[:10]},
		{"array claims 2^32 items", []byte{Version1, 0xdd, 0xff, 0xff, 0xff, 0xff}},
		{"deep nesting", append([]byte{Version1}, bytes.Repeat([]byte{0x91}, 100000)...)},
		{"map", []byte{Version1, 0x81, 0xa1, 'a', 0x01}},
	} {
		if env, err := ParseEnvelope(c.b); !errors.Is(err, ErrNotEncrypted) {
			t.Errorf("%s: got %+v, %v", c.name, env, err)
		}
	}
	// An integer key index (producers without long key indexes) is valid.
	if _, err := ParseEnvelope(append([]byte{Version1}, pack([]any{int64(7), []byte("s"), box})...)); err != nil {
		t.Errorf("integer key index: %v", err)
	}
}

func FuzzParseEnvelope(f *testing.F) {
	v := loadVectors(f)
	for _, c := range v.Values {
		f.Add(unhex(f, c.Wire))
	}
	f.Add([]byte{Version1, 0x93, 0x07, 0xc4, 0x00, 0xc4, 0x00})
	secret := bytes.Repeat([]byte{9}, 32)
	f.Fuzz(func(t *testing.T, b []byte) {
		env, err := ParseEnvelope(b)
		if err != nil {
			if !errors.Is(err, ErrNotEncrypted) {
				t.Fatalf("error not marked as ErrNotEncrypted: %v", err)
			}
			return
		}
		if len(env.Salt) > saltSize || len(env.Box) < secretbox.Overhead || env.KeyIndex.IsZero() {
			t.Fatalf("accepted a bad envelope: %+v", env)
		}
		_, _ = env.Open(secret, KeyPart)
		_ = env.KeyIndex.String()
	})
}
