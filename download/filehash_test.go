package download

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sync"
	"testing"
)

// Chunks that arrive before the hashed prefix reaches them are kept in
// memory only up to the bound; the rest is hashed from the disk.
func TestAssemblerRetainedDataIsBounded(t *testing.T) {
	dir := t.TempDir()
	a := openAssembler(t, dir)
	const chunkSize = 64 << 10
	data := randomBytes(30, maxRetainedBytes+4*chunkSize)
	chunks := upload("big/late-start.bin", data, chunkSize, 0)
	slices.Reverse(chunks) // the first chunk last: nothing can be hashed early
	for _, c := range chunks[:len(chunks)-1] {
		if out := a.feed(c); out != outWritten {
			t.Fatalf("chunk %d: outcome %v", c.Index, out)
		}
	}
	if got := a.retainedBytes.Load(); got != maxRetainedBytes {
		t.Fatalf("%d bytes retained with the first chunk missing, want the bound %d", got, maxRetainedBytes)
	}
	if out := a.feed(chunks[len(chunks)-1]); out != outCompleted {
		t.Fatalf("last chunk: outcome %v", out)
	}
	a.mustSync()
	assertFile(t, filepath.Join(dir, "big", "late-start.bin"), data)
	if got := a.retainedBytes.Load(); got != 0 {
		t.Fatalf("%d bytes still retained after the file was published", got)
	}
}

// Consumers feeding chunks of the same files at once, in any order and with
// duplicates, while barriers run: every file is published whole, once.
func TestAssemblerConcurrentConsumers(t *testing.T) {
	dir := t.TempDir()
	a := openAssembler(t, dir)
	want := map[string][]byte{}
	var all []*Chunk
	for i := range 6 {
		rel := fmt.Sprintf("d%d/f%d.bin", i%2, i)
		want[rel] = randomBytes(uint64(40+i), 1000+i*37_000)
		chunks := upload(rel, want[rel], 4096, 0)
		all = append(all, chunks...)
		all = append(all, chunks[len(chunks)/2]) // a redelivered chunk
	}
	rand.New(rand.NewPCG(7, 7)).Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	const consumers = 4
	var wg sync.WaitGroup
	errs := make(chan error, consumers)
	for w := range consumers {
		wg.Go(func() {
			for i := w; i < len(all); i += consumers {
				c := all[i]
				p, _ := chunkPaths(c.Subdir, c.Filename, "", false)
				if _, err := a.handle(c, p); err != nil {
					errs <- err
					return
				}
				if i%50 == w {
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
	for err := range errs {
		t.Fatal(err)
	}
	a.assertAllPublished(want)
	if got := a.retainedBytes.Load(); got != 0 {
		t.Fatalf("%d bytes still retained", got)
	}
}
