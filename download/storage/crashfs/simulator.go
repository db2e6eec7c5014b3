package crashfs

import (
	"fmt"
	"slices"
)

// Simulator builds the crash states of a trace (the model is described in
// crash.go). Asking for increasing crash points is cheapest: it keeps the
// durable state of the last one and adds the operations since.
type Simulator struct {
	tr  *Trace
	opt Options

	k    int
	base *tree // the durable state at crash point k
	// keyOp is the index of the last durable operation on each folder
	// entry; an entry absent here holds what the trace started from.
	keyOp    map[entryKey]int
	pendData map[int][]int // inode -> pending writes and truncates, in order
	pendName map[int][]int // pending name operation -> folders it still waits for
	byDir    map[int][]int // folder -> pending name operations that wait for its sync
	// Renames are kept and made durable in order: those of one inode, and
	// all those of folders (see crash.go). prevs lists the earlier
	// renames a pending rename follows; ready are the name operations
	// whose folders are synced but that wait for such an earlier rename.
	prevs         map[int][]int
	lastRename    map[int]int // inode -> its last rename
	lastDirRename int
	ready         []int
}

type entryKey struct {
	dir  int
	name string
}

// item is a pending operation, or with torn writes a piece [lo,hi) of a
// pending write, that a state keeps or loses.
type item struct {
	op     int
	lo, hi int64
}

// NewSimulator returns a simulator of tr's crash points.
func NewSimulator(tr *Trace, opt Options) *Simulator {
	if opt.MaxStates <= 0 {
		opt.MaxStates = 16
	}
	s := &Simulator{tr: tr, opt: opt}
	s.reset()
	return s
}

func (s *Simulator) reset() {
	s.k = 0
	s.base = s.tr.base.clone()
	s.keyOp = map[entryKey]int{}
	s.pendData = map[int][]int{}
	s.pendName = map[int][]int{}
	s.byDir = map[int][]int{}
	s.prevs = map[int][]int{}
	s.lastRename = map[int]int{}
	s.lastDirRename = -1
	s.ready = nil
}

// States returns the states of crash point k, 0 <= k <= Len() of the
// trace; it panics on another k, a bug of the test that asks.
func (s *Simulator) States(k int) []State {
	if k < 0 || k > len(s.tr.ops) {
		panic(fmt.Sprintf("crashfs: crash point %d of a trace of %d operations", k, len(s.tr.ops)))
	}
	if k < s.k {
		s.reset()
	}
	for ; s.k < k; s.k++ {
		s.advance(s.k)
	}
	items := s.pendingItems()
	picks := chooseSubsets(len(items), s.groups(items), s.opt.MaxStates, s.opt.Seed^int64(k)*-7046029254386353131)
	now := s.tr.start
	if k > 0 {
		now = s.tr.ops[k-1].Time
	}
	out := make([]State, 0, len(picks))
	seen := map[string]bool{}
	for _, p := range picks {
		keep := s.ordered(items, p.keep)
		if kk := key(keep); seen[kk] {
			continue
		} else {
			seen[kk] = true
		}
		t, lost := s.build(items, keep)
		out = append(out, State{FS: fromTree(t, s.tr.cfg, now), Point: k, Kind: p.kind, Lost: lost})
	}
	return out
}

// advance adds operation i to the durable state or to the pending ones.
func (s *Simulator) advance(i int) {
	op := &s.tr.ops[i]
	switch op.Kind {
	case OpCreate, OpMkdir:
		// The inode exists from now on; only its name may be lost.
		n := newFile(op.perm, op.Time)
		if op.Kind == OpMkdir {
			n = newDir(op.perm, op.Time)
		}
		if got := s.base.add(n); got != op.ino {
			panic(fmt.Sprintf("crashfs: replay made inode %d for %s, the recording %d", got, op, op.ino))
		}
		s.addPendingName(i, op)
	case OpRename:
		s.addPendingName(i, op)
		var prevs []int
		if j, ok := s.lastRename[op.ino]; ok && s.pendName[j] != nil {
			prevs = append(prevs, j)
		}
		dir := s.base.inodes[op.ino].dir
		if j := s.lastDirRename; dir && j >= 0 && s.pendName[j] != nil && !slices.Contains(prevs, j) {
			prevs = append(prevs, j)
		}
		if prevs != nil {
			s.prevs[i] = prevs
		}
		s.lastRename[op.ino] = i
		if dir {
			s.lastDirRename = i
		}
	case OpRemove:
		s.addPendingName(i, op)
		if op.Kind == OpRemove && s.base.inodes[op.ino].dir {
			// A removed folder cannot be synced any more, and whatever it
			// held is gone with it: its pending names stop waiting for it.
			s.folderSynced(op.ino)
		}
	case OpWrite, OpTruncate:
		s.pendData[op.ino] = append(s.pendData[op.ino], i)
	case OpSync:
		for _, j := range s.pendData[op.ino] {
			s.applyData(s.base, j, 0, 0)
		}
		delete(s.pendData, op.ino)
	case OpSyncDir:
		s.folderSynced(op.ino)
	}
}

// folderSynced makes durable the pending name operations that waited only
// for folder dir.
func (s *Simulator) folderSynced(dir int) {
	for _, j := range s.byDir[dir] {
		wait, ok := s.pendName[j]
		if !ok {
			continue // durable already
		}
		wait = slices.DeleteFunc(wait, func(d int) bool { return d == dir })
		if len(wait) > 0 {
			s.pendName[j] = wait
			continue
		}
		s.pendName[j] = wait[:0] // non-nil: still pending
		s.ready = append(s.ready, j)
	}
	delete(s.byDir, dir)
	// Make durable, in order, what waits for no folder and no pending
	// earlier rename; one pass does, as an operation follows only earlier ones.
	slices.Sort(s.ready)
	s.ready = slices.DeleteFunc(s.ready, func(j int) bool {
		for _, p := range s.prevs[j] {
			if s.pendName[p] != nil {
				return false
			}
		}
		delete(s.pendName, j)
		delete(s.prevs, j)
		s.applyName(s.base, j, s.keyOp, nil)
		return true
	})
}

func (s *Simulator) addPendingName(i int, op *Op) {
	dirs := op.folders()
	s.pendName[i] = slices.Clone(dirs)
	for _, d := range dirs {
		s.byDir[d] = append(s.byDir[d], i)
	}
}

// applyData applies write or truncate j to t; hi > lo applies only that
// piece of a write.
func (s *Simulator) applyData(t *tree, j int, lo, hi int64) {
	op := &s.tr.ops[j]
	n := t.mut(op.ino)
	switch {
	case op.Kind == OpTruncate:
		n.truncate(op.Size)
	case hi > lo:
		n.writeAt(op.Data[lo-op.Off:hi-op.Off], lo)
	default:
		n.writeAt(op.Data, op.Off)
	}
	n.mtime = op.Time
}

// applyName applies name operation j to t, entry by entry, unless an entry
// already holds the result of a later operation: keyOp (then fallback)
// says which operation last set each entry, and is updated.
func (s *Simulator) applyName(t *tree, j int, keyOp, fallback map[entryKey]int) {
	op := &s.tr.ops[j]
	for _, c := range op.entryChanges() {
		key := entryKey{c.dir, c.name}
		last, ok := keyOp[key]
		if !ok && fallback != nil {
			last, ok = fallback[key]
		}
		if ok && last > j {
			continue
		}
		keyOp[key] = j
		d := t.mut(c.dir)
		if c.ino < 0 {
			d.deleteEntry(c.name)
		} else {
			d.setEntry(c.name, c.ino)
		}
		if op.Time.After(d.mtime) {
			d.mtime = op.Time
		}
	}
}

// pendingItems lists what a state may keep or lose, in trace order.
func (s *Simulator) pendingItems() []item {
	var ops []int
	for _, l := range s.pendData {
		ops = append(ops, l...)
	}
	for j := range s.pendName {
		ops = append(ops, j)
	}
	slices.Sort(ops)
	items := make([]item, 0, len(ops))
	for _, j := range ops {
		op := &s.tr.ops[j]
		b := int64(s.opt.TornWrites)
		if op.Kind != OpWrite || b <= 0 {
			items = append(items, item{op: j})
			continue
		}
		for lo, end := op.Off, op.Off+int64(len(op.Data)); lo < end; {
			hi := min((lo/b+1)*b, end)
			items = append(items, item{op: j, lo: lo, hi: hi})
			lo = hi
		}
	}
	return items
}

// groups are the item indices of each file's pending data and of each
// folder's pending names, in order of their first item.
func (s *Simulator) groups(items []item) [][]int {
	type gkey struct {
		name bool
		ino  int
	}
	at := map[gkey]int{}
	var out [][]int
	add := func(k gkey, i int) {
		g, ok := at[k]
		if !ok {
			g = len(out)
			at[k] = g
			out = append(out, nil)
		}
		out[g] = append(out[g], i)
	}
	for i, it := range items {
		op := &s.tr.ops[it.op]
		if op.isData() {
			add(gkey{false, op.ino}, i)
			continue
		}
		for _, d := range op.folders() {
			add(gkey{true, d}, i)
		}
	}
	return out
}

// ordered returns keep, less the renames that follow an earlier pending
// rename it does not keep.
func (s *Simulator) ordered(items []item, keep []bool) []bool {
	out := slices.Clone(keep)
	var dropped map[int]bool
	for i, it := range items {
		for _, p := range s.prevs[it.op] {
			if dropped[p] {
				out[i] = false
			}
		}
		if !out[i] && s.tr.ops[it.op].Kind == OpRename {
			if dropped == nil {
				dropped = map[int]bool{}
			}
			dropped[it.op] = true
		}
	}
	return out
}

// build makes the state that keeps the durable operations and the items
// keep selects; it returns the operations it lost.
func (s *Simulator) build(items []item, keep []bool) (*tree, []int) {
	t := s.base.clone()
	over := map[entryKey]int{}
	var lost []int
	for i, it := range items {
		if !keep[i] {
			if len(lost) == 0 || lost[len(lost)-1] != it.op {
				lost = append(lost, it.op)
			}
			continue
		}
		if s.tr.ops[it.op].isData() {
			s.applyData(t, it.op, it.lo, it.hi)
		} else {
			s.applyName(t, it.op, over, s.keyOp)
		}
	}
	return t, lost
}
