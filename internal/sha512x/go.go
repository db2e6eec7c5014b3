//go:build !(cgo && !dynamic && ((linux && (amd64 || arm64)) || (windows && amd64)))

package sha512x

import "hash"

// newOpenSSL has no OpenSSL to call here: librdkafka is linked dynamically
// or, as on macOS, bundled without it.
func newOpenSSL() hash.Hash { return nil }
