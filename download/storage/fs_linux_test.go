package storage

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
)

// The state folder's shortcut (fs_linux.go) behaves as os.Root does: the
// same random creates, opens, writes and renames out of the state folder
// (into folders, onto folders, through a symlink inside the root), through
// RootFS with and without it, give the same errors and trees.
func TestStateFolderShortcutActsAsRoot(t *testing.T) {
	names := []string{"p", "q", "r"}
	dests := []string{"a", "b", "d/a", "d/b", "d/e/a", "x/a", "p", "d", "s", "s/a", "s/e/a", "d/../a", "./b"}
	flags := []int{os.O_RDWR, os.O_RDWR | os.O_CREATE, os.O_RDWR | os.O_CREATE | os.O_EXCL, os.O_RDONLY}
	for seed := range 100 {
		rng := rand.New(rand.NewPCG(uint64(seed), 2))
		var fss [2]RootFS
		var dirs [2]string
		for i := range fss {
			dirs[i] = t.TempDir()
			for _, d := range []string{PartialDir, "d/e"} {
				if err := os.MkdirAll(filepath.Join(dirs[i], d), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			// s is a symlink inside the root, which os.Root follows.
			if err := os.Symlink("d", filepath.Join(dirs[i], "s")); err != nil {
				t.Fatal(err)
			}
			root, err := os.OpenRoot(dirs[i])
			if err != nil {
				t.Fatal(err)
			}
			defer root.Close()
			fss[i] = RootFS{Root: root}
		}
		fss[1] = NewRootFS(fss[1].Root)
		defer fss[1].Close()
		var log []string
		for step := range 40 {
			name := PartialDir + "/" + names[rng.IntN(len(names))]
			var res [2]string
			var errs [2]error
			switch op := rng.IntN(3); op {
			case 0, 1:
				flag := flags[rng.IntN(len(flags))]
				data := fmt.Sprintf("%d/%d", seed, step)
				for i, fsys := range fss {
					f, err := fsys.OpenFile(name, flag, 0o644)
					if err == nil {
						_, err = f.WriteAt([]byte(data), int64(step%3))
						if err == nil {
							err = f.Sync()
						}
						f.Close()
					}
					errs[i] = err
				}
				log = append(log, fmt.Sprintf("open %s %#x: %v / %v", name, flag, errs[0], errs[1]))
			case 2:
				dest := dests[rng.IntN(len(dests))]
				for i, fsys := range fss {
					errs[i] = fsys.Rename(name, dest)
				}
				log = append(log, fmt.Sprintf("rename %s %s: %v / %v", name, dest, errs[0], errs[1]))
				var syncErrs [2]error
				for i, fsys := range fss {
					syncErrs[i] = fsys.SyncDir(parentDir(dest))
				}
				if a, b := errnoOf(syncErrs[0]), errnoOf(syncErrs[1]); a != b {
					t.Fatalf("seed %d step %d: sync %s: os.Root %s, shortcut %s", seed, step, parentDir(dest), a, b)
				}
			}
			for i := range errs {
				res[i] = errnoOf(errs[i])
			}
			if res[0] != res[1] {
				t.Fatalf("seed %d step %d: os.Root %s, shortcut %s\n%s", seed, step, res[0], res[1], strings.Join(log, "\n"))
			}
		}
		for _, fsys := range fss {
			if err := fsys.SyncDir(PartialDir); err != nil {
				t.Fatal(err)
			}
		}
		if a, b := treeOf(t, dirs[0]), treeOf(t, dirs[1]); a != b {
			t.Fatalf("seed %d: trees differ\nos.Root:\n%s\nshortcut:\n%s\n%s", seed, a, b, strings.Join(log, "\n"))
		}
	}
}

// A symlink put in the state folder in place of a partial file is refused,
// never followed out of the output folder.
func TestStateFolderShortcutRefusesSymlinks(t *testing.T) {
	dir, outside := t.TempDir(), t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, PartialDir), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(outside, "target"), filepath.Join(dir, PartialDir, "x.part")); err != nil {
		t.Fatal(err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	fsys := NewRootFS(root)
	defer fsys.Close()
	if f, err := fsys.OpenFile(PartialDir+"/x.part", os.O_RDWR|os.O_CREATE, 0o644); err == nil {
		f.Close()
		t.Fatal("opened a partial file through a symlink")
	}
	assertMissing(t, filepath.Join(outside, "target"))
}

func errnoOf(err error) string {
	if err == nil {
		return "ok"
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno.Error()
	}
	return "error " + err.Error()
}

func treeOf(t *testing.T, dir string) string {
	var lines []string
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		line := rel + " " + fi.Mode().String()
		if fi.Mode()&os.ModeSymlink != 0 {
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			line += " -> " + target
		}
		if fi.Mode().IsRegular() {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			line += fmt.Sprintf(" %q", data)
		}
		lines = append(lines, line)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}
