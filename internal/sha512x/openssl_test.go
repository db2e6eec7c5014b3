//go:build cgo && !dynamic && (linux || windows) && amd64

package sha512x

import "testing"

// The declared struct must be OpenSSL's, or SHA512_Init writes past it.
func TestStateIsOpenSSLsStruct(t *testing.T) {
	if stateSize != 216 {
		t.Fatalf("sizeof(SHA512_CTX) = %d, OpenSSL's is 216", stateSize)
	}
}
