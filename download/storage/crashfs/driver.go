package crashfs

import (
	"cmp"
	"fmt"
	"runtime"
	"runtime/debug"
	"slices"
	"sync"

	"github.com/openmsi/datafiledownloaddirectory/download/storage"
)

// Workload runs the code under test on fsys, a recording *FS (type-assert
// it to move the clock). It calls checkpoint(v) each time it has made a
// promise a power cut must not break, such as committing Kafka offsets,
// with v saying what was promised (a value it will not change later).
type Workload func(fsys storage.FS, checkpoint func(v any)) error

// Checker examines one crash state: typically it runs recovery on state
// and checks what committed (the value of the last checkpoint before the
// crash, nil if none) promised. An error or a panic is a violation.
type Checker func(state storage.FS, committed any) error

// Checkpoint is a promise made after the first At operations of a trace.
type Checkpoint struct {
	At    int
	Value any
}

// CheckOptions tune Check.
type CheckOptions struct {
	Options        // the states of each crash point
	FS      Config // the semantics of the FS the workload runs on
	Workers int    // checkers run at once; 0 means GOMAXPROCS
	Keep    int    // violations described in the report; 0 means 5
	// NoDedup checks every state. By default a state with the same files,
	// contents, times and clock as one already checked under the same
	// checkpoint is skipped: a deterministic checker would say the same.
	NoDedup bool
}

// Report is what Check found.
type Report struct {
	Ops         int // operations recorded
	CrashPoints int // Ops+1: before the first operation, and after each
	States      int // states checked
	Duplicates  int // states skipped as already checked
	Violations  int // states the checker failed
	First       []Violation
}

// Violation is a state the checker failed.
type Violation struct {
	Point int    // crash point
	Where string // the operation before it
	State string // what the state lost
	Err   error
}

func (v Violation) String() string { return fmt.Sprintf("%s, %s: %v", v.Where, v.State, v.Err) }

// String is the summary line `make crashtest` prints, then the first violations.
func (r Report) String() string {
	s := fmt.Sprintf("%d crash points checked, %d violations (%d operations, %d states checked, %d duplicate states skipped)",
		r.CrashPoints, r.Violations, r.Ops, r.States, r.Duplicates)
	for _, v := range r.First {
		s += "\n  " + v.String()
	}
	return s
}

// Check runs w once on a recording FS, then check on every state a power
// cut may leave at every crash point. It fails only if w does.
func Check(w Workload, check Checker, opt CheckOptions) (Report, error) {
	f := NewConfig(opt.FS)
	var mu sync.Mutex
	var cps []Checkpoint
	err := w(f, func(v any) {
		mu.Lock()
		defer mu.Unlock()
		cps = append(cps, Checkpoint{At: f.Len(), Value: v})
	})
	if err != nil {
		return Report{}, fmt.Errorf("the workload failed, so no crash point was checked: %w", err)
	}
	return CheckTrace(f.Trace(), cps, check, opt), nil
}

// CheckTrace checks every crash state of a trace recorded by the caller.
func CheckTrace(tr *Trace, cps []Checkpoint, check Checker, opt CheckOptions) Report {
	cps = slices.Clone(cps)
	slices.SortStableFunc(cps, func(a, b Checkpoint) int { return cmp.Compare(a.At, b.At) })
	workers := opt.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	keep := opt.Keep
	if keep <= 0 {
		keep = 5
	}
	type job struct {
		seq int
		st  State
		cp  int // index in cps, -1 before the first
	}
	type found struct {
		seq int
		v   Violation
	}
	rep := Report{Ops: tr.Len(), CrashPoints: tr.Len() + 1}
	var (
		mu    sync.Mutex
		seen  = map[[2]uint64]bool{}
		viols []found
		wg    sync.WaitGroup
	)
	jobs := make(chan job, 4*workers)
	for range workers {
		wg.Go(func() {
			for j := range jobs {
				if !opt.NoDedup {
					key := [2]uint64{fingerprint(j.st.FS), uint64(j.cp + 1)}
					mu.Lock()
					dup := seen[key]
					seen[key] = true
					if dup {
						rep.Duplicates++
					}
					mu.Unlock()
					if dup {
						continue
					}
				}
				var committed any
				if j.cp >= 0 {
					committed = cps[j.cp].Value
				}
				err := runChecker(check, j.st.FS, committed)
				mu.Lock()
				rep.States++
				if err != nil {
					rep.Violations++
					viols = append(viols, found{j.seq, Violation{Point: j.st.Point, Where: tr.PointString(j.st.Point), State: j.st.Describe(tr), Err: err}})
				}
				mu.Unlock()
			}
		})
	}
	sim := NewSimulator(tr, opt.Options)
	seq, cp := 0, -1
	for k := 0; k <= tr.Len(); k++ {
		for cp+1 < len(cps) && cps[cp+1].At <= k {
			cp++
		}
		for _, st := range sim.States(k) {
			jobs <- job{seq, st, cp}
			seq++
		}
	}
	close(jobs)
	wg.Wait()
	slices.SortFunc(viols, func(a, b found) int { return cmp.Compare(a.seq, b.seq) })
	for _, v := range viols[:min(keep, len(viols))] {
		rep.First = append(rep.First, v.v)
	}
	return rep
}

func runChecker(check Checker, state *FS, committed any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the checker panicked: %v\n%s", r, debug.Stack())
		}
	}()
	return check(state, committed)
}
