//go:build cgo && !dynamic && (linux || windows) && amd64

package sha512x

/*
#include <stddef.h>

// OpenSSL's SHA512_CTX (openssl/sha.h, unchanged since 0.9.8), declared
// here because the bundle ships no OpenSSL headers.
typedef struct {
	unsigned long long h[8];
	unsigned long long Nl, Nh;
	union {
		unsigned long long d[16];
		unsigned char p[128];
	} u;
	unsigned int num, md_len;
} sha512x_ctx;

int SHA512_Init(sha512x_ctx *c);
int SHA512_Update(sha512x_ctx *c, const void *data, size_t len);
int SHA512_Final(unsigned char *md, sha512x_ctx *c);
*/
import "C"

import (
	"errors"
	"hash"
	"unsafe"

	// The symbols above come from librdkafka's static bundle, which this
	// import links (as the program does anyway).
	_ "github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

const (
	size      = 64
	blockSize = 128
	stateSize = int(unsafe.Sizeof(C.sha512x_ctx{}))
	magic     = "sha512x-openssl\x01"
)

// digest holds a C struct without Go pointers, which cgo lets C write.
type digest struct {
	ctx C.sha512x_ctx
}

func newOpenSSL() hash.Hash {
	d := &digest{}
	d.Reset()
	return d
}

func (d *digest) Reset() { C.SHA512_Init(&d.ctx) }

func (d *digest) Size() int      { return size }
func (d *digest) BlockSize() int { return blockSize }

func (d *digest) Write(p []byte) (int, error) {
	if len(p) > 0 {
		C.SHA512_Update(&d.ctx, unsafe.Pointer(unsafe.SliceData(p)), C.size_t(len(p)))
	}
	return len(p), nil
}

// Sum appends the hash of what was written so far; writing may go on.
func (d *digest) Sum(b []byte) []byte {
	final := d.ctx
	var out [size]byte
	C.SHA512_Final((*C.uchar)(unsafe.Pointer(&out[0])), &final)
	return append(b, out[:]...)
}

func (d *digest) MarshalBinary() ([]byte, error) {
	state := unsafe.Slice((*byte)(unsafe.Pointer(&d.ctx)), stateSize)
	return append([]byte(magic), state...), nil
}

func (d *digest) UnmarshalBinary(b []byte) error {
	if len(b) != len(magic)+stateSize || string(b[:len(magic)]) != magic {
		return errors.New("sha512x: not a state saved by this program's OpenSSL SHA-512")
	}
	copy(unsafe.Slice((*byte)(unsafe.Pointer(&d.ctx)), stateSize), b[len(magic):])
	return nil
}
