package crashfs

import (
	"fmt"
	"io/fs"
	"strings"
	"time"
)

// OpKind is what a recorded operation did.
type OpKind uint8

const (
	OpCreate   OpKind = iota + 1 // a new file under a name (OpenFile with O_CREATE)
	OpMkdir                      // a new folder under a name
	OpWrite                      // bytes written at an offset
	OpTruncate                   // a file's size set (Truncate, or O_TRUNC of a non-empty file)
	OpRename                     // a name moved, replacing what the new name held
	OpRemove                     // a name removed
	OpSync                       // a file's data made durable (File.Sync)
	OpSyncDir                    // a folder's names made durable (SyncDir, or Sync of a folder handle)
)

var opNames = [...]string{"?", "create", "mkdir", "write", "truncate", "rename", "remove", "sync", "syncdir"}

func (k OpKind) String() string {
	if int(k) < len(opNames) {
		return opNames[k]
	}
	return fmt.Sprintf("OpKind(%d)", k)
}

// Op is one recorded operation that changed the filesystem or its
// durability. Reads, opens of existing files and closes are not recorded:
// they change nothing a power cut could lose.
type Op struct {
	Kind    OpKind
	Path    string // the name as the caller gave it, cleaned
	NewPath string // OpRename: the destination
	Off     int64  // OpWrite
	Data    []byte // OpWrite: the bytes written (a copy, never changed)
	Size    int64  // OpTruncate
	Time    time.Time

	// What the operation changes, by inode number: ino is the file or
	// folder created, written, synced, renamed or removed; dir (and newDir
	// for a rename) is the folder whose entry name (newName) changes.
	ino, dir, newDir int
	name, newName    string
	perm             fs.FileMode // OpCreate, OpMkdir
}

func (o Op) String() string {
	switch o.Kind {
	case OpWrite:
		return fmt.Sprintf("write %q [%d,%d)", o.Path, o.Off, o.Off+int64(len(o.Data)))
	case OpTruncate:
		return fmt.Sprintf("truncate %q to %d", o.Path, o.Size)
	case OpRename:
		return fmt.Sprintf("rename %q -> %q", o.Path, o.NewPath)
	default:
		return fmt.Sprintf("%s %q", o.Kind, o.Path)
	}
}

func (o Op) isData() bool { return o.Kind == OpWrite || o.Kind == OpTruncate }

// entryChange is one folder entry set to an inode, or removed (ino < 0).
type entryChange struct {
	dir  int
	name string
	ino  int
}

// entryChanges are the folder entries a name operation sets. A rename is
// one atomic operation that changes two entries.
func (o Op) entryChanges() []entryChange {
	switch o.Kind {
	case OpCreate, OpMkdir:
		return []entryChange{{o.dir, o.name, o.ino}}
	case OpRemove:
		return []entryChange{{o.dir, o.name, -1}}
	case OpRename:
		return []entryChange{{o.dir, o.name, -1}, {o.newDir, o.newName, o.ino}}
	}
	return nil
}

// folders are the folders that must be synced after a name operation
// before it is durable.
func (o Op) folders() []int {
	if o.Kind == OpRename && o.newDir != o.dir {
		return []int{o.dir, o.newDir}
	}
	return []int{o.dir}
}

// Trace is what an FS recorded: the disk state it started from (durable,
// as after a clean shutdown) and every operation since, in order. Crash
// point k is a power cut after the first k operations, 0 <= k <= Len().
type Trace struct {
	base  *tree // frozen
	start time.Time
	cfg   Config
	ops   []Op
}

func (t *Trace) Len() int       { return len(t.ops) }
func (t *Trace) Op(i int) Op    { return t.ops[i] }
func (t *Trace) Config() Config { return t.cfg }

// String lists the operations, one a line, numbered from 1: the line of
// operation k is the last one before crash point k.
func (t *Trace) String() string {
	var b strings.Builder
	for i, o := range t.ops {
		fmt.Fprintf(&b, "%d %s\n", i+1, o)
	}
	return b.String()
}

// PointString names crash point k by the operation just before it.
func (t *Trace) PointString(k int) string {
	if k == 0 {
		return "crash point 0 (before any operation)"
	}
	return fmt.Sprintf("crash point %d (after %s)", k, t.ops[k-1])
}
