package crashfs

import (
	"io/fs"
	"slices"
	"sync/atomic"
	"time"
)

// inode is a file or a folder. Inodes are shared between trees after a
// clone and copied on their first change (see tree.mut), so a crash state
// costs one slice of pointers plus the inodes it changes.
type inode struct {
	owner uint64 // id of the only tree that may change this struct in place
	dir   bool
	perm  fs.FileMode
	mtime time.Time
	data  []byte
	// entries maps the names of a folder to inode numbers.
	entries map[string]int
	// dataShared and entriesShared say that data or entries may be
	// referenced by another tree, so they are copied before a change.
	dataShared, entriesShared bool
}

// tree is a whole filesystem: inodes by number, 0 is the root folder.
// Inodes no name reaches (removed, or created in a folder whose entry was
// lost) stay in the slice; they cost nothing but a pointer.
type tree struct {
	id     uint64
	frozen bool // a snapshot nobody changes, so clones need not re-key it
	inodes []*inode
}

var treeIDs atomic.Uint64

func newTree(now time.Time) *tree {
	t := &tree{id: treeIDs.Add(1)}
	t.inodes = []*inode{{owner: t.id, dir: true, perm: fs.ModeDir | 0o755, mtime: now, entries: map[string]int{}}}
	return t
}

// clone returns a copy that shares every inode with t. Both t and the copy
// then copy an inode before they change it: t gets a new id, so it owns
// none of its inodes any more.
func (t *tree) clone() *tree {
	c := &tree{id: treeIDs.Add(1), inodes: slices.Clone(t.inodes)}
	if !t.frozen {
		t.id = treeIDs.Add(1)
	}
	return c
}

// snapshot returns a frozen clone: safe to clone from many goroutines.
func (t *tree) snapshot() *tree {
	c := t.clone()
	c.frozen = true
	return c
}

// mut returns inode i ready to be changed in place by t.
func (t *tree) mut(i int) *inode {
	n := t.inodes[i]
	if n.owner != t.id {
		c := *n
		c.owner = t.id
		c.dataShared, c.entriesShared = true, true
		t.inodes[i] = &c
		n = &c
	}
	return n
}

func (t *tree) add(n *inode) int {
	if t.frozen {
		panic("crashfs: change to a frozen tree")
	}
	n.owner = t.id
	t.inodes = append(t.inodes, n)
	return len(t.inodes) - 1
}

func newFile(perm fs.FileMode, now time.Time) *inode {
	return &inode{perm: perm & fs.ModePerm, mtime: now}
}

func newDir(perm fs.FileMode, now time.Time) *inode {
	return &inode{dir: true, perm: fs.ModeDir | perm&fs.ModePerm, mtime: now, entries: map[string]int{}}
}

// writeAt and truncate change a file of a mutable inode (from tree.mut).
// Bytes between the old end and a write past it read as zeros.
func (n *inode) writeAt(p []byte, off int64) {
	n.unshareData()
	end := int(off) + len(p)
	n.grow(end)
	copy(n.data[off:], p)
}

func (n *inode) truncate(size int64) {
	n.unshareData()
	if int(size) <= len(n.data) {
		n.data = n.data[:size]
		return
	}
	n.grow(int(size))
}

func (n *inode) grow(end int) {
	if end <= len(n.data) {
		return
	}
	old := len(n.data)
	n.data = slices.Grow(n.data, end-old)[:end]
	clear(n.data[old:]) // the backing array may hold bytes of a truncated tail
}

func (n *inode) unshareData() {
	if n.dataShared {
		n.data = slices.Clone(n.data)
		n.dataShared = false
	}
}

func (n *inode) setEntry(name string, ino int) {
	n.unshareEntries()
	n.entries[name] = ino
}

func (n *inode) deleteEntry(name string) {
	n.unshareEntries()
	delete(n.entries, name)
}

func (n *inode) unshareEntries() {
	if n.entriesShared {
		m := make(map[string]int, len(n.entries)+1)
		for k, v := range n.entries {
			m[k] = v
		}
		n.entries = m
		n.entriesShared = false
	}
}
