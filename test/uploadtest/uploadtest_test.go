package uploadtest

import (
	"bytes"
	"encoding/hex"
	"testing"
)

func TestKeys(t *testing.T) {
	tests := []struct {
		rel, want string
	}{
		{"raw/2024/scan.tif", "raw_2024_scan.tif_chunk_3_of_12"},
		{"hello.txt", "_hello.txt_chunk_3_of_12"},
	}
	for _, tt := range tests {
		msgs := FileChunks(bytes.Repeat([]byte{1}, 12*16-5), tt.rel, 16, Options{})
		if got := msgs[2].Key; got != tt.want {
			t.Errorf("key of %s: %q, want %q", tt.rel, got, tt.want)
		}
	}
}

func TestEmptyFileHasNoChunks(t *testing.T) {
	if msgs := FileChunks(nil, "empty.txt", 16, Options{}); len(msgs) != 0 {
		t.Fatalf("%d messages for an empty file", len(msgs))
	}
}

// TestWorkedExample checks the byte layout against the worked example of
// the wire format: hello.txt with "hello", one chunk, mtime 1700000000.
func TestWorkedExample(t *testing.T) {
	msgs := FileChunks([]byte("hello"), "hello.txt", 524288, Options{Mtime: 1700000000})
	v := msgs[0].Value
	if len(v) != 164 {
		t.Fatalf("value is %d bytes, want 164", len(v))
	}
	hash := "9b71d224bd62f3785d96d46ad3ea3d73319bfbc2890caadae2dff72519673ca72323c3d99ba5c11d7c7acc6e14b8c5da0c4663475c2e5c3adef46f73bcdec043"
	want := "9aa968656c6c6f2e747874c440" + hash + "c440" + hash + "000101a0a0c40568656c6c6fcb41d954fc40000000"
	if got := hex.EncodeToString(v); got != want {
		t.Fatalf("value\n%s\nwant\n%s", got, want)
	}
}

func TestIntWidthsAreSmallest(t *testing.T) {
	for v, want := range map[int64]string{0: "00", 127: "7f", 128: "cc80", 255: "ccff", 256: "cd0100", 65536: "ce00010000", 1 << 32: "cf0000000100000000"} {
		if got := hex.EncodeToString(appendInt(nil, v)); got != want {
			t.Errorf("%d encoded as %s, want %s", v, got, want)
		}
	}
}
