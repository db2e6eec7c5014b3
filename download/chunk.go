package download

import (
	"bytes"
	"crypto/sha512"
	"errors"
	"fmt"
	"math"
	"time"
	"unicode/utf8"

	"github.com/tinylib/msgp/msgp"

	"github.com/openmsi/datafiledownloaddirectory/download/storage"
	"github.com/openmsi/datafiledownloaddirectory/internal/sha512x"
)

// Limits that reject absurd chunk headers before they can cost memory or
// disk: a real uploader never comes near them (16M chunks of 512 KiB is
// 8 TiB).
const (
	maxChunksPerFile = 1 << 24
	maxFileSize      = 1 << 44
	hashSize         = sha512.Size
)

// Chunk is one decoded chunk message. Data aliases the message value, so a
// Chunk must not outlive the message it was decoded from.
type Chunk struct {
	Filename  string
	FileHash  []byte // raw SHA-512 of the whole file
	ChunkHash []byte // raw SHA-512 of Data
	Offset    int64  // where Data goes in the rebuilt file
	Index     int64  // 1-based
	Total     int64
	Subdir    string // forward-slash folder relative to the uploaded root
	Append    string // inserted between stem and suffix of the rebuilt name
	Data      []byte
	Mtime     float64 // seconds since the epoch; 0 when unknown
}

// ErrEncrypted marks a KafkaCrypto-encrypted value read without
// decryption: the config file has no [kafkacrypto] section.
var ErrEncrypted = errors.New("value is encrypted with KafkaCrypto; to decrypt it, the config file needs a [kafkacrypto] section naming this computer's KafkaCrypto node (see docs/kafkacrypto.md)")

// DecodeChunk decodes a chunk message value in OpenMSIStream's 9- or
// 10-item MessagePack layout. It accepts str where bin is expected and the
// reverse (older packers did both) and every int width, and rejects anything
// a real uploader cannot have sent.
func DecodeChunk(value []byte) (*Chunk, error) {
	if len(value) == 0 {
		return nil, errors.New("empty value (tombstone)")
	}
	if value[0] == 0x01 {
		return nil, ErrEncrypted
	}
	n, rest, err := msgp.ReadArrayHeaderBytes(value)
	if err != nil {
		return nil, fmt.Errorf("not a MessagePack array: %w", err)
	}
	if n != 9 && n != 10 {
		return nil, fmt.Errorf("array has %d items, expected 9 or 10", n)
	}
	var c Chunk
	var field []byte
	if field, rest, err = readRaw(rest, "filename"); err != nil {
		return nil, err
	}
	if c.Filename, err = utf8String(field, "filename"); err != nil {
		return nil, err
	}
	if c.FileHash, rest, err = readRaw(rest, "file_hash"); err != nil {
		return nil, err
	}
	if c.ChunkHash, rest, err = readRaw(rest, "chunk_hash"); err != nil {
		return nil, err
	}
	if c.Offset, rest, err = readInt(rest, "chunk_offset_write"); err != nil {
		return nil, err
	}
	if c.Index, rest, err = readInt(rest, "chunk_i"); err != nil {
		return nil, err
	}
	if c.Total, rest, err = readInt(rest, "n_total_chunks"); err != nil {
		return nil, err
	}
	if field, rest, err = readRaw(rest, "subdir_str"); err != nil {
		return nil, err
	}
	if c.Subdir, err = utf8String(field, "subdir_str"); err != nil {
		return nil, err
	}
	if field, rest, err = readRaw(rest, "filename_append"); err != nil {
		return nil, err
	}
	if c.Append, err = utf8String(field, "filename_append"); err != nil {
		return nil, err
	}
	if c.Data, rest, err = readRaw(rest, "data"); err != nil {
		return nil, err
	}
	if n == 10 {
		if c.Mtime, rest, err = readMtime(rest); err != nil {
			return nil, err
		}
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%d unexpected bytes after the array", len(rest))
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

func (c *Chunk) validate() error {
	switch {
	case len(c.FileHash) != hashSize:
		return fmt.Errorf("file_hash has %d bytes, expected %d", len(c.FileHash), hashSize)
	case len(c.ChunkHash) != hashSize:
		return fmt.Errorf("chunk_hash has %d bytes, expected %d", len(c.ChunkHash), hashSize)
	case c.Total < 1 || c.Total > maxChunksPerFile:
		return fmt.Errorf("n_total_chunks %d is out of range", c.Total)
	case c.Index < 1 || c.Index > c.Total:
		return fmt.Errorf("chunk_i %d is out of range 1..%d", c.Index, c.Total)
	case len(c.Data) == 0:
		return errors.New("chunk has no data")
	case c.Offset < 0 || c.Offset > maxFileSize-int64(len(c.Data)):
		return fmt.Errorf("chunk_offset_write %d is out of range", c.Offset)
	}
	return nil
}

// VerifyData checks the chunk's data against its SHA-512.
func (c *Chunk) VerifyData() error {
	sum := sha512x.Sum512(c.Data)
	if !bytes.Equal(sum[:], c.ChunkHash) {
		return errors.New("chunk data does not match its SHA-512 chunk_hash")
	}
	return nil
}

// forStorage is the chunk as the storage engine takes it.
func (c *Chunk) forStorage(paths storage.Paths, produced time.Time) *storage.Chunk {
	return &storage.Chunk{
		Paths: paths, Append: c.Append, FileHash: c.FileHash, ChunkHash: c.ChunkHash,
		Offset: c.Offset, Index: c.Index, Total: c.Total, Data: c.Data, Mtime: c.Mtime, Produced: produced,
	}
}

// readRaw reads a str or bin item without copying.
func readRaw(b []byte, name string) (v, rest []byte, err error) {
	switch msgp.NextType(b) {
	case msgp.StrType:
		v, rest, err = msgp.ReadStringZC(b)
	case msgp.BinType:
		v, rest, err = msgp.ReadBytesZC(b)
	default:
		return nil, nil, fmt.Errorf("%s: expected str or bin, found %s", name, msgp.NextType(b))
	}
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	return v, rest, nil
}

func readInt(b []byte, name string) (int64, []byte, error) {
	v, rest, err := msgp.ReadInt64Bytes(b)
	if err != nil {
		return 0, nil, fmt.Errorf("%s: %w", name, err)
	}
	return v, rest, nil
}

// readMtime accepts a float of either width or an int, as Python's float()
// would; zero or negative means unknown.
func readMtime(b []byte) (float64, []byte, error) {
	var (
		v    float64
		rest []byte
		err  error
	)
	switch msgp.NextType(b) {
	case msgp.Float64Type, msgp.Float32Type:
		v, rest, err = msgp.ReadFloat64Bytes(b)
	case msgp.IntType, msgp.UintType:
		var i int64
		i, rest, err = msgp.ReadInt64Bytes(b)
		v = float64(i)
	case msgp.NilType:
		rest, err = msgp.ReadNilBytes(b)
	default:
		return 0, nil, fmt.Errorf("file_mtime: expected a number, found %s", msgp.NextType(b))
	}
	if err != nil {
		return 0, nil, fmt.Errorf("file_mtime: %w", err)
	}
	if !(v > 0) || math.IsInf(v, 0) { // NaN and infinities are as good as unknown
		v = 0
	}
	return v, rest, nil
}

func utf8String(b []byte, name string) (string, error) {
	if !utf8.Valid(b) {
		return "", fmt.Errorf("%s is not valid UTF-8", name)
	}
	return string(b), nil
}
