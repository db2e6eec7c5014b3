package checkout

import (
	"bytes"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// TestTrackedPathsValidOnWindows: every path git tracks can be checked out
// on Windows.
func TestTrackedPathsValidOnWindows(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		if runtime.GOOS == "windows" {
			t.Skip("git is not installed here; make test checks the tracked paths on Linux")
		}
		t.Fatal(err)
	}
	top, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		t.Skip("not a git checkout (a source archive?): no tracked paths to check")
	}
	out, err := exec.Command("git", "-C", strings.TrimSpace(string(top)), "ls-files", "-z").Output()
	if err != nil {
		t.Fatal(err)
	}
	paths := strings.Split(string(bytes.TrimRight(out, "\x00")), "\x00")
	if len(paths) < 10 {
		t.Fatalf("git ls-files listed %d paths", len(paths))
	}
	for _, p := range paths {
		if why := Problem(p); why != "" {
			t.Errorf("%s: %s", p, why)
		}
	}
	for _, c := range CaseClashes(paths) {
		t.Errorf("paths that differ only in case, of which Windows can hold one: %q", c)
	}
}

func TestProblem(t *testing.T) {
	bad := []string{
		"download/testdata/fuzz/FuzzChunkPaths/con", "a/LPT9", "Aux.txt", "nul.tar.gz", "con .txt", "COM¹",
		"CONIN$", "a:b", "x/what?", "pipe|d", `back\slash`, `q"uote`, "<a>", "star*", "tab\there",
		"dot.", "space ", "dir./f", "a//b",
	}
	good := []string{"README.md", "config", "console/console.go", "conx", "con_lower_ext", "lpt10", "com", "a.b.c", ".gitignore",
		"device_con", "naïve/données.txt", "COM1x.txt"}
	for _, p := range bad {
		if Problem(p) == "" {
			t.Errorf("%q accepted", p)
		}
	}
	for _, p := range good {
		if why := Problem(p); why != "" {
			t.Errorf("%q refused: %s", p, why)
		}
	}
}

func TestCaseClashes(t *testing.T) {
	got := CaseClashes([]string{"a/README", "a/readme", "b/x", "B/y", "c/z", "c/Z/w"})
	want := [][]string{{"B", "b"}, {"a/README", "a/readme"}, {"c/Z", "c/z"}}
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("got %q, want %q", got, want)
	}
}
