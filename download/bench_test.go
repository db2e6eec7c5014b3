package download

import (
	"crypto/sha512"
	"fmt"
	"os"
	"path/filepath"
	"sync"
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

// BenchmarkAssemble stores the chunks of 16 MiB files, in order and
// shuffled, including the chunk hash check and the barrier's fsyncs.
func BenchmarkAssemble(b *testing.B) {
	for _, shuffled := range []bool{false, true} {
		name := "in_order"
		if shuffled {
			name = "shuffled"
		}
		b.Run(name, func(b *testing.B) {
			data := randomBytes(2, 16<<20)
			chunks := upload("bench/file.bin", data, 512<<10, 0)
			if shuffled {
				for i := range chunks {
					j := (i * 7) % len(chunks)
					chunks[i], chunks[j] = chunks[j], chunks[i]
				}
			}
			dir := b.TempDir()
			a := openAssembler(b, dir)
			p, _ := chunkPaths("bench", "file.bin", "", false)
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				for _, c := range chunks {
					if err := c.VerifyData(); err != nil {
						b.Fatal(err)
					}
					if _, err := a.handle(c, p); err != nil {
						b.Fatal(err)
					}
				}
				if err := a.sync(); err != nil {
					b.Fatal(err)
				}
				// Each round uploads the file again, as if the user had
				// deleted the copy: the same work, not a skipped duplicate.
				if err := os.Remove(filepath.Join(dir, "bench", "file.bin")); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkAssembleSmallFiles stores 64 KiB single-chunk files (workload C
// of issue 7) from two goroutines, as two consumers would, with a barrier
// every 200 files; it reports files per second.
func BenchmarkAssembleSmallFiles(b *testing.B) {
	const perRound = 400
	data := randomBytes(3, 64<<10)
	var chunks [][]*Chunk
	for i := range perRound {
		// Each file differs, so no two share a hash.
		d := append([]byte(nil), data...)
		d[0], d[1] = byte(i), byte(i>>8)
		chunks = append(chunks, upload(fmt.Sprintf("run_%02d/file_%05d.bin", i%10, i), d, 512<<10, 0))
	}
	dir := b.TempDir()
	a := openAssembler(b, dir)
	b.SetBytes(perRound * int64(len(data)))
	b.ReportAllocs()
	round := 0
	for b.Loop() {
		round++
		var wg sync.WaitGroup
		errs := make(chan error, 2)
		for w := range 2 {
			wg.Go(func() {
				for i := w; i < perRound; i += 2 {
					c := *chunks[i][0]
					c.Subdir = fmt.Sprintf("r%d/%s", round, c.Subdir)
					p, _ := chunkPaths(c.Subdir, c.Filename, "", false)
					if err := c.VerifyData(); err != nil {
						errs <- err
						return
					}
					if _, err := a.handle(&c, p); err != nil {
						errs <- err
						return
					}
					if i%200 < 2 {
						if err := a.sync(); err != nil {
							errs <- err
							return
						}
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		if err := <-errs; err != nil {
			b.Fatal(err)
		}
		if err := a.sync(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*perRound)/b.Elapsed().Seconds(), "files/s")
}
