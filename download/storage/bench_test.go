package storage

import (
	"crypto/sha512"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// BenchmarkPut stores the chunks of 16 MiB files, in order and shuffled,
// including the chunk hash check and the barrier's fsyncs.
func BenchmarkPut(b *testing.B) {
	for _, shuffled := range []bool{false, true} {
		name := "in_order"
		if shuffled {
			name = "shuffled"
		}
		b.Run(name, func(b *testing.B) {
			data := randomBytes(2, 16<<20)
			chunks := upload("bench/file.bin", data, 512<<10, t0, 0)
			if shuffled {
				for i := range chunks {
					j := (i * 7) % len(chunks)
					chunks[i], chunks[j] = chunks[j], chunks[i]
				}
			}
			dir := b.TempDir()
			te := openEngine(b, dir, nil, Options{})
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				for _, c := range chunks {
					if sum := sha512.Sum512(c.Data); string(sum[:]) != string(c.ChunkHash) {
						b.Fatal("chunk hash")
					}
					if _, err := te.Put(c); err != nil {
						b.Fatal(err)
					}
				}
				if err := te.Barrier(); err != nil {
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

// BenchmarkPutSmallFiles stores 64 KiB single-chunk files from two
// goroutines, as two consumers would, with a barrier every 200 files; it
// reports files per second.
func BenchmarkPutSmallFiles(b *testing.B) {
	const perRound = 400
	data := randomBytes(3, 64<<10)
	te := openEngine(b, b.TempDir(), nil, Options{})
	b.SetBytes(perRound * int64(len(data)))
	b.ReportAllocs()
	round := 0
	for b.Loop() {
		round++
		var chunks []*Chunk
		for i := range perRound {
			d := append([]byte(nil), data...)
			d[0], d[1] = byte(i), byte(i>>8)
			chunks = append(chunks, upload(fmt.Sprintf("r%d/run_%02d/file_%05d.bin", round, i%10, i), d, 512<<10, t0, 0)...)
		}
		var wg sync.WaitGroup
		errs := make(chan error, 2)
		for w := range 2 {
			wg.Go(func() {
				for i := w; i < perRound; i += 2 {
					if _, err := te.Put(chunks[i]); err != nil {
						errs <- err
						return
					}
					if i%200 < 2 {
						if err := te.Barrier(); err != nil {
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
		if err := te.Barrier(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*perRound)/b.Elapsed().Seconds(), "files/s")
}
