package crashfs

import "hash/maphash"

var fingerprintSeed = maphash.MakeSeed()

// fingerprint hashes what a checker of f can observe: the clock and every
// reachable name, kind, permission, time and content. The entries of a
// folder are combined by a sum, so that no sort is needed. f must not be
// in use.
func fingerprint(f *FS) uint64 {
	visited := map[int]bool{}
	var node func(ino int) uint64
	node = func(ino int) uint64 {
		n := f.t.inodes[ino]
		h := mix(maphash.Bytes(fingerprintSeed, n.data), uint64(len(n.data)))
		h = mix(mix(h, uint64(n.perm)), uint64(n.mtime.UnixNano()))
		if !n.dir || visited[ino] {
			return h // a folder met twice cannot be in a state (see crash.go); never loop
		}
		visited[ino] = true
		var sum uint64
		for name, c := range n.entries {
			sum += mix(maphash.String(fingerprintSeed, name), node(c))
		}
		return mix(mix(h, sum), uint64(len(n.entries)))
	}
	return mix(node(0), uint64(f.now.UnixNano()))
}

// mix combines two hashes (splitmix64's finalizer over a ^ mixed b).
func mix(a, b uint64) uint64 {
	return splitmix(a ^ splitmix(b))
}

func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}
