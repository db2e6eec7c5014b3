package config

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// This is a small line parser rather than gopkg.in/ini.v1: ini.v1 (v1.68.0)
// reports [DEFAULT] twice, does not interpolate %(name)s, hides keys
// inherited from [DEFAULT], keeps the indentation of continuation lines and
// has its own comment, quoting and duplicate rules. Bending it into
// configparser's shape took more code than following configparser's
// RawConfigParser._read (Python 3.11) line by line, which is what parse does,
// with the same defaults OpenMSIStream uses: delimiters "=" and ":", full-line
// comments "#" and ";", no inline comments, strict=True,
// empty_lines_in_values=True, allow_no_value=False, default section "DEFAULT".

const defaultSectionName = "DEFAULT"

type option struct {
	name  string   // lowercased, as configparser's optionxform leaves it
	parts []string // the first line's value, then each continuation line
	value string   // parts joined as configparser joins them
	line  int      // where the option starts, for messages
}

type section struct {
	name    string
	line    int
	options []*option
	byName  map[string]*option
}

func newSection(name string, line int) *section {
	return &section{name: name, line: line, byName: map[string]*option{}}
}

// document is a parsed file before interpolation and $VAR expansion: what
// configparser holds after read().
type document struct {
	defaults *section
	sections []*section // file order, without DEFAULT
	byName   map[string]*section
}

// syntaxError is a problem that configparser reports while reading.
type syntaxError struct {
	line int
	msg  string
}

func (e *syntaxError) Error() string { return fmt.Sprintf("line %d: %s", e.line, e.msg) }

// splitLines splits like Python's text mode with universal newlines: "\r\n",
// "\r" and "\n" end a line, nothing else does (not even U+2028, which
// str.splitlines would split on but file iteration does not).
func splitLines(text string) []string {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	text = strings.ReplaceAll(text, "\r", "\n")
	text = strings.TrimSuffix(text, "\n")
	if text == "" {
		return nil
	}
	return strings.Split(text, "\n")
}

// leadingSpaceRunes is configparser's indent level: the index, in code
// points, of the first non-space character.
func leadingSpaceRunes(line string) int {
	n := 0
	for _, r := range line {
		if !isPySpace(r) {
			break
		}
		n++
	}
	return n
}

func parse(data []byte) (*document, error) {
	// Python reads the file in the locale's encoding; we always read UTF-8,
	// which is what configparser sees on a Linux lab PC.
	if !utf8.Valid(data) {
		linesBefore := splitLines(string(data[:firstInvalidUTF8(data)]) + "x")
		return nil, &syntaxError{line: len(linesBefore), msg: "the file is not valid UTF-8 text; save it as UTF-8 (plain text)"}
	}
	// A UTF-8 byte order mark, as Windows Notepad writes, makes configparser
	// fail on the first header; we skip it instead (a deliberate difference).
	text := strings.TrimPrefix(string(data), "\uFEFF")

	doc := &document{defaults: newSection(defaultSectionName, 0), byName: map[string]*section{}}
	var (
		cur         *section // nil until the first header
		curOpt      *option  // the option a continuation line would extend
		indentLevel int
	)
	for i, line := range splitLines(text) {
		lineno := i + 1
		stripped := pyStrip(line)
		isComment := strings.HasPrefix(stripped, "#") || strings.HasPrefix(stripped, ";")
		if isComment || stripped == "" {
			// An empty line may belong to a multi-line value (it shows up
			// as an empty line inside it); a comment line never does, and
			// neither ends the value.
			if !isComment && cur != nil && curOpt != nil {
				curOpt.parts = append(curOpt.parts, "")
			}
			continue
		}
		indent := leadingSpaceRunes(line)
		if cur != nil && curOpt != nil && indent > indentLevel {
			curOpt.parts = append(curOpt.parts, stripped)
			continue
		}
		indentLevel = indent
		if name, ok := sectionHeader(stripped); ok {
			curOpt = nil
			if name == defaultSectionName {
				// configparser never treats a second [DEFAULT] as a duplicate.
				cur = doc.defaults
				if doc.defaults.line == 0 {
					doc.defaults.line = lineno
				}
				continue
			}
			if first, dup := doc.byName[name]; dup {
				return nil, &syntaxError{line: lineno, msg: fmt.Sprintf(
					"section [%s] appears a second time (first at line %d); merge the two into one", name, first.line)}
			}
			cur = newSection(name, lineno)
			doc.sections = append(doc.sections, cur)
			doc.byName[name] = cur
			continue
		}
		if cur == nil {
			return nil, &syntaxError{line: lineno, msg: "this line comes before any section header; " +
				"settings must follow a header such as [broker]"}
		}
		name, value, ok := optionLine(stripped)
		if !ok && strings.HasPrefix(stripped, "[") {
			return nil, &syntaxError{line: lineno, msg: "a section header must be written as [name], with a name between the brackets"}
		}
		if !ok {
			return nil, &syntaxError{line: lineno, msg: fmt.Sprintf(
				"expected a setting written as \"name = value\" or \"name: value\" in section [%s]", cur.name)}
		}
		if name == "" {
			return nil, &syntaxError{line: lineno, msg: fmt.Sprintf(
				"a setting in section [%s] has no name before its \"=\" or \":\"", cur.name)}
		}
		if first, dup := cur.byName[name]; dup {
			return nil, &syntaxError{line: lineno, msg: fmt.Sprintf(
				"setting %q appears a second time in section [%s] (first at line %d; names ignore upper/lower case); keep only one",
				name, cur.name, first.line)}
		}
		curOpt = &option{name: name, parts: []string{value}, line: lineno}
		cur.options = append(cur.options, curOpt)
		cur.byName[name] = curOpt
	}
	for _, sec := range append([]*section{doc.defaults}, doc.sections...) {
		for _, opt := range sec.options {
			opt.value = pyRstrip(strings.Join(opt.parts, "\n"))
		}
	}
	return doc, nil
}

// sectionHeader follows configparser's SECTCRE, r"\[(?P<header>.+)\]" used
// with match(): the name runs from the first "[" to the last "]", anything
// after that "]" is ignored, and spaces inside the brackets are kept.
func sectionHeader(stripped string) (string, bool) {
	if !strings.HasPrefix(stripped, "[") {
		return "", false
	}
	end := strings.LastIndexByte(stripped, ']')
	if end < 2 {
		return "", false
	}
	return stripped[1:end], true
}

// optionLine follows configparser's OPTCRE: the name is everything before the
// first "=" or ":", right-stripped and lowercased; the value is the rest,
// stripped. ok is false when the line has no delimiter.
func optionLine(stripped string) (name, value string, ok bool) {
	at := strings.IndexAny(stripped, "=:")
	if at < 0 {
		return "", "", false
	}
	return pyLower(pyRstrip(stripped[:at])), pyStrip(stripped[at+1:]), true
}

func firstInvalidUTF8(data []byte) int {
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size <= 1 {
			return i
		}
		i += size
	}
	return len(data)
}
