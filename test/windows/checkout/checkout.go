// Package checkout tells whether a path can exist on Windows, so that a
// test can keep the repository one that Windows (and Git for Windows, whose
// core.protectNTFS refuses such paths) can check out.
package checkout

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// deviceName matches the names Windows keeps for devices, whatever the
// case and whatever follows the first dot ("aux.txt", "COM1.tar.gz" are
// the device too), and whatever spaces precede that dot.
var deviceName = regexp.MustCompile(`(?i)^(CON|PRN|AUX|NUL|CONIN\$|CONOUT\$|COM[0-9¹²³]|LPT[0-9¹²³]) *$`)

// Problem says why the slash-separated path p cannot exist on Windows, or
// returns "" when it can.
func Problem(p string) string {
	for _, name := range strings.Split(p, "/") {
		if name == "" {
			return "empty path element"
		}
		for _, r := range name {
			if r < 32 || strings.ContainsRune(`<>:"|?*\`, r) {
				return fmt.Sprintf("%q contains %q, which Windows does not allow in names", name, r)
			}
		}
		if strings.HasSuffix(name, ".") || strings.HasSuffix(name, " ") {
			return fmt.Sprintf("%q ends with a dot or a space, which Windows drops", name)
		}
		base, _, _ := strings.Cut(name, ".")
		if deviceName.MatchString(base) {
			return fmt.Sprintf("%q is a reserved device name on Windows", name)
		}
	}
	return ""
}

// CaseClashes returns the groups of paths (files or the folders they are
// in) that differ only in case: Windows folders are case-insensitive, so
// only one of each group could exist in a checkout.
func CaseClashes(paths []string) [][]string {
	byFold := map[string]map[string]bool{}
	for _, p := range paths {
		parts := strings.Split(p, "/")
		for i := range parts {
			prefix := strings.Join(parts[:i+1], "/")
			k := strings.ToLower(prefix)
			if byFold[k] == nil {
				byFold[k] = map[string]bool{}
			}
			byFold[k][prefix] = true
		}
	}
	var clashes [][]string
	for _, set := range byFold {
		if len(set) < 2 {
			continue
		}
		var group []string
		for p := range set {
			group = append(group, p)
		}
		sort.Strings(group)
		clashes = append(clashes, group)
	}
	sort.Slice(clashes, func(i, j int) bool { return clashes[i][0] < clashes[j][0] })
	return clashes
}
