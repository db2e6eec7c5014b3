package kafkacrypto

import (
	"errors"
	"fmt"
)

// Part says which part of a Kafka message a key encrypts: KafkaCrypto derives
// different keys for message keys and values from one topic secret.
type Part int

const (
	KeyPart Part = iota
	ValuePart
)

func (p Part) String() string {
	if p == KeyPart {
		return "key"
	}
	return "value"
}

// personal is KafkaCrypto's KeyGenerator context of the part, zero-padded to
// BLAKE2b's 16-byte personalization.
func (p Part) personal() []byte {
	ctx := make([]byte, blake2bPersonalLen)
	copy(ctx, p.String())
	return ctx
}

const (
	secretSize = 32 // a topic secret
	saltSize   = 16 // the per-message salt (a counter in the producer)
	keySize    = 32 // secretbox key
	nonceSize  = 24 // secretbox nonce
)

// deriveKeyNonce is KafkaCrypto's KeyGenerator.generate(salt=salt): BLAKE2b
// of the empty message, keyed with the topic secret, with the message's
// salt and the part as personalization, 56 bytes long; the first 32 are the
// secretbox key, the last 24 its nonce. A salt shorter than 16 bytes is
// zero-padded, as pysodium pads it.
func deriveKeyNonce(secret, salt []byte, part Part) (key *[keySize]byte, nonce *[nonceSize]byte, err error) {
	if len(secret) != secretSize {
		return nil, nil, fmt.Errorf("topic secret has %d bytes, expected %d", len(secret), secretSize)
	}
	if len(salt) > saltSize {
		return nil, nil, errors.New("salt longer than 16 bytes")
	}
	padded := make([]byte, saltSize)
	copy(padded, salt)
	out, err := blake2bSaltPersonal(nil, secret, padded, part.personal(), keySize+nonceSize)
	if err != nil {
		return nil, nil, err
	}
	key, nonce = new([keySize]byte), new([nonceSize]byte)
	copy(key[:], out[:keySize])
	copy(nonce[:], out[keySize:])
	return key, nonce, nil
}
