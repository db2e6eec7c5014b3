package sha512x

import (
	"bytes"
	"crypto/sha512"
	"encoding"
	"math/rand/v2"
	"runtime"
	"testing"
)

// The program's Linux and Windows builds link the bundle and must use its
// OpenSSL: a build tag that stopped matching would silently cost the speed
// this package is for.
func TestOpenSSLOnReleasePlatforms(t *testing.T) {
	release := (runtime.GOOS == "linux" || runtime.GOOS == "windows") && runtime.GOARCH == "amd64"
	if got := Implementation(); linksBundle && release && got != "openssl" {
		t.Fatalf("Implementation() = %q on %s/%s, want openssl", got, runtime.GOOS, runtime.GOARCH)
	}
}

// Every split of a stream into writes gives crypto/sha512's hash, with Sum
// taken along the way (which must not disturb what follows).
func TestMatchesCryptoSHA512(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	data := make([]byte, 3<<20)
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	for trial := range 200 {
		n := rng.IntN(len(data) + 1)
		if trial < 20 {
			n = trial * 61 // around the 128-byte block and the 112-byte padding limit
		}
		got, want := New(), sha512.New()
		for off := 0; off < n; {
			k := min(n-off, splitSize(rng))
			got.Write(data[off : off+k])
			want.Write(data[off : off+k])
			off += k
			if rng.IntN(4) == 0 {
				if g, w := got.Sum(nil), want.Sum(nil); !bytes.Equal(g, w) {
					t.Fatalf("trial %d: Sum after %d of %d bytes differs", trial, off, n)
				}
			}
		}
		if g, w := got.Sum([]byte("prefix")), want.Sum([]byte("prefix")); !bytes.Equal(g, w) {
			t.Fatalf("trial %d (%d bytes): %x, want %x", trial, n, g, w)
		}
		got.Reset()
		got.Write(data[:7])
		if g, w := got.Sum(nil), sha512.Sum512(data[:7]); !bytes.Equal(g, w[:]) {
			t.Fatalf("trial %d: wrong hash after Reset", trial)
		}
	}
}

func splitSize(rng *rand.Rand) int {
	switch rng.IntN(3) {
	case 0:
		return rng.IntN(300)
	case 1:
		return rng.IntN(1 << 20)
	}
	return 512 << 10
}

// A saved state restored into another hash goes on as the original would;
// the storage engine restores one when reading a chunk back fails halfway.
func TestStateRoundTrip(t *testing.T) {
	data := bytes.Repeat([]byte("chunk data "), 50000)
	h := New()
	h.Write(data[:1234567%len(data)])
	state, err := h.(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	h.Write([]byte("a part hashed before a read failed"))
	if err := h.(encoding.BinaryUnmarshaler).UnmarshalBinary(state); err != nil {
		t.Fatal(err)
	}
	h.Write(data[1234567%len(data):])
	if got, want := h.Sum(nil), sha512.Sum512(data); !bytes.Equal(got, want[:]) {
		t.Fatalf("restored state: %x, want %x", got, want)
	}
	if err := h.(encoding.BinaryUnmarshaler).UnmarshalBinary(state[:len(state)-1]); err == nil {
		t.Fatal("a truncated state was accepted")
	}
}

func TestSum512(t *testing.T) {
	for _, n := range []int{0, 1, 111, 112, 128, 65536, 512<<10 + 3} {
		data := bytes.Repeat([]byte{byte(n), 0x9d}, n/2+1)[:n]
		if got, want := Sum512(data), sha512.Sum512(data); got != want {
			t.Fatalf("Sum512 of %d bytes: %x, want %x", n, got, want)
		}
	}
}

func TestSizes(t *testing.T) {
	h := New()
	if h.Size() != sha512.Size || h.BlockSize() != sha512.BlockSize {
		t.Fatalf("Size %d BlockSize %d, want %d and %d", h.Size(), h.BlockSize(), sha512.Size, sha512.BlockSize)
	}
}

var chunk = bytes.Repeat([]byte{0x5a, 0xc3, 0x11, 0x7e}, 128<<10)

func BenchmarkNew(b *testing.B)          { benchmark(b, New()) }
func BenchmarkCryptoSHA512(b *testing.B) { benchmark(b, sha512.New()) }

func benchmark(b *testing.B, h interface{ Write([]byte) (int, error) }) {
	b.SetBytes(int64(len(chunk)))
	for b.Loop() {
		h.Write(chunk)
	}
}
