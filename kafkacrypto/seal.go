package kafkacrypto

import "golang.org/x/crypto/nacl/secretbox"

// Seal encrypts plaintext as a KafkaCrypto producer does (the 0x01 format
// of ParseEnvelope), with the topic secret of key index ki and a salt of
// at most 16 bytes. This program never produces encrypted data; Seal is
// for tests that need encrypted messages without a Python producer.
func Seal(secret, ki, salt, plaintext []byte, part Part) ([]byte, error) {
	key, nonce, err := deriveKeyNonce(secret, salt, part)
	if err != nil {
		return nil, err
	}
	box := secretbox.Seal(nil, plaintext, nonce, key)
	return append([]byte{Version1}, pack([]any{ki, salt, box})...), nil
}
