package storage

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Version 0.1.0 wrote journals as text: a JSON header line, "c INDEX
// OFFSET LENGTH HASH" lines and a final "f DEST" line. They are read once,
// at the first start of this version, and rewritten in the current format,
// so that files half received before an upgrade are not lost (their
// offsets were committed).

type journalHeaderV1 struct {
	Version  int     `json:"v"`
	Rel      string  `json:"rel"`
	Dest     string  `json:"dest"`
	Append   string  `json:"append"`
	FileHash string  `json:"file_hash"`
	Total    int64   `json:"total"`
	Mtime    float64 `json:"mtime"`
}

// parseJournalV1 reads a text journal; a torn or garbled line ends it.
// Chunks that do not tile the file are left out: the old format did not
// require it, this one does.
func parseJournalV1(raw []byte) (*parsedJournal, error) {
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 64*1024), len(raw)+1)
	var h journalHeaderV1
	if !sc.Scan() || json.Unmarshal(sc.Bytes(), &h) != nil || h.Version != 1 || h.Total < 1 {
		return nil, errors.New("journal has no readable header")
	}
	var chunks []journalChunk
	var complete *journalComplete
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "f "); ok {
			if d, err := strconv.Unquote(rest); err == nil {
				complete = &journalComplete{Dest: d, HashOK: !strings.HasPrefix(d, MismatchDirName+"/")}
			}
			break
		}
		var c journalChunk
		var hx string
		if n, _ := fmt.Sscanf(line, "c %d %d %d %s", &c.index, &c.offset, &c.length, &hx); n != 4 {
			break
		}
		var err error
		if c.hash, err = hex.DecodeString(hx); err != nil || len(c.hash) != hashSize || c.length <= 0 || c.offset < 0 {
			break
		}
		chunks = append(chunks, c)
	}
	size := int64(0)
	for _, c := range chunks {
		switch {
		case c.index < h.Total:
			size = c.length
		case size == 0 && h.Total > 1 && c.offset%(h.Total-1) == 0:
			size = c.offset / (h.Total - 1)
		case size == 0 && h.Total == 1:
			size = c.length
		}
		if size > 0 && c.index < h.Total {
			break
		}
	}
	if size <= 0 {
		return nil, errors.New("old journal records no chunk to resume")
	}
	j := &parsedJournal{complete: complete, legacy: true}
	j.header = journalHeader{Version: 2, Rel: h.Rel, Dest: h.Dest, Append: h.Append, FileHash: h.FileHash,
		Total: h.Total, ChunkSize: size, Mtime: h.Mtime}
	for _, c := range chunks {
		if c.index >= 1 && c.index <= h.Total && c.offset == (c.index-1)*size && c.length <= size &&
			(c.index == h.Total || c.length == size) {
			j.chunks = append(j.chunks, c)
		}
	}
	return j, nil
}
