package kafkacrypto

import (
	"fmt"
	"regexp"
)

// poison is the list of restrictions a certificate of a chain carries:
// which root topics and usages it allows, and how many more certificates
// may follow it (pathlen). nil lists mean "no restriction given".
type poison struct {
	topics, usages []string
	hasPathlen     bool
	pathlen        float64
}

// parsePoison reads a poison array ([[name, value], ...]). Names other than
// topics, usages and pathlen are refused, as kafkacrypto refuses them when
// it intersects certificates.
func parsePoison(raw []byte) ([][2]any, error) {
	v, err := unpack(raw)
	if err != nil {
		return nil, fmt.Errorf("poison: %v", err)
	}
	arr, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("poison: expected an array, found %s", typeName(v))
	}
	out := make([][2]any, 0, len(arr))
	for _, item := range arr {
		pair, ok := item.([]any)
		if !ok || len(pair) < 2 {
			return nil, fmt.Errorf("poison: entry is not [name, value]")
		}
		name, ok := pair[0].([]byte)
		if !ok {
			return nil, fmt.Errorf("poison: entry name is not a string")
		}
		out = append(out, [2]any{string(name), pair[1]})
	}
	return out, nil
}

func stringList(v any, what string) ([]string, error) {
	arr, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("poison %s: expected a list", what)
	}
	out := make([]string, 0, len(arr))
	for _, item := range arr {
		b, ok := item.([]byte)
		if !ok {
			return nil, fmt.Errorf("poison %s: expected strings", what)
		}
		out = append(out, string(b))
	}
	return out, nil
}

// multimatch is kafkacrypto's rule for whether a wanted topic or usage is
// allowed by a list of choices. Choices are literals, or regular
// expressions when they start with "^" (matched from the start, as
// Python's re.match). A wanted regular expression is allowed only by the
// same expression or by "^.*$", so that a restriction can only narrow.
func multimatch(wanted string, choices []string) bool {
	if choices == nil {
		return false
	}
	for _, c := range choices {
		if c == "^.*$" {
			return true
		}
		if len(wanted) < 1 || wanted[0] != '^' {
			if len(c) > 0 && c[0] == '^' {
				if re, err := regexp.Compile(c); err == nil && re.MatchString(wanted) {
					return true
				}
			} else if wanted == c {
				return true
			}
		} else if wanted == c {
			return true
		}
	}
	return false
}

// intersectMultimatch keeps the items of set2 that set1 allows; a nil set
// is no restriction.
func intersectMultimatch(set1, set2 []string) []string {
	if set1 == nil {
		return set2
	}
	if set2 == nil {
		return set1
	}
	out := []string{}
	for _, w := range set2 {
		if multimatch(w, set1) {
			out = append(out, w)
		}
	}
	return out
}

// intersectPoisons combines the accumulated poison of a chain (parent)
// with the next certificate's (child), as kafkacrypto's intersect_certs
// does: topic and usage lists narrow, and the parent's pathlen counts one
// down for the child (unless both describe the same key: sameKey).
// A usage list that allows key-allowlist or key-denylist implies pathlen 0
// unless the same poison sets pathlen.
func intersectPoisons(parentRaw, child [][2]any, sameKey bool) (poison, error) {
	var out poison
	var topics, usages []string
	havePath := false
	var pathlen float64
	parentOffset := -1.0
	if sameKey {
		parentOffset = 0
	}
	for _, p := range []struct {
		offset float64
		items  [][2]any
	}{{parentOffset, parentRaw}, {0, child}} {
		newPath, haveNew := 0.0, false
		for _, ku := range p.items {
			switch ku[0].(string) {
			case "topics":
				list, err := stringList(ku[1], "topics")
				if err != nil {
					return out, err
				}
				topics = intersectMultimatch(topics, list)
			case "usages":
				list, err := stringList(ku[1], "usages")
				if err != nil {
					return out, err
				}
				if (multimatch("key-allowlist", list) || multimatch("key-denylist", list)) && !haveNew {
					newPath, haveNew = 0, true
				}
				usages = intersectMultimatch(usages, list)
			case "pathlen":
				n, err := asNumber(ku[1], "poison pathlen")
				if err != nil {
					return out, err
				}
				newPath, haveNew = n, true
			default:
				return out, fmt.Errorf("unknown chain signature poison %q", ku[0])
			}
		}
		if haveNew && (!havePath || newPath+p.offset < pathlen) {
			pathlen, havePath = newPath+p.offset, true
		}
	}
	out.topics, out.usages, out.hasPathlen, out.pathlen = topics, usages, havePath, pathlen
	return out, nil
}

// items turns a poison back into the [name, value] form intersectPoisons
// reads, in kafkacrypto's order.
func (p poison) items() [][2]any {
	var out [][2]any
	if p.topics != nil {
		out = append(out, [2]any{"topics", strsToAny(p.topics)})
	}
	if p.usages != nil {
		out = append(out, [2]any{"usages", strsToAny(p.usages)})
	}
	if p.hasPathlen {
		out = append(out, [2]any{"pathlen", p.pathlen})
	}
	return out
}

func strsToAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = []byte(s)
	}
	return out
}

// allows is kafkacrypto's validate_poison for topics and usages: the
// poison must name the restriction and the value must match it.
func (p poison) allows(name, value string) bool {
	switch name {
	case "topics":
		return p.topics != nil && multimatch(value, p.topics)
	case "usages":
		return p.usages != nil && multimatch(value, p.usages)
	}
	return false
}

// pathOK is validate_poison('pathlen', 0): no pathlen, or one not below 0.
func (p poison) pathOK() bool { return !p.hasPathlen || 0 <= p.pathlen }
