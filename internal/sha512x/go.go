//go:build !(cgo && !dynamic && (linux || windows) && amd64)

package sha512x

import "hash"

// newOpenSSL has no OpenSSL to call here: librdkafka is linked dynamically,
// bundled without it (macOS), or on a platform where calling it was not
// tested (arm64, whose crypto/sha512 uses the CPU's SHA-512 instructions
// where it has them).
func newOpenSSL() hash.Hash { return nil }
