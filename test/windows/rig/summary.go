package rig

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
)

// event is one line of `go tool test2json` output.
type event struct {
	Action string
	Test   string
	Output string
}

// Result is the outcome of one top-level test (or fuzz target) of one
// package. Package-level failures that no test owns (a crash, a timeout,
// TestMain failing, an os.Exit) are a Result with an empty Test.
type Result struct {
	Package string
	Test    string
	Action  string // "pass", "fail" or "skip"
	// Output is what the test printed, without test2json's framing
	// lines; for a skip, its reason.
	Output []string
}

// Name is how a result is shown: package path and test.
func (r Result) Name() string {
	if r.Test == "" {
		return r.Package + " (the test executable itself)"
	}
	return r.Package + "." + r.Test
}

// ReadResults reads the test2json stream of one test executable's run and
// returns the result of every top-level test, plus a package-level failure
// when the executable failed without a failing test to show for it, or
// reported no result at all.
func ReadResults(pkg string, r io.Reader) ([]Result, error) {
	var (
		results []Result
		outputs = map[string][]string{} // by top-level test; "" for the package
		// running counts the runs of each top-level test that have no
		// result yet (more than one with -test.count).
		running = map[string]int{}
		pkgEnd  string
		failed  bool
	)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var e event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			// test2json passes through what it cannot frame, e.g. a
			// crash's last words.
			outputs[""] = append(outputs[""], sc.Text())
			continue
		}
		top, _, _ := strings.Cut(e.Test, "/")
		switch e.Action {
		case "run":
			if top == e.Test {
				running[top]++
			}
		case "output":
			if line := strings.TrimRight(e.Output, "\r\n"); !framing(line) {
				outputs[top] = append(outputs[top], line)
			}
		case "pass", "fail", "skip":
			if e.Test == "" {
				pkgEnd = e.Action
				continue
			}
			if top != e.Test {
				continue // a subtest: its parent's result counts
			}
			running[top]--
			failed = failed || e.Action == "fail"
			results = append(results, Result{Package: pkg, Test: top, Action: e.Action, Output: outputs[top]})
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	// Tests still running when the executable died: the test that was
	// running is what failed.
	var unfinished []string
	for t, n := range running {
		if n > 0 {
			unfinished = append(unfinished, t)
		}
	}
	sort.Strings(unfinished)
	for _, t := range unfinished {
		failed = true
		results = append(results, Result{Package: pkg, Test: t, Action: "fail",
			Output: append(outputs[t], "(no result: the test executable ended while this test ran)")})
	}
	if pkgEnd != "pass" && !failed {
		why := "the test executable failed without a failing test"
		if pkgEnd == "" {
			why = "the test executable reported no end"
		}
		results = append(results, Result{Package: pkg, Action: "fail", Output: append(outputs[""], "("+why+")")})
	}
	return results, nil
}

// framing tells test2json's own lines (=== RUN, --- PASS, PASS, ok ...)
// from what a test printed.
func framing(line string) bool {
	t := strings.TrimSpace(line)
	for _, p := range []string{"=== RUN", "=== PAUSE", "=== CONT", "=== NAME", "--- PASS", "--- FAIL", "--- SKIP"} {
		if strings.HasPrefix(t, p) {
			return true
		}
	}
	return t == "PASS" || t == "FAIL" || strings.HasPrefix(t, "ok  \t") || strings.HasPrefix(t, "FAIL\t") || t == ""
}

// Summary adds up results.
type Summary struct {
	Passed, Failed, Skipped []Result
}

// Add counts results.
func (s *Summary) Add(results ...Result) {
	for _, r := range results {
		switch r.Action {
		case "pass":
			s.Passed = append(s.Passed, r)
		case "skip":
			s.Skipped = append(s.Skipped, r)
		default:
			s.Failed = append(s.Failed, r)
		}
	}
}

// Line is the one summary line `make test-windows` ends with.
func (s *Summary) Line() string {
	return fmt.Sprintf("windows: %d passed, %d failed, %d skipped", len(s.Passed), len(s.Failed), len(s.Skipped))
}

// Report writes every skip with its reason and every failure with the end
// of its output, then the summary line.
func (s *Summary) Report(w io.Writer, logDir string) {
	if len(s.Skipped) > 0 {
		fmt.Fprintf(w, "skipped on Windows:\n")
		for _, r := range sorted(s.Skipped) {
			fmt.Fprintf(w, "  %s: %s\n", r.Name(), reason(r.Output))
		}
	}
	if len(s.Failed) > 0 {
		fmt.Fprintf(w, "FAILED on Windows (whole logs in %s):\n", logDir)
		for _, r := range sorted(s.Failed) {
			fmt.Fprintf(w, "--- %s\n", r.Name())
			out := r.Output
			if len(out) > 30 {
				out = append([]string{"  ..."}, out[len(out)-30:]...)
			}
			for _, l := range out {
				fmt.Fprintf(w, "    %s\n", strings.TrimSpace(l))
			}
		}
	}
	fmt.Fprintln(w, s.Line())
}

func sorted(rs []Result) []Result {
	rs = append([]Result(nil), rs...)
	sort.Slice(rs, func(i, j int) bool { return rs[i].Name() < rs[j].Name() })
	return rs
}

// reason is a skip's message: the last thing the test printed, without
// the file:line prefix of t.Skip.
func reason(out []string) string {
	for i := len(out) - 1; i >= 0; i-- {
		l := strings.TrimSpace(out[i])
		if l == "" {
			continue
		}
		if f, rest, ok := strings.Cut(l, ": "); ok && strings.Contains(f, ".go:") && !strings.Contains(f, " ") {
			l = rest
		}
		return l
	}
	return "(no reason given)"
}
