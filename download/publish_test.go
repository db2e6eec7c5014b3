package download

import (
	"errors"
	"fmt"
	"path/filepath"
	"testing"
)

// A file whose publishing fails stays queued: every barrier fails until a
// retry succeeds, so no offset past it is committed in between.
func TestAssemblerFailedPublishIsRetriedByBarriers(t *testing.T) {
	for _, step := range []string{"publish:synced", "publish:journaled", "publish:renamed"} {
		t.Run(step, func(t *testing.T) {
			dir := t.TempDir()
			a := openAssembler(t, dir)
			data := randomBytes(50, 10_000)
			chunks := upload("retry/f.bin", data, 4096, 0)
			p, _ := chunkPaths("retry", "f.bin", "", false)
			for _, c := range chunks[:len(chunks)-1] {
				a.feed(c)
			}
			failures := 0
			crashAt = func(s string) bool {
				if s == step && failures < 2 {
					failures++
					return true
				}
				return false
			}
			defer func() { crashAt = func(string) bool { return false } }()
			if out, err := a.handle(chunks[len(chunks)-1], p); err != nil || out != outCompleted {
				t.Fatalf("last chunk: outcome %v, error %v", out, err)
			}
			for range 2 {
				if err := a.sync(); !errors.Is(err, errCrashed) {
					t.Fatalf("barrier after a failed publish: %v, want the failure", err)
				}
			}
			a.mustSync()
			assertFile(t, filepath.Join(dir, "retry", "f.bin"), data)
			assertNoPartialData(t, dir)
			if n := a.stats.filesCompleted.Load(); n != 1 {
				t.Fatalf("filesCompleted = %d", n)
			}
		})
	}
}

// Many small files completed at once are published in batches, each
// folder synced once per batch; all of them end up in place.
func TestAssemblerPublishesSmallFilesInBatches(t *testing.T) {
	dir := t.TempDir()
	a := openAssembler(t, dir)
	want := map[string][]byte{}
	for i := range 300 {
		// Names every file system can hold: 'f', a letter and three digits.
		rel := fmt.Sprintf("batch/%c/f%c%03d.bin", 'a'+i%5, 'A'+i%26, i)
		want[rel] = randomBytes(uint64(100+i), 100+i)
		c := upload(rel, want[rel], 4096, 0)[0]
		p, _ := chunkPaths(c.Subdir, c.Filename, "", false)
		if out, err := a.handle(c, p); err != nil || out != outCompleted {
			t.Fatalf("%s: outcome %v, error %v", rel, out, err)
		}
	}
	a.assertAllPublished(want)
}
