package storage

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
)

// A journal records what of one version of a file is on disk, so that a
// restart resumes it. It is a sequence of records, each
//
//	length (uint32 LE) | CRC-32C of the payload (uint32 LE) | payload
//
// whose payload starts with a type byte: 'h' the header (JSON), 'c' a
// stored chunk, 'd' a stored chunk found bad and dropped (proof.go; a
// later 'c' of the same chunk is its good copy), 'f' the file is complete
// and verified (JSON). Lengths have
// no limit short of 4 GiB, so a path as long as the OS allows fits. A torn
// or garbled record can only be the last one written before a crash: reading
// stops there, and the next append overwrites it.
//
// Records are only written after the data they describe was synced, so a
// record on disk never promises data that a power cut took.

const (
	recHeader   = 'h'
	recChunk    = 'c'
	recComplete = 'f'
	recDrop     = 'd'

	recordOverhead = 8
	chunkRecordLen = 1 + 3*8 + hashSize
	dropRecordLen  = 1 + 8
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

type journalHeader struct {
	Version   int     `json:"v"`
	Rel       string  `json:"rel"`
	Dest      string  `json:"dest"`
	Append    string  `json:"append"`
	FileHash  string  `json:"file_hash"`
	Total     int64   `json:"total"`
	ChunkSize int64   `json:"chunk_size"`
	Mtime     float64 `json:"mtime"`
	// Produced is the Kafka timestamp of the version's first chunk seen,
	// in Unix milliseconds: what orders versions of one path.
	Produced int64 `json:"produced"`
}

// journalChunk is a chunk record, or a drop record (dropped: only index
// is set).
type journalChunk struct {
	index, offset, length int64
	hash                  []byte
	dropped               bool
}

type journalComplete struct {
	Dest   string `json:"dest"`
	HashOK bool   `json:"hash_ok"`
}

func appendRecord(b []byte, payload []byte) []byte {
	b = binary.LittleEndian.AppendUint32(b, uint32(len(payload)))
	b = binary.LittleEndian.AppendUint32(b, crc32.Checksum(payload, castagnoli))
	return append(b, payload...)
}

func appendHeaderRecord(b []byte, h journalHeader) []byte {
	h.Version = 2
	j, _ := json.Marshal(h)
	return appendRecord(b, append([]byte{recHeader}, j...))
}

func appendChunkRecord(b []byte, index, offset, length int64, hash []byte) []byte {
	p := make([]byte, 0, chunkRecordLen)
	p = append(p, recChunk)
	p = binary.LittleEndian.AppendUint64(p, uint64(index))
	p = binary.LittleEndian.AppendUint64(p, uint64(offset))
	p = binary.LittleEndian.AppendUint64(p, uint64(length))
	p = append(p, hash...)
	return appendRecord(b, p)
}

func appendDropRecord(b []byte, index int64) []byte {
	p := make([]byte, 0, dropRecordLen)
	p = append(p, recDrop)
	p = binary.LittleEndian.AppendUint64(p, uint64(index))
	return appendRecord(b, p)
}

func appendCompleteRecord(b []byte, c journalComplete) []byte {
	j, _ := json.Marshal(c)
	return appendRecord(b, append([]byte{recComplete}, j...))
}

// parsedJournal is what a journal says, up to its first bad record.
type parsedJournal struct {
	header   journalHeader
	chunks   []journalChunk
	complete *journalComplete
	// good is the length of the records read; what follows is torn.
	good int64
	// legacy: read from version 0.1.0's text format, to be rewritten.
	legacy bool
}

var errNoHeader = errors.New("journal has no readable header")

func parseJournal(raw []byte) (*parsedJournal, error) {
	j := &parsedJournal{}
	rest := raw
	first := true
	for len(rest) >= recordOverhead {
		n := int64(binary.LittleEndian.Uint32(rest))
		sum := binary.LittleEndian.Uint32(rest[4:])
		if n < 1 || n > int64(len(rest)-recordOverhead) {
			break
		}
		p := rest[recordOverhead : recordOverhead+n]
		if crc32.Checksum(p, castagnoli) != sum {
			break
		}
		if !j.apply(p, first) {
			break
		}
		first = false
		rest = rest[recordOverhead+n:]
		j.good += recordOverhead + n
	}
	if first {
		if len(raw) > 0 && raw[0] == '{' {
			if old, err := parseJournalV1(raw); err == nil {
				return old, nil
			}
		}
		return nil, errNoHeader
	}
	return j, nil
}

// apply adds one record; false means it cannot be used, which ends the
// journal.
func (j *parsedJournal) apply(p []byte, first bool) bool {
	switch {
	case first && p[0] == recHeader:
		var h journalHeader
		if json.Unmarshal(p[1:], &h) != nil || h.Version != 2 || h.Total < 1 || h.ChunkSize < 1 {
			return false
		}
		j.header = h
	case first || j.complete != nil:
		return false
	case p[0] == recChunk && len(p) == chunkRecordLen:
		c := journalChunk{
			index:  int64(binary.LittleEndian.Uint64(p[1:])),
			offset: int64(binary.LittleEndian.Uint64(p[9:])),
			length: int64(binary.LittleEndian.Uint64(p[17:])),
			hash:   p[25:],
		}
		if c.index < 1 || c.index > j.header.Total || c.offset != (c.index-1)*j.header.ChunkSize ||
			c.length < 1 || c.length > j.header.ChunkSize {
			return false
		}
		j.chunks = append(j.chunks, c)
	case p[0] == recDrop && len(p) == dropRecordLen:
		idx := int64(binary.LittleEndian.Uint64(p[1:]))
		if idx < 1 || idx > j.header.Total {
			return false
		}
		j.chunks = append(j.chunks, journalChunk{index: idx, offset: (idx - 1) * j.header.ChunkSize, dropped: true})
	case p[0] == recComplete:
		var c journalComplete
		if json.Unmarshal(p[1:], &c) != nil || c.Dest == "" {
			return false
		}
		j.complete = &c
	default:
		return false
	}
	return true
}

func (h journalHeader) String() string {
	return fmt.Sprintf("%q (%d chunks)", h.Rel, h.Total)
}

// stored replays the chunk and drop records: the chunks on disk, with the
// record of each that counts (its latest).
func (j *parsedJournal) stored() map[int64]journalChunk {
	m := make(map[int64]journalChunk, len(j.chunks))
	for _, c := range j.chunks {
		if c.dropped {
			delete(m, c.index)
		} else {
			m[c.index] = c
		}
	}
	return m
}

// DescribeJournal says how many chunks a journal records and whether it
// records its file as complete: for tools and tests that watch the state
// folder from outside.
func DescribeJournal(raw []byte) (chunks int, complete bool, err error) {
	j, err := parseJournal(raw)
	if err != nil {
		return 0, false, err
	}
	return len(j.stored()), j.complete != nil, nil
}
