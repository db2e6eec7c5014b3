package kafkacrypto

import (
	"encoding/binary"
	"errors"
	"math/bits"
)

// BLAKE2b (RFC 7693) with the salt and personalization fields of its
// parameter block, as libsodium's crypto_generichash_blake2b_salt_personal
// computes it. golang.org/x/crypto/blake2b fills only the digest and key
// lengths of the parameter block, so KafkaCrypto's key derivation needs this.

const (
	blake2bBlockSize   = 128
	blake2bMaxSize     = 64
	blake2bMaxKeySize  = 64
	blake2bSaltSize    = 16
	blake2bPersonalLen = 16
)

var blake2bIV = [8]uint64{
	0x6a09e667f3bcc908, 0xbb67ae8584caa73b, 0x3c6ef372fe94f82b, 0xa54ff53a5f1d36f1,
	0x510e527fade682d1, 0x9b05688c2b3e6c1f, 0x1f83d9abfb41bd6b, 0x5be0cd19137e2179,
}

var blake2bSigma = [12][16]byte{
	{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
	{14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
	{11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4},
	{7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8},
	{9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13},
	{2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9},
	{12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11},
	{13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10},
	{6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5},
	{10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0},
	{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
	{14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
}

// blake2bSaltPersonal returns the outLen-byte BLAKE2b hash of msg, keyed with
// key (may be empty), with the given 16-byte salt and personalization (nil
// means all zeros, as in libsodium).
func blake2bSaltPersonal(msg, key, salt, personal []byte, outLen int) ([]byte, error) {
	switch {
	case outLen < 1 || outLen > blake2bMaxSize:
		return nil, errors.New("blake2b: output length must be 1..64")
	case len(key) > blake2bMaxKeySize:
		return nil, errors.New("blake2b: key longer than 64 bytes")
	case salt != nil && len(salt) != blake2bSaltSize:
		return nil, errors.New("blake2b: salt must be 16 bytes")
	case personal != nil && len(personal) != blake2bPersonalLen:
		return nil, errors.New("blake2b: personalization must be 16 bytes")
	}
	var param [64]byte
	param[0] = byte(outLen)
	param[1] = byte(len(key))
	param[2] = 1 // fanout
	param[3] = 1 // depth
	copy(param[32:48], salt)
	copy(param[48:64], personal)
	var h [8]uint64
	for i := range h {
		h[i] = blake2bIV[i] ^ binary.LittleEndian.Uint64(param[8*i:])
	}

	// The key, padded to a block, is the first block; then the message.
	// The last block (possibly empty only when there is neither key nor
	// message) is compressed with the final flag.
	data := msg
	if len(key) > 0 {
		block := make([]byte, blake2bBlockSize, blake2bBlockSize+len(msg))
		copy(block, key)
		data = append(block, msg...)
	}
	var t uint64 // bytes counted so far (messages here are far below 2^64)
	for len(data) > blake2bBlockSize {
		t += blake2bBlockSize
		blake2bCompress(&h, data[:blake2bBlockSize], t, false)
		data = data[blake2bBlockSize:]
	}
	var last [blake2bBlockSize]byte
	copy(last[:], data)
	t += uint64(len(data))
	blake2bCompress(&h, last[:], t, true)

	var out [blake2bMaxSize]byte
	for i := range h {
		binary.LittleEndian.PutUint64(out[8*i:], h[i])
	}
	return append([]byte(nil), out[:outLen]...), nil
}

func blake2bCompress(h *[8]uint64, block []byte, t uint64, final bool) {
	var m [16]uint64
	for i := range m {
		m[i] = binary.LittleEndian.Uint64(block[8*i:])
	}
	var v [16]uint64
	copy(v[:8], h[:])
	copy(v[8:], blake2bIV[:])
	v[12] ^= t // the high word of the counter stays zero
	if final {
		v[14] = ^v[14]
	}
	g := func(a, b, c, d int, x, y uint64) {
		v[a] = v[a] + v[b] + x
		v[d] = bits.RotateLeft64(v[d]^v[a], -32)
		v[c] = v[c] + v[d]
		v[b] = bits.RotateLeft64(v[b]^v[c], -24)
		v[a] = v[a] + v[b] + y
		v[d] = bits.RotateLeft64(v[d]^v[a], -16)
		v[c] = v[c] + v[d]
		v[b] = bits.RotateLeft64(v[b]^v[c], -63)
	}
	for r := range 12 {
		s := &blake2bSigma[r]
		g(0, 4, 8, 12, m[s[0]], m[s[1]])
		g(1, 5, 9, 13, m[s[2]], m[s[3]])
		g(2, 6, 10, 14, m[s[4]], m[s[5]])
		g(3, 7, 11, 15, m[s[6]], m[s[7]])
		g(0, 5, 10, 15, m[s[8]], m[s[9]])
		g(1, 6, 11, 12, m[s[10]], m[s[11]])
		g(2, 7, 8, 13, m[s[12]], m[s[13]])
		g(3, 4, 9, 14, m[s[14]], m[s[15]])
	}
	for i := range h {
		h[i] ^= v[i] ^ v[i+8]
	}
}
