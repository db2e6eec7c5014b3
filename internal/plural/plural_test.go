package plural

import "testing"

func TestCount(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		n    int64
		want string
	}{{0, "0 chunks"}, {1, "1 chunk"}, {2, "2 chunks"}, {-1, "-1 chunk"}, {1 << 40, "1099511627776 chunks"}} {
		if got := Count(tc.n, "chunk", "chunks"); got != tc.want {
			t.Errorf("Count(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
	if got := Count(3, "retry", "retries"); got != "3 retries" {
		t.Errorf("irregular plural: %q", got)
	}
}
