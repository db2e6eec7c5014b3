package download

import (
	"fmt"
	"regexp"
)

// CompileRegex compiles a --download_regex with Python re.match semantics:
// anchored at the start of the relative path, not at the end.
func CompileRegex(expr string) (*regexp.Regexp, error) {
	// Compiling the bare expression first catches what wrapping could
	// hide, such as "a)(b", which would balance the added parentheses.
	if _, err := regexp.Compile(expr); err != nil {
		return nil, fmt.Errorf("invalid --download_regex %q: %w", expr, err)
	}
	return regexp.Compile(`^(?:` + expr + `)`)
}
