// Package rig runs the Windows build of DataFileDownloadDirectory and the
// Windows test executables of every package under wine, against the real
// local Kafka broker (`make test-windows`, see docs/windows.md). It holds
// what test/windows/run needs and can be tested on its own: the Go
// overlay for wine 8, the wine prefix, and the summary of the test runs.
package rig

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
)

// AtWindows is the file of the installed Go that the overlay replaces.
const AtWindows = "src/internal/syscall/windows/at_windows.go"

// Go 1.26's deleteat first asks for a POSIX delete
// (FileDispositionInformationEx) and falls back to the classic one for the
// answers listed in one case clause. Wine 8 answers STATUS_NOT_IMPLEMENTED,
// which is not among them, so every os.Root.Remove, os.RemoveAll and
// t.TempDir cleanup fails with "Invalid function". The clause ends with
// STATUS_NOT_SUPPORTED followed by the fallback call; that is what is
// matched, so that a reworded comment does not break the patch while a
// changed function does.
var fallbackCase = regexp.MustCompile(`(?m)^(\s*)STATUS_NOT_SUPPORTED:(\s*//[^\n]*)?\n(\s*return deleteatFallback\()`)

// notImplemented is how the patched clause names STATUS_NOT_IMPLEMENTED;
// its presence also tells that a Go release handles it already.
const notImplemented = "NTStatus(0xC0000002)"

// ErrOverlayNotNeeded says that the installed Go already falls back on
// STATUS_NOT_IMPLEMENTED.
var ErrOverlayNotNeeded = errors.New("the installed Go already falls back to the classic delete on STATUS_NOT_IMPLEMENTED")

// PatchAtWindows returns src (Go's at_windows.go) with STATUS_NOT_IMPLEMENTED
// added to the answers on which deleteat falls back to the classic delete.
// It fails unless the clause is found exactly once, so that a Go release
// that reworked the function is noticed instead of silently left unpatched.
func PatchAtWindows(src []byte) ([]byte, error) {
	if regexp.MustCompile(`(?i)0xC0000002|STATUS_NOT_IMPLEMENTED`).Match(src) {
		return nil, ErrOverlayNotNeeded
	}
	n := len(fallbackCase.FindAllIndex(src, -1))
	if n != 1 {
		return nil, fmt.Errorf("%s: found the clause of deleteat that falls back to the classic delete %d times, want once: this Go release changed the function, so test/windows/rig/overlay.go must be updated for it", AtWindows, n)
	}
	out := fallbackCase.ReplaceAll(src, []byte("${1}STATUS_NOT_SUPPORTED, "+notImplemented+": // and wine 8's STATUS_NOT_IMPLEMENTED (make test-windows)\n${3}"))
	if len(regexp.MustCompile(`STATUS_NOT_SUPPORTED, `+regexp.QuoteMeta(notImplemented)+`:`).FindAllIndex(out, -1)) != 1 {
		return nil, fmt.Errorf("%s: the patch did not apply", AtWindows)
	}
	return out, nil
}

// WriteOverlay writes the patched copy of goroot's at_windows.go and the
// overlay file naming it (for go build -overlay) into dir, and returns the
// overlay file's path. With ErrOverlayNotNeeded, no overlay is needed.
// Only test builds use it: the program is shipped as Go builds it.
func WriteOverlay(goroot, dir string) (string, error) {
	orig := filepath.Join(goroot, filepath.FromSlash(AtWindows))
	src, err := os.ReadFile(orig)
	if err != nil {
		return "", fmt.Errorf("read the Go source to patch for wine: %w", err)
	}
	patched, err := PatchAtWindows(src)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	copyPath := filepath.Join(dir, "at_windows.go")
	if err := os.WriteFile(copyPath, patched, 0o644); err != nil {
		return "", err
	}
	overlay, err := json.Marshal(map[string]map[string]string{"Replace": {orig: copyPath}})
	if err != nil {
		return "", err
	}
	overlayPath := filepath.Join(dir, "overlay.json")
	return overlayPath, os.WriteFile(overlayPath, overlay, 0o644)
}
