package rig

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// The installed Go is what `make test-windows` patches: when a Go release
// changes deleteat, this fails in `make test` on Linux before the wine
// run would.
func TestPatchAppliesToTheInstalledGo(t *testing.T) {
	dir := t.TempDir()
	overlay, err := WriteOverlay(runtime.GOROOT(), dir)
	if errors.Is(err, ErrOverlayNotNeeded) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(overlay)
	if err != nil {
		t.Fatal(err)
	}
	var o struct{ Replace map[string]string }
	if err := json.Unmarshal(raw, &o); err != nil {
		t.Fatal(err)
	}
	orig := filepath.Join(runtime.GOROOT(), filepath.FromSlash(AtWindows))
	patched, ok := o.Replace[orig]
	if !ok || len(o.Replace) != 1 {
		t.Fatalf("overlay %s replaces %v, want only %s", overlay, o.Replace, orig)
	}
	before, _ := os.ReadFile(orig)
	after, err := os.ReadFile(patched)
	if err != nil {
		t.Fatal(err)
	}
	// One line changed, and it is the fallback clause.
	b, a := strings.Split(string(before), "\n"), strings.Split(string(after), "\n")
	if len(a) != len(b) {
		t.Fatalf("the patch changed the number of lines: %d -> %d", len(b), len(a))
	}
	var changed []string
	for i := range a {
		if a[i] != b[i] {
			changed = append(changed, a[i])
		}
	}
	if len(changed) != 1 || !strings.Contains(changed[0], "STATUS_NOT_SUPPORTED, NTStatus(0xC0000002):") {
		t.Fatalf("changed lines %q", changed)
	}
}

const deleteat = `func deleteatFallback(h syscall.Handle) error { return nil }

func Deleteat(dirfd syscall.Handle, name string, options uint32) error {
	err := NtSetInformationFile(h, ...)
	switch err {
	case nil:
		return nil
	case STATUS_INVALID_INFO_CLASS, // the operating system doesn't support FileDispositionInformationEx
		STATUS_INVALID_PARAMETER, // the operating system doesn't support one of the flags
		STATUS_NOT_SUPPORTED:     // the file system doesn't support FILE_DISPOSITION_INFORMATION_EX or one of the flags
		return deleteatFallback(h)
	default:
		return err.(NTStatus).Errno()
	}
}
`

func TestPatchAtWindows(t *testing.T) {
	out, err := PatchAtWindows([]byte(deleteat))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(out, []byte("\t\tSTATUS_NOT_SUPPORTED, NTStatus(0xC0000002): // and wine 8's STATUS_NOT_IMPLEMENTED (make test-windows)\n\t\treturn deleteatFallback(h)\n")) {
		t.Fatalf("patched:\n%s", out)
	}
	if _, err := PatchAtWindows(out); !errors.Is(err, ErrOverlayNotNeeded) {
		t.Errorf("patching twice: %v, want ErrOverlayNotNeeded", err)
	}
	// A Go release that reworked the function must be noticed.
	for name, src := range map[string]string{
		"clause gone":    strings.Replace(deleteat, "STATUS_NOT_SUPPORTED:", "STATUS_NOT_SUPPORTED, STATUS_X:", 1),
		"fallback moved": strings.Replace(deleteat, "return deleteatFallback(h)", "return fallback(h)", 1),
		"clause twice":   deleteat + deleteat,
	} {
		if _, err := PatchAtWindows([]byte(src)); err == nil || errors.Is(err, ErrOverlayNotNeeded) {
			t.Errorf("%s: %v, want an error", name, err)
		}
	}
}
