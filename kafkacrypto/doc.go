// Package kafkacrypto reads topics encrypted with KafkaCrypto
// (tmcqueen-materials/kafkacrypto, the library OpenMSIStream uses for its
// [kafkacrypto] config section) as a consumer node: it loads a node's
// provisioned files, asks the topic's producer nodes for the keys over the
// side topics <root>.reqs, <root>.subs and <root>.keys, checks the chain of
// trust of every answer, and opens encrypted message keys and values.
//
// It is written from the protocol as kafkacrypto 0.9.11 speaks it (see
// docs/kafkacrypto.md), with golang.org/x/crypto and MessagePack. It never
// produces or encrypts data, and it supports the classic key types only:
// Ed25519 signing keys (type 1) and X25519 key exchange (type 1); the
// post-quantum types (SLH-DSA, sntrup761, ML-KEM) that kafkacrypto offers
// with liboqs are not implemented.
//
// Files by concern:
//   - blake2b.go: BLAKE2b with salt and personalization (libsodium's
//     crypto_generichash_blake2b_salt_personal).
//   - derive.go: the per-message key and nonce of KafkaCrypto's KeyGenerator.
//   - value.go: the encrypted key/value format (0x01, then [key index, salt,
//     secretbox]).
//   - msgpack.go: MessagePack as Python's msgpack.unpackb(raw=True) sees it.
//   - chain.go, poison.go: chains of trust (process_chain).
//   - node.go, nodeconfig.go: a node's .config and .crypto files.
//   - exchange.go: key requests and answers.
//   - client.go, keyring.go: the key-exchange client over Kafka.
package kafkacrypto
