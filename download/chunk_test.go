package download

import (
	"github.com/openmsi/datafiledownloaddirectory/download/storage"

	"bytes"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tinylib/msgp/msgp"
)

// item is one array element of a hand-built chunk value, so tests can pick
// every encoding a packer might have used.
type item func([]byte) []byte

func str(s string) item    { return func(b []byte) []byte { return msgp.AppendString(b, s) } }
func bin(v []byte) item    { return func(b []byte) []byte { return msgp.AppendBytes(b, v) } }
func binStr(s string) item { return bin([]byte(s)) }
func strBin(v []byte) item { return func(b []byte) []byte { return msgp.AppendStringFromBytes(b, v) } }
func uint64Item(v uint64) item {
	return func(b []byte) []byte { return msgp.AppendUint64(b, v) }
}
func int64Item(v int64) item { return func(b []byte) []byte { return msgp.AppendInt64(b, v) } }
func f64(v float64) item     { return func(b []byte) []byte { return msgp.AppendFloat64(b, v) } }
func f32(v float32) item     { return func(b []byte) []byte { return msgp.AppendFloat32(b, v) } }

// wideUint encodes v as a uint64 even when it is small, as some packers do.
func wideUint(v uint64) item {
	return func(b []byte) []byte {
		b = append(b, 0xcf)
		for i := 7; i >= 0; i-- {
			b = append(b, byte(v>>(8*i)))
		}
		return b
	}
}

func value(items ...item) []byte {
	b := msgp.AppendArrayHeader(nil, uint32(len(items)))
	for _, it := range items {
		b = it(b)
	}
	return b
}

var (
	helloData = []byte("hello")
	helloHash = func() []byte { s := sha512.Sum512(helloData); return s[:] }()
)

// helloItems is hello.txt at the root, one chunk, as the 9-item layout.
func helloItems() []item {
	return []item{str("hello.txt"), bin(helloHash), bin(helloHash), uint64Item(0), uint64Item(1), uint64Item(1), str(""), str(""), bin(helloData)}
}

func TestDecodeChunkLayouts(t *testing.T) {
	tests := []struct {
		name  string
		items []item
		mtime float64
	}{
		{"9 items", helloItems(), 0},
		{"10 items with mtime", append(helloItems(), f64(1700000000.5)), 1700000000.5},
		{"10 items mtime zero is unknown", append(helloItems(), f64(0)), 0},
		{"10 items mtime float32", append(helloItems(), f32(1024)), 1024},
		{"10 items mtime as int", append(helloItems(), int64Item(1700000000)), 1700000000},
		{"10 items mtime NaN", append(helloItems(), f64(math.NaN())), 0},
		{"bin-typed strings (older packers)", []item{binStr("hello.txt"), bin(helloHash), bin(helloHash), uint64Item(0), uint64Item(1), uint64Item(1), binStr(""), binStr(""), bin(helloData)}, 0},
		{"str-typed bytes", []item{str("hello.txt"), strBin(helloHash), strBin(helloHash), uint64Item(0), uint64Item(1), uint64Item(1), str(""), str(""), strBin(helloData)}, 0},
		{"64-bit ints", []item{str("hello.txt"), bin(helloHash), bin(helloHash), wideUint(0), wideUint(1), wideUint(1), str(""), str(""), bin(helloData)}, 0},
		{"signed ints", []item{str("hello.txt"), bin(helloHash), bin(helloHash), int64Item(0), int64Item(1), int64Item(1), str(""), str(""), bin(helloData)}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := DecodeChunk(value(tt.items...))
			if err != nil {
				t.Fatal(err)
			}
			if c.Filename != "hello.txt" || c.Index != 1 || c.Total != 1 || c.Offset != 0 || !bytes.Equal(c.Data, helloData) || c.Mtime != tt.mtime {
				t.Fatalf("decoded %+v", c)
			}
			if err := c.VerifyData(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestDecodeChunkIntWidths(t *testing.T) {
	for _, off := range []uint64{0, 127, 128, 255, 256, 65535, 65536, 1<<32 - 1, 1 << 32, 1 << 40} {
		items := helloItems()
		items[3] = uint64Item(off)
		c, err := DecodeChunk(value(items...))
		if err != nil {
			t.Fatalf("offset %d: %v", off, err)
		}
		if c.Offset != int64(off) {
			t.Fatalf("offset %d decoded as %d", off, c.Offset)
		}
	}
}

func TestDecodeChunkRejects(t *testing.T) {
	with := func(i int, it item) []byte {
		items := helloItems()
		items[i] = it
		return value(items...)
	}
	tests := map[string][]byte{
		"tombstone":            nil,
		"empty":                {},
		"encrypted":            append([]byte{0x01}, value(helloItems()...)...),
		"not msgpack":          []byte("just some text"),
		"map, not array":       msgp.AppendMapHeader(nil, 0),
		"8 items":              value(helloItems()[:8]...),
		"11 items":             value(append(helloItems(), f64(1), f64(2))...),
		"truncated":            value(helloItems()...)[:40],
		"trailing bytes":       append(value(helloItems()...), 0xc0),
		"int filename":         with(0, uint64Item(5)),
		"bad utf-8 filename":   with(0, str("bad\xff")),
		"bad utf-8 subdir":     with(6, binStr("\xfe\xff")),
		"short file hash":      with(1, bin(helloHash[:10])),
		"short chunk hash":     with(2, bin(helloHash[:63])),
		"negative offset":      with(3, int64Item(-1)),
		"huge offset":          with(3, uint64Item(1<<62)),
		"offset overflows int": with(3, wideUint(math.MaxUint64)),
		"chunk 0":              with(4, uint64Item(0)),
		"chunk past total":     with(4, uint64Item(2)),
		"zero chunks":          with(5, uint64Item(0)),
		"absurd chunk count":   with(5, uint64Item(1<<40)),
		"no data":              with(8, bin(nil)),
		"string chunk index":   with(4, str("1")),
		"mtime string":         value(append(helloItems(), str("yesterday"))...),
	}
	for name, v := range tests {
		if c, err := DecodeChunk(v); err == nil {
			t.Errorf("%s: decoded %+v, want an error", name, c)
		}
	}
}

func TestVerifyDataDetectsCorruption(t *testing.T) {
	items := helloItems()
	items[8] = bin([]byte("hellp"))
	c, err := DecodeChunk(value(items...))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.VerifyData(); err == nil || !strings.Contains(err.Error(), "SHA-512") {
		t.Fatalf("VerifyData = %v", err)
	}
}

// FuzzDecodeChunk: no input may panic the decoder, and whatever it accepts
// must satisfy the limits the assembler relies on.
func FuzzDecodeChunk(f *testing.F) {
	f.Add(value(helloItems()...))
	f.Add(value(append(helloItems(), f64(1700000000))...))
	f.Add([]byte{0x99, 0xa0})
	f.Fuzz(func(t *testing.T, v []byte) {
		c, err := DecodeChunk(v)
		if err != nil {
			return
		}
		if c.Index < 1 || c.Index > c.Total || c.Offset < 0 || len(c.Data) == 0 || len(c.FileHash) != hashSize {
			t.Fatalf("accepted out-of-range chunk %+v", c)
		}
	})
}

// FuzzChunkPaths: whatever names a message carries, an accepted path stays
// inside the output folder and out of the reserved folders, on every OS.
func FuzzChunkPaths(f *testing.F) {
	for _, s := range [][3]string{{"a/b", "c.txt", ""}, {"..", "x", ""}, {"", "aux.txt", "_v2"}, {"C:", "f", ""}} {
		f.Add(s[0], s[1], s[2], true)
	}
	f.Fuzz(func(t *testing.T, subdir, name, app string, windows bool) {
		p, err := storage.ChunkPaths(subdir, name, app, windows)
		if err != nil {
			return
		}
		for _, rel := range []string{p.Rel, p.Dest} {
			for i, part := range strings.Split(rel, "/") {
				if part == "" || part == "." || part == ".." || strings.ContainsAny(part, "\\\x00") {
					t.Fatalf("%q: bad component %q", rel, part)
				}
				if windows && (strings.ContainsAny(part, ":<>|?*\"") || strings.HasSuffix(part, ".") || strings.HasSuffix(part, " ")) {
					t.Fatalf("%q: Windows-invalid component %q", rel, part)
				}
				if i == 0 && len(part) >= 2 && part[1] == ':' && (part[0]|0x20 >= 'a' && part[0]|0x20 <= 'z') {
					t.Fatalf("%q begins with a drive letter", rel)
				}
				if i == 0 {
					for _, r := range []string{StateDirName, MismatchDirName, EncryptedDirName} {
						if strings.EqualFold(part, r) {
							t.Fatalf("%q writes into %s", rel, r)
						}
					}
				}
			}
		}
	})
}

// TestDecodeGoldenVectors reads every message the real OpenMSIStream made in
// testdata/golden (test/python/make_golden.py): 9- and 10-item layouts,
// bin-typed strings, every int width.
func TestDecodeGoldenVectors(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "golden", "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var manifest struct {
		Vectors []struct {
			File, Filename, Subdir string
			Append                 string  `json:"filename_append"`
			Index                  int64   `json:"chunk_i"`
			Total                  int64   `json:"n_total_chunks"`
			Offset                 int64   `json:"chunk_offset_write"`
			Data                   []byte  `json:"data"`
			FileHash               string  `json:"file_hash"`
			Mtime                  float64 `json:"file_mtime"`
		}
	}
	if err := json.Unmarshal(raw, &manifest); err != nil {
		t.Fatal(err)
	}
	if len(manifest.Vectors) < 10 {
		t.Fatalf("only %d golden vectors", len(manifest.Vectors))
	}
	for _, v := range manifest.Vectors {
		value, err := os.ReadFile(filepath.Join("testdata", "golden", v.File))
		if err != nil {
			t.Fatal(err)
		}
		c, err := DecodeChunk(value)
		if err != nil {
			t.Fatalf("%s: %v", v.File, err)
		}
		if c.Filename != v.Filename || c.Subdir != v.Subdir || c.Append != v.Append || c.Index != v.Index ||
			c.Total != v.Total || c.Offset != v.Offset || !bytes.Equal(c.Data, v.Data) ||
			hex.EncodeToString(c.FileHash) != v.FileHash || c.Mtime != v.Mtime {
			t.Fatalf("%s decoded as %+v", v.File, c)
		}
		if err := c.VerifyData(); err != nil {
			t.Fatalf("%s: %v", v.File, err)
		}
	}
}
