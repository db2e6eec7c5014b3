package crashfs

import (
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"
)

// Properties of the simulator itself: states agree with the live
// filesystem where they must, are trees, independent, bounded and
// reproducible.

// The clean crash state is the filesystem as it was at that point, and
// after syncing everything the durable state is too: checked at every
// step of random operations against the live filesystem.
func TestCleanAndFullySyncedStatesMatchLive(t *testing.T) {
	names := []string{"a", "b", "d", "e", "d/a", "d/b", "d/e", "d/e/a", "e/a"}
	for seed := range 20 {
		f := New()
		var lens []int
		var dumps []string
		var synced []bool
		for step := range 60 {
			x, y := names[(seed*7+step*13)%len(names)], names[(seed+step*5)%len(names)]
			runOp(f, (seed+step*3)%13, x, y, int64(step%5), fmt.Sprint(step))
			full := step%4 == 3
			if full {
				syncAll(t, f, ".")
			}
			lens, dumps, synced = append(lens, f.Len()), append(dumps, dump(t, f)), append(synced, full)
		}
		tr := f.Trace()
		sim := NewSimulator(tr, Options{MaxStates: 8, Seed: int64(seed)})
		for i, k := range lens {
			states := sim.States(k)
			if states[0].Kind != "clean" || dump(t, states[0].FS) != dumps[i] {
				t.Fatalf("seed %d, %s: clean state\n%s\nlive\n%s", seed, tr.PointString(k), dump(t, states[0].FS), dumps[i])
			}
			if !synced[i] {
				continue
			}
			for _, s := range states {
				if got := dump(t, s.FS); got != dumps[i] {
					t.Fatalf("seed %d, %s, everything synced: %s\n%s\nlive\n%s", seed, tr.PointString(k), s.Describe(tr), got, dumps[i])
				}
			}
		}
	}
}

// syncAll fsyncs every file and folder under dir, children first.
func syncAll(t *testing.T, f *FS, dir string) {
	ents, err := f.ReadDir(dir)
	must(t, err)
	for _, e := range ents {
		p := dir + "/" + e.Name()
		if e.IsDir() {
			syncAll(t, f, p)
			continue
		}
		h, err := f.OpenFile(p, os.O_RDONLY, 0)
		must(t, err)
		must(t, h.Sync())
		h.Close()
	}
	must(t, f.SyncDir(dir))
}

// States are independent: changing one changes neither the others nor
// the recording FS (they share memory until written).
func TestStatesAreIndependent(t *testing.T) {
	f := New()
	must(t, f.Mkdir("d", 0o755))
	create(t, f, "d/a", "live", false)
	states := f.CrashStates(f.Len(), 64, 1)
	if len(states) < 2 {
		t.Fatalf("%d states", len(states))
	}
	before := make([]string, len(states))
	for i, s := range states {
		before[i] = dump(t, s)
	}
	live := dump(t, f)
	done := make(chan struct{})
	for i, s := range states {
		go func() {
			defer func() { done <- struct{}{} }()
			s.Mkdir("d", 0o755)
			if h, err := s.OpenFile("d/a", os.O_CREATE|os.O_WRONLY, 0o644); err == nil {
				h.WriteAt([]byte(fmt.Sprint("state", i)), 0)
				h.Close()
			}
			s.Rename("d", fmt.Sprint("moved", i))
		}()
	}
	for range states {
		<-done
	}
	if got := dump(t, f); got != live {
		t.Fatalf("the recording FS changed:\n%s\nwas\n%s", got, live)
	}
	for i, s := range states {
		if got := dump(t, s); !strings.Contains(got, fmt.Sprintf("moved%d/a \"state%d", i, i)) {
			t.Fatalf("state %d (was %q) holds %q", i, before[i], got)
		}
	}
}

func TestStatesAreBoundedAndDeterministic(t *testing.T) {
	f := New()
	for i := range 30 {
		create(t, f, fmt.Sprint(i), "x", false)
	}
	describe := func(seed int64) []string {
		var out []string
		tr := f.Trace()
		for _, s := range NewSimulator(tr, Options{MaxStates: 12, Seed: seed}).States(f.Len()) {
			out = append(out, s.Describe(tr))
		}
		return out
	}
	a, b, c := describe(1), describe(1), describe(2)
	if len(a) != 12 || !slices.Equal(a, b) || slices.Equal(a, c) {
		t.Fatalf("12 states wanted, the same for one seed and others for another; got %d, %d, %d", len(a), len(b), len(c))
	}
	if !strings.HasPrefix(a[0], "clean") || !strings.HasPrefix(a[1], "durable") {
		t.Fatalf("the first states are %q and %q, want clean then durable", a[0], a[1])
	}
	if f.CrashStates(f.Len()+1, 4, 1) != nil || f.CrashStates(-1, 4, 1) != nil {
		t.Fatal("states of a crash point outside the trace")
	}
}

// A crash state records its own operations, so recovery itself can be
// crash-tested from that state.
func TestStateRecordsFromItself(t *testing.T) {
	f := New()
	create(t, f, "a", "old", true)
	must(t, f.SyncDir("."))
	s := f.CrashStates(f.Len(), 4, 1)[0]
	if s.Len() != 0 {
		t.Fatalf("a fresh state has %d operations", s.Len())
	}
	h, err := s.OpenFile("a", os.O_WRONLY|os.O_TRUNC, 0)
	must(t, err)
	h.Close()
	wantOutcomes(t, outcomes(t, s, content(t, "a")), `"old"`, `""`)
}

// Whatever folders and files are moved around, every state at every crash
// point is a tree: nothing reachable twice, no folder inside itself.
func TestStatesAreTrees(t *testing.T) {
	names := []string{"a", "b", "a/b", "b/a", "a/b/c", "c", "b/c", "a/c", "c/a", "c/b"}
	for seed := range 100 {
		f := New()
		rng := rand.New(rand.NewPCG(uint64(seed), 2))
		for range 30 {
			x, y := names[rng.IntN(len(names))], names[rng.IntN(len(names))]
			switch rng.IntN(8) {
			case 0, 1:
				f.Mkdir(x, 0o755)
			case 2, 3, 4:
				f.Rename(x, y)
			case 5:
				f.Remove(x)
			case 6:
				f.SyncDir(dirOf(x))
			default:
				if h, err := f.OpenFile(x, os.O_CREATE|os.O_WRONLY, 0o644); err == nil {
					h.WriteAt([]byte("x"), 0)
					h.Close()
				}
			}
		}
		tr := f.Trace()
		sim := NewSimulator(tr, Options{MaxStates: 64, Seed: int64(seed)})
		for k := range tr.Len() + 1 {
			for _, s := range sim.States(k) {
				seen := map[int]bool{}
				var walk func(ino int) bool
				walk = func(ino int) bool {
					if seen[ino] {
						return false
					}
					seen[ino] = true
					for _, c := range s.FS.t.inodes[ino].entries {
						if !walk(c) {
							return false
						}
					}
					return true
				}
				if !walk(0) {
					t.Fatalf("seed %d, %s, %s: not a tree:\n%s", seed, tr.PointString(k), s.Describe(tr), tr)
				}
			}
		}
	}
}
