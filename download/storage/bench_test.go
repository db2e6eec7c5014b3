package storage

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// reportCPU adds the process's CPU seconds per GiB stored since start, a
// steadier measure than time on a shared machine.
func reportCPU(b *testing.B, start float64, bytes int64) {
	if cpu := processCPU() - start; cpu > 0 {
		b.ReportMetric(cpu/(float64(b.N)*float64(bytes)/(1<<30)), "cpu-s/GiB")
	}
}

// BenchmarkPut stores the chunks of 16 MiB files, in order and shuffled,
// including the chunk hash checks (the engine's, since chunks are no
// longer checked before Put) and the barrier's fsyncs.
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
			cpu := processCPU()
			for b.Loop() {
				for _, c := range chunks {
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
			reportCPU(b, cpu, int64(len(data)))
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
	var cpu float64
	for b.Loop() {
		round++
		var chunks []*Chunk
		for i := range perRound {
			d := append([]byte(nil), data...)
			d[0], d[1] = byte(i), byte(i>>8)
			chunks = append(chunks, upload(fmt.Sprintf("r%d/run_%02d/file_%05d.bin", round, i%10, i), d, 512<<10, t0, 0)...)
		}
		start := processCPU() // making the chunks above is not counted
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
		cpu += processCPU() - start
	}
	b.ReportMetric(float64(b.N*perRound)/b.Elapsed().Seconds(), "files/s")
	b.ReportMetric(cpu/float64(b.N*perRound)*1e6, "cpu-µs/file")
}
