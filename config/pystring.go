package config

import (
	"strings"
	"unicode"
)

// configparser strips and indents with Python's str.isspace, which also
// counts the ASCII separators U+001C..U+001F that Go's unicode.IsSpace does
// not; a mismatch would change where values start and which lines continue.
func isPySpace(r rune) bool {
	return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f)
}

func pyStrip(s string) string { return strings.TrimFunc(s, isPySpace) }

func pyRstrip(s string) string { return strings.TrimRightFunc(s, isPySpace) }

// pyLower is configparser's optionxform (str.lower). Python uses full case
// mapping, Go simple mapping; the only unconditional difference is U+0130,
// handled here. Python also lowercases a word-final capital sigma to "ς"
// where Go gives "σ": kept as a known difference, no Kafka key is Greek.
func pyLower(s string) string {
	if strings.ContainsRune(s, 'İ') {
		s = strings.ReplaceAll(s, "İ", "i\u0307")
	}
	return strings.ToLower(s)
}
