package crashfs

import "math/rand/v2"

// pick is one choice of the pending items a crash state keeps.
type pick struct {
	keep []bool
	kind string
}

// chooseSubsets chooses at most max (>= 2) subsets of n pending items:
// every subset if there are at most max, else the clean crash, the durable
// state, then in turn one of each family below, until max are chosen or
// the families run dry. Families: all but one group, all but one item,
// only one group, only one item, the first i items, random. Groups are a
// file's data or a folder's names, the unit a missing fsync loses. The
// order inside each family is a shuffle by seed, so that crash points
// with the same pending items look at different ones.
func chooseSubsets(n int, groups [][]int, max int, seed int64) []pick {
	if n < 20 && 1<<n <= max {
		out := make([]pick, 0, 1<<n)
		for mask := 1<<n - 1; mask >= 0; mask-- {
			p := pick{keep: make([]bool, n), kind: "exhaustive"}
			for i := range n {
				p.keep[i] = mask&(1<<i) != 0
			}
			switch mask {
			case 1<<n - 1:
				p.kind = "clean"
			case 0:
				p.kind = "durable"
			}
			out = append(out, p)
		}
		return out
	}
	rng := rand.New(rand.NewPCG(uint64(seed), uint64(n)))
	seen := map[string]bool{}
	var out []pick
	add := func(kind string, keep []bool) bool {
		if len(out) >= max {
			return false
		}
		k := key(keep)
		if seen[k] {
			return true
		}
		seen[k] = true
		out = append(out, pick{keep: keep, kind: kind})
		return true
	}
	add("clean", fill(n, true))
	add("durable", fill(n, false))

	gOrder, iOrder := rng.Perm(len(groups)), rng.Perm(n)
	families := []func(i int) (string, []bool, bool){
		func(i int) (string, []bool, bool) { // all but one group
			if i >= len(groups) {
				return "", nil, false
			}
			return "drop-group", setAll(fill(n, true), groups[gOrder[i]], false), true
		},
		func(i int) (string, []bool, bool) { // all but one item
			if i >= n {
				return "", nil, false
			}
			k := fill(n, true)
			k[iOrder[i]] = false
			return "drop", k, true
		},
		func(i int) (string, []bool, bool) { // only one group
			if i >= len(groups) {
				return "", nil, false
			}
			return "only-group", setAll(fill(n, false), groups[gOrder[i]], true), true
		},
		func(i int) (string, []bool, bool) { // only one item
			if i >= n {
				return "", nil, false
			}
			k := fill(n, false)
			k[iOrder[i]] = true
			return "only", k, true
		},
		func(i int) (string, []bool, bool) { // an in-order crash: the first j items
			if i >= n-1 {
				return "", nil, false
			}
			j := 1 + rng.IntN(n-1)
			k := fill(n, false)
			for x := range j {
				k[x] = true
			}
			return "prefix", k, true
		},
		func(i int) (string, []bool, bool) { // random, as long as it finds new ones
			if i >= 4*max {
				return "", nil, false
			}
			k := make([]bool, n)
			for x := range k {
				k[x] = rng.IntN(2) == 1
			}
			return "random", k, true
		},
	}
	for round := 0; len(out) < max; round++ {
		any := false
		for _, f := range families {
			kind, keep, ok := f(round)
			if !ok {
				continue
			}
			any = true
			if !add(kind, keep) {
				return out
			}
		}
		if !any {
			break
		}
	}
	return out
}

func fill(n int, v bool) []bool {
	k := make([]bool, n)
	if v {
		for i := range k {
			k[i] = true
		}
	}
	return k
}

func setAll(k []bool, idx []int, v bool) []bool {
	for _, i := range idx {
		k[i] = v
	}
	return k
}

func key(keep []bool) string {
	b := make([]byte, (len(keep)+7)/8)
	for i, v := range keep {
		if v {
			b[i/8] |= 1 << (i % 8)
		}
	}
	return string(b)
}
