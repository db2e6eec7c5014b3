package download

import "testing"

func TestCompileRegexIsAnchoredAtStartOnly(t *testing.T) {
	tests := []struct {
		expr, path string
		match      bool
	}{
		{`.*\.dat`, "sub/x.dat", true},
		{`.*\.dat`, "sub/x.dat.bak", true}, // re.match does not anchor the end
		{`.*\.dat$`, "sub/x.dat.bak", false},
		{`x`, "sub/x", false}, // but it does anchor the start
		{`sub/`, "sub/x", true},
		{`a|b`, "b/c", true},
		{`(?P<dir>raw)/`, "raw/f", true},
	}
	for _, tt := range tests {
		re, err := CompileRegex(tt.expr)
		if err != nil {
			t.Fatal(err)
		}
		if got := re.MatchString(tt.path); got != tt.match {
			t.Errorf("%q on %q: %v, want %v", tt.expr, tt.path, got, tt.match)
		}
	}
	for _, bad := range []string{`a)(b`, `(`, `x{2,1}`} {
		if _, err := CompileRegex(bad); err == nil {
			t.Errorf("%q compiled", bad)
		}
	}
}
