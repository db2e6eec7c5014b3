package storage

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// A barrier syncs a file's data without holding its lock (barrier.go):
// chunks stored meanwhile, files closed to stay within the bound and files
// completed meanwhile must all stay consistent. Run under -race; after a
// crash at the end, every chunk put before the last barrier is resumed.
func TestBarriersWhileChunksArrive(t *testing.T) {
	dir := t.TempDir()
	// A slow disk: a data fsync takes a millisecond, the window in which
	// other consumers store, close and complete files.
	slow := func(fsys FS) FS {
		return &Faults{FS: fsys, FailSync: func(name string) error {
			if strings.HasSuffix(name, ".part") {
				time.Sleep(time.Millisecond)
			}
			return nil
		}}
	}
	te := openEngine(t, dir, slow, Options{MaxOpenFiles: 2})
	var files [][]*Chunk
	var datas [][]byte
	for i := range 4 {
		d := randomBytes(uint64(80+i), 40_000)
		datas = append(datas, d)
		files = append(files, upload(fmt.Sprintf("b/f%d.bin", i), d, 1000, t0, 0))
	}
	stop := make(chan struct{})
	var barriers sync.WaitGroup
	barriers.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
				if err := te.Barrier(); err != nil {
					t.Error(err)
					return
				}
			}
		}
	})
	// Two consumers; files 0 and 1 complete, 2 and 3 stop at 30 chunks.
	var puts sync.WaitGroup
	for w := range 2 {
		puts.Go(func() {
			for i := w; i < 40; i += 2 {
				for f := range files {
					if f >= 2 && i >= 30 {
						continue
					}
					if _, err := te.Put(files[f][i]); err != nil {
						t.Error(err)
						return
					}
				}
			}
		})
	}
	puts.Wait()
	close(stop)
	barriers.Wait()
	te.barrier()
	te.crash()

	te2 := openEngine(t, dir, nil, Options{})
	assertFile(t, te2.path("b/f0.bin"), datas[0])
	assertFile(t, te2.path("b/f1.bin"), datas[1])
	in, _, _ := te2.Status()
	if len(in) != 2 || in[0].ChunksReceived != 30 || in[1].ChunksReceived != 30 {
		t.Fatalf("resumed %+v, want files 2 and 3 with 30 chunks each", in)
	}
	te2.putAll(files[2][30:])
	te2.putAll(files[3][30:])
	te2.barrier()
	assertFile(t, te2.path("b/f2.bin"), datas[2])
	assertFile(t, te2.path("b/f3.bin"), datas[3])
	assertNoPartialData(t, dir)
}
