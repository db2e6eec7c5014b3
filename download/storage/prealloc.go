package storage

// preallocChunks is how many chunks of disk space the engine reserves at
// once for a file (see preallocate), and preallocBytes bounds that for
// large chunks. Space is reserved only around chunks that arrived, one
// segment each, and never past the file's last whole chunk: a forged chunk
// that claims a file of terabytes reserves at most one segment, and a
// complete file keeps no block beyond its end.
const (
	preallocChunks = 8
	preallocBytes  = 64 << 20
)

// reserveLocked reserves the disk space of the segment of chunks that c
// belongs to, once per segment, before c is written into it.
func (f *partialFile) reserveLocked(c *Chunk) {
	if f.total <= 1 || f.noReserve {
		return
	}
	segChunks := max(1, min(preallocChunks, preallocBytes/f.chunkSize))
	seg := (c.Index - 1) / segChunks
	if _, ok := f.reserved[seg]; ok {
		return
	}
	start := seg * segChunks * f.chunkSize
	// The last chunk's length is not known before it arrives; the whole
	// chunks before it all are chunkSize long.
	end := min(start+segChunks*f.chunkSize, (f.total-1)*f.chunkSize)
	if end <= start {
		return
	}
	if !preallocate(f.data, start, end-start) {
		// Not supported here, or no space for all of it: writes go on
		// without, as they would anyway.
		f.noReserve = true
		return
	}
	if f.reserved == nil {
		f.reserved = make(map[int64]struct{})
	}
	f.reserved[seg] = struct{}{}
}
