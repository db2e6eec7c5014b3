package kafkacrypto

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"

	"golang.org/x/crypto/nacl/secretbox"
)

// Version1 is the first byte of every KafkaCrypto-encrypted key or value.
const Version1 = 0x01

// ErrNotEncrypted: the bytes are not in KafkaCrypto's format at all (no
// 0x01 first, or not the 3-item array after it). kafkacrypto calls such a
// message never decryptable.
var ErrNotEncrypted = errors.New("not a KafkaCrypto-encrypted message")

// ErrWrongKey: the message has the layout of an encrypted one, but the key
// of its index does not open it (tampered, or a producer bug).
var ErrWrongKey = errors.New("the key of its key index does not open it")

// KeyIndex names one topic secret of one producer node. On the wire it is
// usually 32 bytes (a hash of the producer's key and its ratchet counter),
// an integer for producers provisioned with mgmt_long_keyindex off.
type KeyIndex struct {
	id  string // comparable identity: kind byte, then the bytes or the number
	raw any    // []byte, int64 or uint64, as decoded; packed into requests
}

func keyIndexOf(v any) (KeyIndex, error) {
	switch x := v.(type) {
	case []byte:
		return KeyIndex{id: "b" + string(x), raw: x}, nil
	case int64:
		return KeyIndex{id: "i" + strconv.FormatInt(x, 10), raw: x}, nil
	case uint64:
		return KeyIndex{id: "i" + strconv.FormatUint(x, 10), raw: x}, nil
	}
	return KeyIndex{}, fmt.Errorf("key index: expected bytes or an integer, found %s", typeName(v))
}

// String is short and safe to log: a key index is public.
func (k KeyIndex) String() string {
	if b, ok := k.raw.([]byte); ok {
		s := hex.EncodeToString(b)
		if len(s) > 16 {
			s = s[:16]
		}
		return s
	}
	return fmt.Sprint(k.raw)
}

// ID identifies the key index (for maps); it is not for display.
func (k KeyIndex) ID() string { return k.id }

// IsZero reports whether k is the zero KeyIndex.
func (k KeyIndex) IsZero() bool { return k.id == "" }

// Envelope is a parsed encrypted key or value.
type Envelope struct {
	KeyIndex KeyIndex
	Salt     []byte
	Box      []byte // secretbox: 16-byte Poly1305 tag, then the ciphertext
}

// ParseEnvelope reads KafkaCrypto's encrypted format: the byte 0x01, then a
// MessagePack array of the key index, a salt of at most 16 bytes and the
// secretbox. Anything else is ErrNotEncrypted (wrapped with the reason).
func ParseEnvelope(b []byte) (*Envelope, error) {
	if len(b) == 0 || b[0] != Version1 {
		return nil, ErrNotEncrypted
	}
	v, err := unpack(b[1:])
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotEncrypted, err)
	}
	items, ok := v.([]any)
	if !ok || len(items) != 3 {
		return nil, fmt.Errorf("%w: expected an array of 3 items after 0x01", ErrNotEncrypted)
	}
	ki, err := keyIndexOf(items[0])
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotEncrypted, err)
	}
	salt, err := asBytes(items[1], "salt")
	if err == nil && len(salt) > saltSize {
		err = fmt.Errorf("salt has %d bytes, at most %d", len(salt), saltSize)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotEncrypted, err)
	}
	box, err := asBytes(items[2], "ciphertext")
	if err == nil && len(box) < secretbox.Overhead {
		err = errors.New("ciphertext shorter than its authentication tag")
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotEncrypted, err)
	}
	return &Envelope{KeyIndex: ki, Salt: salt, Box: box}, nil
}

// Open decrypts the envelope with the topic secret of its key index.
func (e *Envelope) Open(secret []byte, part Part) ([]byte, error) {
	key, nonce, err := deriveKeyNonce(secret, e.Salt, part)
	if err != nil {
		return nil, err
	}
	out, ok := secretbox.Open(make([]byte, 0, len(e.Box)-secretbox.Overhead), e.Box, nonce, key)
	if !ok {
		return nil, ErrWrongKey
	}
	return out, nil
}
