package storage

import (
	"strings"
	"sync"
	"testing"
	"time"
)

// The chunk that completes a file is acknowledged at once and the file is
// verified in the background. A barrier must still make that chunk
// durable, also when the verification ends during the barrier and the file
// moves to the publisher, whose syncs come later: the barrier's caller
// commits the chunk's offset when it returns.
func TestBarrierCoversAFileVerifiedMeanwhile(t *testing.T) {
	var (
		mu       sync.Mutex
		unsynced = map[string]bool{} // files written since their last fsync
		holdSync bool
		reading  = make(chan struct{}, 1)
		readGate = make(chan struct{})
		gateRead bool
		returned = make(chan struct{})
	)
	te := openEngine(t, t.TempDir(), func(f FS) FS {
		return &Faults{FS: f,
			FailWrite: func(name string, _ []byte, _ int64) (int, error, bool) {
				mu.Lock()
				unsynced[name] = true
				mu.Unlock()
				return 0, nil, false
			},
			FailSync: func(name string) error {
				mu.Lock()
				hold := holdSync && strings.HasSuffix(name, ".part")
				mu.Unlock()
				if hold {
					// Keeps the publisher from syncing before the barrier
					// returns; a barrier that syncs the file itself waits
					// a moment, then goes on.
					select {
					case <-returned:
					case <-time.After(300 * time.Millisecond):
					}
				}
				mu.Lock()
				delete(unsynced, name)
				mu.Unlock()
				return nil
			},
			FailRead: func(string) error {
				mu.Lock()
				gate := gateRead
				mu.Unlock()
				if gate {
					select {
					case reading <- struct{}{}:
					default:
					}
					<-readGate
				}
				return nil
			},
		}
	}, Options{})
	// More than is kept in memory, the first chunk last: verifying reads
	// chunks back, and that read waits at the gate.
	data := randomBytes(71, maxRetainedBytes+2<<20)
	chunks := upload("v/late.bin", data, 1<<20, t0, 0)
	te.putAll(chunks[1:])
	te.barrier()
	mu.Lock()
	gateRead = true
	mu.Unlock()
	if out, err := te.Put(chunks[0]); err != nil || out != Completed {
		t.Fatalf("last chunk: %v %v, want Completed", out, err)
	}
	<-reading // the verification runs, and waits

	testHookBarrierPublished = func() {
		// The verification ends now: the file leaves the dirty files for
		// the publisher, which cannot sync it before the barrier returns.
		mu.Lock()
		gateRead, holdSync = false, true
		mu.Unlock()
		close(readGate)
		te.WaitVerified()
	}
	t.Cleanup(func() { testHookBarrierPublished = nil })
	err := te.Barrier()
	mu.Lock()
	var left []string
	for name := range unsynced {
		left = append(left, name)
	}
	holdSync = false
	mu.Unlock()
	close(returned)
	testHookBarrierPublished = nil
	if err != nil {
		t.Fatal(err)
	}
	if len(left) > 0 {
		t.Fatalf("the barrier returned with writes not synced: %v; the last chunk's offset would be committed before it is durable", left)
	}
	if err := te.waitPublished(); err != nil {
		t.Fatal(err)
	}
	assertFile(t, te.path("v/late.bin"), data)
}
