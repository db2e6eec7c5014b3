package crashfs

import (
	"fmt"
	"strings"
)

// The power-cut model. At crash point k (after the first k operations of a
// trace) every operation is durable or pending:
//
//   - A write or truncate of a file is durable once a File.Sync of that file
//     (any handle) follows it; a file's durable changes are thus always the
//     oldest ones.
//   - A create, mkdir, remove or rename is durable once a SyncDir of its
//     folder follows it; a rename between two folders needs a SyncDir of
//     each. Syncing a file does not make its name durable, and syncing a
//     folder does not make the data of its files durable. Removing a
//     folder counts as its sync (it cannot be synced any more, and what it
//     held goes with it).
//
// A power cut keeps every durable operation and any subset of the pending
// ones: each pending operation is kept whole or lost whole, independently
// of the others, so pending operations may be lost out of order (later
// ones kept, earlier ones lost), in a file and across files and folders.
// One exception keeps every state a tree: renames are kept, and made
// durable, in order among the renames of the same file or folder, and
// among all renames of folders (a later one only with the earlier ones),
// as journaling filesystems do; otherwise a crash could leave a file
// under two names, or a folder inside itself.
//
// With Options.TornWrites = B a pending write is split at the multiples of
// B bytes of the file and each piece is kept or lost on its own. The kept
// operations are applied in their original order. Consequences:
//
//   - A lost write leaves what the file held before (zeros past its old
//     end, if a later kept write extends the file). A file never holds
//     bytes nobody wrote to it.
//   - A rename is atomic: kept, the new name holds the file and the old
//     name is gone; lost, both names hold what they held before. A file
//     is never under two names, and never under none because of a rename.
//   - A folder entry holds the inode of the last kept operation on that
//     entry. A file whose create was lost is unreachable with its data; so
//     is everything in a folder whose mkdir was lost.
//
// This is at least as pessimistic as ext4 data=ordered (which loses
// unsynced data, commits metadata in order, and makes a rename durable
// with a journal commit that a sync of either folder forces) and as POSIX
// (which promises nothing before fsync), except that it keeps renames in
// the order above, never tears a name operation, and tears writes only
// with TornWrites. It does not model a failing fsync (wrap the FS for
// that), nor ext4's auto_da_alloc, which flushes data replaced by rename.
//
// The states of a crash point always include the clean crash (every
// operation kept: what SIGKILL leaves) and the durable state (every
// pending operation lost). If 2^pending <= Options.MaxStates every subset
// is built; otherwise a deterministic choice (seeded by Options.Seed and
// k) of: all but one operation, all but one file's data or one folder's
// names, only one operation or group, the first i pending operations (an
// in-order crash), and random subsets.

// Options bound and shape the states of each crash point.
type Options struct {
	// MaxStates is the most states per crash point; 0 means 16.
	MaxStates int
	// Seed makes the choice of states when there are too many.
	Seed int64
	// TornWrites, if positive, lets a pending write be kept in pieces:
	// it is split at the multiples of TornWrites bytes of the file (512 for
	// sectors, 4096 for pages).
	TornWrites int
}

// State is one disk state a power cut may leave.
type State struct {
	FS    *FS    // a fresh FS holding the state; it records, from this state
	Point int    // the crash point: after this many operations
	Kind  string // clean, durable, exhaustive, drop, drop-group, only, only-group, prefix, random
	Lost  []int  // the pending operations (trace indices) not kept, or not wholly kept
}

// Describe says which operations the state lost.
func (s State) Describe(t *Trace) string {
	if len(s.Lost) == 0 {
		return s.Kind + " state: nothing lost"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s state: lost %d pending operation(s): ", s.Kind, len(s.Lost))
	for i, o := range s.Lost {
		if i == 4 {
			fmt.Fprintf(&b, ", ... (%d more)", len(s.Lost)-i)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%d %s", o+1, t.ops[o])
	}
	return b.String()
}

// CrashStates returns the disk states a power cut after the first k
// recorded operations may leave, at most max of them (0: 16), chosen with
// seed; nil if k is not a crash point (0 <= k <= Len()).
func (f *FS) CrashStates(k, max int, seed int64) []*FS {
	tr := f.Trace()
	if k < 0 || k > tr.Len() {
		return nil
	}
	states := NewSimulator(tr, Options{MaxStates: max, Seed: seed}).States(k)
	out := make([]*FS, len(states))
	for i, s := range states {
		out[i] = s.FS
	}
	return out
}
