package kafkacrypto

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
)

// publicKey is a key as kafkacrypto's get_pks reads one: a versioned
// signing key (1 = Ed25519; 4 = Ed25519 + SLH-DSA, which this package can
// compare but not verify) or a key-exchange key. Bare 32 bytes are an
// Ed25519 key ("implicit version 1"), which kafkacrypto also uses for X25519
// keys in key-exchange messages.
type publicKey struct {
	version int
	kem     bool   // a key-exchange key of a version other than 1
	key     []byte // version 1: the 32 bytes
	parts   [][]byte
}

func (k publicKey) equal(o publicKey) bool {
	if k.version != o.version || k.kem != o.kem || !bytes.Equal(k.key, o.key) || len(k.parts) != len(o.parts) {
		return false
	}
	for i := range k.parts {
		if !bytes.Equal(k.parts[i], o.parts[i]) {
			return false
		}
	}
	return true
}

func (k publicKey) String() string {
	if k.version == 1 {
		return fmt.Sprintf("Ed25519 %x", k.key)
	}
	return fmt.Sprintf("key type %d", k.version)
}

// open checks a signed message (kafkacrypto's crypto_sign_open: a 64-byte
// Ed25519 signature, then the message) and returns the message.
func (k publicKey) open(signed []byte) ([]byte, error) {
	if k.kem || k.version != 1 {
		return nil, fmt.Errorf("cannot check signatures of %s (only Ed25519 is supported)", k)
	}
	if len(signed) < ed25519.SignatureSize {
		return nil, errors.New("signed message too short")
	}
	msg := signed[ed25519.SignatureSize:]
	if !ed25519.Verify(ed25519.PublicKey(k.key), msg, signed[:ed25519.SignatureSize]) {
		return nil, errors.New("bad signature")
	}
	return msg, nil
}

// keySet is get_pks's result: one key, or a list of keys (leaf certificates
// of key-exchange messages carry a list).
type keySet struct {
	one  *publicKey
	list []publicKey
}

func parseKeys(v any) (keySet, error) {
	switch x := v.(type) {
	case []any:
		if len(x) > 0 {
			if ver, ok := x[0].(int64); ok {
				k, err := parseVersioned(ver, x)
				return keySet{one: &k}, err
			}
		}
		var ks keySet
		ks.list = []publicKey{} // an empty list stays a list
		for _, item := range x {
			sub, err := parseKeys(item)
			if err != nil {
				return keySet{}, err
			}
			if sub.one == nil {
				return keySet{}, errors.New("public key: nested key lists")
			}
			ks.list = append(ks.list, *sub.one)
		}
		return ks, nil
	case []byte:
		if len(x) == 32 {
			return keySet{one: &publicKey{version: 1, key: x}}, nil
		}
		inner, err := unpack(x) // "implicit msgpacked bytes"
		if err != nil {
			return keySet{}, fmt.Errorf("public key: %v", err)
		}
		arr, ok := inner.([]any)
		if !ok || len(arr) == 0 {
			return keySet{}, errors.New("public key: not a versioned key")
		}
		ver, ok := arr[0].(int64)
		if !ok {
			return keySet{}, errors.New("public key: not a versioned key")
		}
		k, err := parseVersioned(ver, arr)
		return keySet{one: &k}, err
	}
	return keySet{}, fmt.Errorf("public key: unexpected %s", typeName(v))
}

func parseVersioned(ver int64, x []any) (publicKey, error) {
	if len(x) != 2 {
		return publicKey{}, errors.New("public key: versioned key is not [version, keys]")
	}
	switch ver {
	case 1:
		b, ok := x[1].([]byte)
		if !ok {
			return publicKey{}, errors.New("public key: version 1 key is not bytes")
		}
		return publicKey{version: 1, key: b}, nil
	case 2, 3, 4, 5, 6:
		parts, ok := x[1].([]any)
		if !ok {
			return publicKey{}, fmt.Errorf("public key: version %d key is not a list", ver)
		}
		k := publicKey{version: int(ver), kem: ver != 4}
		for _, p := range parts {
			b, ok := p.([]byte)
			if !ok {
				return publicKey{}, fmt.Errorf("public key: version %d key part is not bytes", ver)
			}
			k.parts = append(k.parts, b)
		}
		return k, nil
	}
	return publicKey{}, fmt.Errorf("public key: unknown key version %d", ver)
}
