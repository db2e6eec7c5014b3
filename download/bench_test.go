package download

import (
	"crypto/sha512"
	"math/rand/v2"
	"testing"

	"github.com/tinylib/msgp/msgp"
)

// BenchmarkDecodeChunk decodes a 512 KiB chunk, the uploader's default.
func BenchmarkDecodeChunk(b *testing.B) {
	data := randomBytes(1, 512<<10)
	sum := sha512.Sum512(data)
	v := msgp.AppendArrayHeader(nil, 10)
	v = msgp.AppendString(v, "scan.tif")
	v = msgp.AppendBytes(v, sum[:])
	v = msgp.AppendBytes(v, sum[:])
	v = msgp.AppendUint64(v, 1<<30)
	v = msgp.AppendUint64(v, 2049)
	v = msgp.AppendUint64(v, 4096)
	v = msgp.AppendString(v, "raw/2024")
	v = msgp.AppendString(v, "")
	v = msgp.AppendBytes(v, data)
	v = msgp.AppendFloat64(v, 1700000000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeChunk(v); err != nil {
			b.Fatal(err)
		}
	}
}

func randomBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}
