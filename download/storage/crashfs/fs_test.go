package crashfs

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/openmsi/datafiledownloaddirectory/download/storage"
)

// writeFile creates or replaces name with data, without any sync.
func writeFile(t *testing.T, f storage.FS, name, data string) {
	t.Helper()
	h, err := f.OpenFile(name, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.WriteAt([]byte(data), 0); err != nil {
		t.Fatal(err)
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
}

// readFile returns the contents of name, or ok false if it is absent.
func readFile(t *testing.T, f storage.FS, name string) (string, bool) {
	t.Helper()
	info, err := f.Lstat(name)
	if errors.Is(err, fs.ErrNotExist) {
		return "", false
	}
	if err != nil {
		t.Fatal(err)
	}
	h, err := f.OpenFile(name, os.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	b := make([]byte, info.Size())
	if _, err := h.ReadAt(b, 0); err != nil && err != io.EOF {
		t.Fatal(err)
	}
	return string(b), true
}

func wantErrno(t *testing.T, err error, want syscall.Errno) {
	t.Helper()
	var got syscall.Errno
	if !errors.As(err, &got) || got != want {
		t.Fatalf("error %v, want %v (%d)", err, want, int(want))
	}
}

func TestOpenFlags(t *testing.T) {
	f := New()
	_, err := f.OpenFile("a", os.O_RDONLY, 0)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("open of a missing file: %v", err)
	}
	var pe *fs.PathError
	if !errors.As(err, &pe) || pe.Op != "open" || pe.Path != "a" {
		t.Fatalf("want a *fs.PathError naming the file, got %#v", err)
	}
	writeFile(t, f, "a", "hello world")
	if _, err := f.OpenFile("a", os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("O_EXCL on an existing file: %v", err)
	}
	h, err := f.OpenFile("a", os.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.WriteAt([]byte("x"), 0); err == nil {
		t.Fatal("WriteAt on an O_RDONLY file succeeded")
	}
	if err := h.Truncate(0); err == nil {
		t.Fatal("Truncate on an O_RDONLY file succeeded")
	}
	b := make([]byte, 8)
	if n, err := h.ReadAt(b, 6); n != 5 || err != io.EOF || string(b[:n]) != "world" {
		t.Fatalf("ReadAt across the end: %d %v %q, want 5 io.EOF \"world\"", n, err, b[:n])
	}
	if n, err := h.ReadAt(b, 100); n != 0 || err != io.EOF {
		t.Fatalf("ReadAt past the end: %d %v", n, err)
	}
	if n, err := h.ReadAt(b[:5], 0); n != 5 || err != nil {
		t.Fatalf("ReadAt inside: %d %v", n, err)
	}
	h.Close()
	if err := h.Close(); !errors.Is(err, fs.ErrClosed) {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := h.ReadAt(b, 0); !errors.Is(err, fs.ErrClosed) {
		t.Fatalf("ReadAt after Close: %v", err)
	}

	w, _ := f.OpenFile("a", os.O_WRONLY, 0)
	if _, err := w.ReadAt(b, 0); err == nil {
		t.Fatal("ReadAt on an O_WRONLY file succeeded")
	}
	w.Close()

	ap, err := f.OpenFile("a", os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ap.WriteAt([]byte("x"), 0); err == nil {
		t.Fatal("WriteAt on an O_APPEND file succeeded, as os.File refuses")
	}
	if _, err := ap.(io.Writer).Write([]byte("!")); err != nil {
		t.Fatal(err)
	}
	ap.Close()
	if got, _ := readFile(t, f, "a"); got != "hello world!" {
		t.Fatalf("after O_APPEND write: %q", got)
	}

	tr, _ := f.OpenFile("a", os.O_RDWR|os.O_TRUNC, 0)
	if info, _ := f.Lstat("a"); info.Size() != 0 {
		t.Fatalf("O_TRUNC left size %d", info.Size())
	}
	// A write past the end leaves zeros between, as a sparse file reads.
	tr.WriteAt([]byte("z"), 3)
	tr.Truncate(6)
	tr.Close()
	if got, _ := readFile(t, f, "a"); got != "\x00\x00\x00z\x00\x00" {
		t.Fatalf("write past the end then grow: %q", got)
	}
	// Shrinking then growing must not bring back the old bytes.
	h, _ = f.OpenFile("a", os.O_RDWR, 0)
	h.Truncate(2)
	h.WriteAt([]byte("y"), 5)
	h.Close()
	if got, _ := readFile(t, f, "a"); got != "\x00\x00\x00\x00\x00y" {
		t.Fatalf("truncate then write past the end: %q", got)
	}
	if _, err := f.OpenFile("../x", os.O_CREATE|os.O_WRONLY, 0o644); err == nil {
		t.Fatal("a name escaping the root was accepted")
	}
}

func TestNamesAndFolders(t *testing.T) {
	f := New()
	if err := f.Mkdir("d", 0o755); err != nil {
		t.Fatal(err)
	}
	wantErrno(t, f.Mkdir("d", 0o755), syscall.EEXIST)
	wantErrno(t, f.Mkdir("x/y", 0o755), syscall.ENOENT)
	writeFile(t, f, "d/b", "2")
	writeFile(t, f, "d/a", "1")
	writeFile(t, f, "d/c", "3")
	f.Mkdir("d/sub", 0o700)
	ents, err := f.ReadDir("d")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{"a", "b", "c", "sub"}) || !ents[3].IsDir() || ents[0].IsDir() {
		t.Fatalf("ReadDir: %v", names)
	}
	_, err = f.ReadDir("d/a")
	wantErrno(t, err, syscall.ENOTDIR)
	_, err = f.OpenFile("d/a/x", os.O_CREATE|os.O_WRONLY, 0o644)
	wantErrno(t, err, syscall.ENOTDIR)
	_, err = f.OpenFile("d", os.O_WRONLY, 0)
	wantErrno(t, err, syscall.EISDIR)

	wantErrno(t, f.Remove("d"), syscall.ENOTEMPTY)
	wantErrno(t, f.Remove("nothing"), syscall.ENOENT)
	if err := f.Remove("d/sub"); err != nil {
		t.Fatal(err)
	}

	// Rename replaces a file atomically.
	if err := f.Rename("d/a", "d/b"); err != nil {
		t.Fatal(err)
	}
	if got, _ := readFile(t, f, "d/b"); got != "1" {
		t.Fatalf("d/b after rename over it: %q", got)
	}
	if _, ok := readFile(t, f, "d/a"); ok {
		t.Fatal("d/a still there after its rename")
	}
	err = f.Rename("d/a", "d/z")
	var le *os.LinkError
	if !errors.As(err, &le) || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("rename of a missing file: %#v", err)
	}
	wantErrno(t, f.Rename("d/b", "nowhere/b"), syscall.ENOENT)
	f.Mkdir("e", 0o755)
	// os.Rename never replaces a folder, even an empty one.
	wantErrno(t, f.Rename("d/b", "e"), syscall.EEXIST)
	wantErrno(t, f.Rename("d", "e"), syscall.EEXIST)
	wantErrno(t, f.Rename("e", "d/b"), syscall.ENOTDIR)
	wantErrno(t, f.Rename("d", "d/inside"), syscall.EINVAL)
	// A folder moves with what it holds.
	if err := f.Rename("d", "d2"); err != nil {
		t.Fatal(err)
	}
	if got, _ := readFile(t, f, "d2/c"); got != "3" {
		t.Fatalf("d2/c after the folder rename: %q", got)
	}
}

func TestClockAndLstat(t *testing.T) {
	start := time.Date(2030, 5, 6, 7, 8, 9, 0, time.UTC)
	f := NewConfig(Config{Start: start})
	writeFile(t, f, "a", "abc")
	f.Advance(time.Hour)
	info, err := f.Lstat("a")
	if err != nil {
		t.Fatal(err)
	}
	if info.Size() != 3 || info.IsDir() || !info.ModTime().Equal(start) || info.Name() != "a" {
		t.Fatalf("Lstat: size %d dir %v mtime %v", info.Size(), info.IsDir(), info.ModTime())
	}
	h, _ := f.OpenFile("a", os.O_WRONLY, 0)
	h.WriteAt([]byte("d"), 3)
	h.Close()
	info, _ = f.Lstat("a")
	if !info.ModTime().Equal(start.Add(time.Hour)) {
		t.Fatalf("mtime after a write an hour later: %v", info.ModTime())
	}
	if info, _ := f.Lstat("."); !info.IsDir() {
		t.Fatal("the root is not a folder")
	}
}

func TestFileSizeLimit(t *testing.T) {
	f := NewConfig(Config{MaxFileSize: 1 << 20})
	h, _ := f.OpenFile("a", os.O_CREATE|os.O_RDWR, 0o644)
	defer h.Close()
	_, err := h.WriteAt([]byte("x"), 1<<44)
	wantErrno(t, err, syscall.EFBIG)
}

func TestWindowsSemantics(t *testing.T) {
	for _, windows := range []bool{false, true} {
		f := NewConfig(Config{WindowsSemantics: windows})
		f.Mkdir("d", 0o755)
		writeFile(t, f, "d/open", "1")
		writeFile(t, f, "new", "2")
		h, err := f.OpenFile("d/open", os.O_RDONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		errs := []error{
			f.Rename("new", "d/open"), // replace an open file
			f.Rename("d", "d2"),       // rename a folder holding an open file
		}
		for i, err := range errs {
			if windows != (err != nil) {
				t.Fatalf("windows=%v: operation %d: %v", windows, i, err)
			}
			if windows && (!errors.Is(err, fs.ErrPermission) || !errors.Is(err, ErrAccessDenied)) {
				t.Fatalf("windows: operation %d: %v is not access denied", i, err)
			}
		}
		if !windows {
			h.Close()
			continue
		}
		if err := f.Remove("d/open"); !errors.Is(err, ErrAccessDenied) {
			t.Fatalf("remove of an open file: %v", err)
		}
		h.Close()
		if err := f.Rename("new", "d/open"); err != nil {
			t.Fatalf("rename over a closed file: %v", err)
		}
		if err := f.Remove("d/open"); err != nil {
			t.Fatalf("remove of a closed file: %v", err)
		}
	}
}

func TestPOSIXKeepsRemovedOpenFile(t *testing.T) {
	f := New()
	h, _ := f.OpenFile("a", os.O_CREATE|os.O_RDWR, 0o644)
	if err := f.Remove("a"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.WriteAt([]byte("still here"), 0); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 10)
	if n, _ := h.ReadAt(b, 0); string(b[:n]) != "still here" {
		t.Fatalf("read of a removed open file: %q", b[:n])
	}
	h.Close()
}
