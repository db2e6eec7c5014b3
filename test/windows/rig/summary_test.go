package rig

import (
	"bytes"
	"strings"
	"testing"
)

// A test2json stream as `go tool test2json` makes it of a Windows test
// executable's output: a pass with a subtest, a skip with its reason, a
// failure, and parallel output interleaved.
const stream = `{"Action":"start","Package":"p"}
{"Action":"run","Package":"p","Test":"TestA"}
{"Action":"output","Package":"p","Test":"TestA","Output":"=== RUN   TestA\n"}
{"Action":"run","Package":"p","Test":"TestA/sub"}
{"Action":"output","Package":"p","Test":"TestA/sub","Output":"    a_test.go:5: in sub\n"}
{"Action":"pass","Package":"p","Test":"TestA/sub","Elapsed":0}
{"Action":"pass","Package":"p","Test":"TestA","Elapsed":0}
{"Action":"run","Package":"p","Test":"TestSymlink"}
{"Action":"output","Package":"p","Test":"TestSymlink","Output":"=== RUN   TestSymlink\n"}
{"Action":"output","Package":"p","Test":"TestSymlink","Output":"    link_test.go:12: wine creates no symbolic links\n"}
{"Action":"output","Package":"p","Test":"TestSymlink","Output":"--- SKIP: TestSymlink (0.00s)\n"}
{"Action":"skip","Package":"p","Test":"TestSymlink","Elapsed":0}
{"Action":"run","Package":"p","Test":"TestB"}
{"Action":"output","Package":"p","Test":"TestB","Output":"    b_test.go:9: got 1, want 2\n"}
{"Action":"fail","Package":"p","Test":"TestB","Elapsed":0.1}
{"Action":"output","Package":"p","Output":"FAIL\n"}
{"Action":"fail","Package":"p","Elapsed":0.2}
`

func TestReadResults(t *testing.T) {
	rs, err := ReadResults("p", strings.NewReader(stream))
	if err != nil {
		t.Fatal(err)
	}
	var s Summary
	s.Add(rs...)
	if got := s.Line(); got != "windows: 1 passed, 1 failed, 1 skipped" {
		t.Fatalf("%s; results %+v", got, rs)
	}
	var out bytes.Buffer
	s.Report(&out, "LOGS")
	for _, want := range []string{"  p.TestSymlink: wine creates no symbolic links\n", "--- p.TestB\n    b_test.go:9: got 1, want 2\n", "(whole logs in LOGS)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
	if !strings.HasSuffix(out.String(), "windows: 1 passed, 1 failed, 1 skipped\n") {
		t.Errorf("the report does not end with the summary line:\n%s", out.String())
	}
}

// A test executable that dies (os.Exit, a crash, a timeout) must not look
// like a pass, whether or not a test was running.
func TestReadResultsExecutableDied(t *testing.T) {
	for name, tc := range map[string]struct {
		stream string
		want   string
	}{
		"exit inside a test": {`{"Action":"run","Package":"p","Test":"TestA"}
{"Action":"output","Package":"p","Test":"TestA","Output":"=== RUN   TestA\n"}
{"Action":"output","Package":"p","Output":"exit status 1\n"}
{"Action":"fail","Package":"p","Elapsed":0.2}
`, "p.TestA"},
		"TestMain failed": {`{"Action":"output","Package":"p","Output":"kafkatest: no broker\n"}
{"Action":"fail","Package":"p","Elapsed":0.2}
`, "p (the test executable itself)"},
		"no end at all": {`{"Action":"run","Package":"p","Test":"TestA"}
{"Action":"pass","Package":"p","Test":"TestA"}
`, "p (the test executable itself)"},
	} {
		rs, err := ReadResults("p", strings.NewReader(tc.stream))
		if err != nil {
			t.Fatal(err)
		}
		var s Summary
		s.Add(rs...)
		if len(s.Failed) != 1 || s.Failed[0].Name() != tc.want {
			t.Errorf("%s: failed %+v, want %s", name, s.Failed, tc.want)
		}
	}
}

func TestReason(t *testing.T) {
	for in, want := range map[string]string{
		"    x_test.go:12: python3 is not installed": "python3 is not installed",
		"    plain line": "plain line",
		"":               "(no reason given)",
	} {
		if got := reason([]string{in, ""}); got != want {
			t.Errorf("reason(%q) = %q, want %q", in, got, want)
		}
	}
}
