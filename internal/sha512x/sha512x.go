// Package sha512x gives the SHA-512 that checks whole files: OpenSSL's,
// where the program already links it, else Go's crypto/sha512.
//
// The whole-file hash is most of the program's CPU (half of it and more on
// one file of 2 GiB), and it is one sequential stream per file, so its
// speed bounds how fast a large file can be checked. librdkafka, bundled by
// confluent-kafka-go for Linux and Windows, carries a static OpenSSL whose
// SHA-512 is 12-15 % faster than crypto/sha512 on the amd64 machine
// measured (docs/performance.md). Calling it adds no library to the
// program; the differential tests hold it to crypto/sha512's results.
package sha512x

import (
	"crypto/sha512"
	"hash"
)

// New returns a SHA-512 hash. It implements encoding.BinaryMarshaler and
// encoding.BinaryUnmarshaler, whose state is meant for the same process
// only: OpenSSL's state is not crypto/sha512's.
func New() hash.Hash {
	if h := newOpenSSL(); h != nil {
		return h
	}
	return sha512.New()
}

// Implementation names what New uses: "openssl" or "go".
func Implementation() string {
	if newOpenSSL() != nil {
		return "openssl"
	}
	return "go"
}

// Sum512 returns the SHA-512 of data.
func Sum512(data []byte) (sum [sha512.Size]byte) {
	h := New()
	h.Write(data)
	h.Sum(sum[:0])
	return sum
}
