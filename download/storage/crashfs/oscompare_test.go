package crashfs

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path"
	"runtime"
	"slices"
	"syscall"
	"testing"

	"github.com/openmsi/datafiledownloaddirectory/download/storage"
)

// TestSameAsOSRoot runs random operations on a crashfs and on a real
// folder through os.Root (the production FS) and wants the same outcome:
// the same errno, what was read, and the same tree at the end. The
// reference is the kernel and Go's os package, not this package.
func TestSameAsOSRoot(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("crashfs has Linux semantics; os.Root on " + runtime.GOOS + " differs by design")
	}
	names := []string{"a", "b", "d", "e", "d/a", "d/b", "d/e", "d/e/a", "e/a", "a/x"}
	for seed := range 200 {
		root, err := os.OpenRoot(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		real, mem := storage.RootFS{Root: root}, New()
		rng := rand.New(rand.NewPCG(uint64(seed), 1))
		var log []string
		for step := range 80 {
			x, y := names[rng.IntN(len(names))], names[rng.IntN(len(names))]
			off, n := int64(rng.IntN(8)), rng.IntN(6)
			data := fmt.Sprintf("%d-%d.....", seed, step)[:n]
			kind := rng.IntN(13)
			do := func(f storage.FS) (string, error) { return runOp(f, kind, x, y, off, data) }
			gotReal, errReal := do(real)
			gotMem, errMem := do(mem)
			log = append(log, fmt.Sprintf("%d %s %s %d %q: os %q %v, crashfs %q %v", kind, x, y, off, data, gotReal, errReal, gotMem, errMem))
			if !sameErr(errReal, errMem) || gotReal != gotMem {
				t.Fatalf("seed %d step %d differs:\n%s", seed, step, join(log))
			}
		}
		if a, b := dump(t, real), dump(t, mem); a != b {
			t.Fatalf("seed %d: trees differ\nos:\n%s\ncrashfs:\n%s\nops:\n%s", seed, a, b, join(log))
		}
		root.Close()
	}
}

func join(l []string) string {
	s := ""
	for _, x := range l {
		s += x + "\n"
	}
	return s
}

func sameErr(a, b error) bool {
	if (a == nil) != (b == nil) {
		return false
	}
	if a == nil {
		return true
	}
	var ea, eb syscall.Errno
	if errors.As(a, &ea) != errors.As(b, &eb) {
		return false
	}
	return ea == eb
}

// runOp does one operation and returns what it read.
func runOp(f storage.FS, kind int, x, y string, off int64, data string) (string, error) {
	switch kind {
	case 0:
		return "", f.Mkdir(x, 0o755)
	case 1:
		return "", f.Remove(x)
	case 2:
		return "", f.Rename(x, y)
	case 3, 4:
		flag := os.O_WRONLY
		if kind == 3 {
			flag |= os.O_CREATE | os.O_EXCL
		}
		h, err := f.OpenFile(x, flag, 0o644)
		if err != nil {
			return "", err
		}
		defer h.Close()
		_, err = h.WriteAt([]byte(data), off)
		return "", err
	case 5:
		h, err := f.OpenFile(x, os.O_CREATE|os.O_RDWR|os.O_TRUNC, 0o644)
		if err != nil {
			return "", err
		}
		defer h.Close()
		if err := h.Truncate(off); err != nil {
			return "", err
		}
		_, err = h.(io.Writer).Write([]byte(data))
		return "", err
	case 6:
		h, err := f.OpenFile(x, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			return "", err
		}
		defer h.Close()
		_, err = h.(io.Writer).Write([]byte(data))
		return "", err
	case 7:
		h, err := f.OpenFile(x, os.O_RDONLY, 0)
		if err != nil {
			return "", err
		}
		defer h.Close()
		b := make([]byte, 4)
		n, err := h.ReadAt(b, off)
		if err == io.EOF {
			err = nil // both say EOF; what was read is compared
		}
		return string(b[:n]), err
	case 9, 11: // what a read-only handle refuses
		h, err := f.OpenFile(x, os.O_RDONLY, 0)
		if err != nil {
			return "", err
		}
		defer h.Close()
		if kind == 9 {
			_, err = h.WriteAt([]byte("x"), off)
			return "", err
		}
		return "", h.Truncate(off)
	case 10:
		info, err := f.Lstat(x)
		if err != nil {
			return "", err
		}
		if info.IsDir() {
			return "dir " + info.Name(), nil
		}
		return fmt.Sprint(info.Name(), info.Size(), info.Mode()), nil
	default:
		ents, err := f.ReadDir(x)
		var s []string
		for _, e := range ents {
			s = append(s, fmt.Sprint(e.Name(), e.IsDir()))
		}
		slices.Sort(s) // RootFS lists in the folder's order, crashfs sorted
		return fmt.Sprint(s), err
	}
}

// dump lists a tree: every path, and a file's contents.
func dump(t *testing.T, f storage.FS) string {
	t.Helper()
	var out []string
	var walk func(dir string)
	walk = func(dir string) {
		ents, err := f.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			p := path.Join(dir, e.Name())
			if e.IsDir() {
				out = append(out, p+"/")
				walk(p)
				continue
			}
			s, _ := readFile(t, f, p)
			out = append(out, fmt.Sprintf("%s %q", p, s))
		}
	}
	walk(".")
	slices.Sort(out)
	return join(out)
}
