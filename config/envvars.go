package config

import (
	"fmt"
	"strings"
)

// OpenMSIStream's rule (utilities/config_file_parser.py): a value that starts
// with "$" goes through os.path.expandvars, which replaces every $NAME and
// ${NAME} in it, NAME being ASCII letters, digits and "_". Values that do not
// start with "$" are never expanded, so a password like "pa$$word" is safe.
//
// Deliberate differences, all towards failing loudly at start-up:
//   - OpenMSIStream only fails when nothing at all was replaced, so
//     "$HOST:$PORT" with PORT unset silently stays "broker:$PORT"; here any
//     unset variable is an error.
//   - expandvars on Windows also expands %NAME%; here only the POSIX forms.
//   - A variable whose value equals the reference itself (X="$X") counts as
//     "not set" in OpenMSIStream; here it is simply used.

type envReference struct {
	name       string // "" for "${}"
	start, end int    // byte range of the reference in the value
}

func isEnvNameByte(c byte) bool {
	return c == '_' || ('0' <= c && c <= '9') || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
}

// envReferences finds what posixpath.expandvars's pattern
// r"\$(\w+|\{[^}]*\})" (re.ASCII) finds, left to right, without overlaps.
func envReferences(value string) []envReference {
	var refs []envReference
	for i := 0; i < len(value); i++ {
		if value[i] != '$' || i+1 >= len(value) {
			continue
		}
		switch next := value[i+1]; {
		case isEnvNameByte(next):
			end := i + 1
			for end < len(value) && isEnvNameByte(value[end]) {
				end++
			}
			refs = append(refs, envReference{name: value[i+1 : end], start: i, end: end})
			i = end - 1
		case next == '{':
			closing := strings.IndexByte(value[i+2:], '}')
			if closing < 0 {
				continue
			}
			end := i + 2 + closing + 1
			refs = append(refs, envReference{name: value[i+2 : end-1], start: i, end: end})
			i = end - 1
		}
	}
	return refs
}

// referencesEnv reports whether OpenMSIStream treats value as an environment
// variable reference.
func referencesEnv(value string) bool { return strings.HasPrefix(value, "$") }

// envProblem says why a value could not be expanded; it names variables,
// never their values.
type envProblem struct {
	variable string // the unset variable, "" when the problem is the syntax
	msg      string
}

func expandEnv(value string, lookup func(string) (string, bool)) (string, *envProblem) {
	if !referencesEnv(value) {
		return value, nil
	}
	refs := envReferences(value)
	if len(refs) == 0 {
		return "", &envProblem{msg: `the value starts with "$", which OpenMSIStream reads as an environment ` +
			`variable, but no variable name follows it; write $NAME or ${NAME}`}
	}
	var out strings.Builder
	last := 0
	for _, ref := range refs {
		if ref.name == "" {
			return "", &envProblem{msg: `"${}" names no environment variable; write $NAME or ${NAME}`}
		}
		replacement, ok := lookup(ref.name)
		if !ok {
			return "", &envProblem{variable: ref.name, msg: fmt.Sprintf(
				"environment variable %s is not set; set it for this program "+
					"(for a service, in the service's environment) or write the value into the file", ref.name)}
		}
		out.WriteString(value[last:ref.start])
		out.WriteString(replacement)
		last = ref.end
	}
	out.WriteString(value[last:])
	return out.String(), nil
}

// envNames lists the variables value refers to, by OpenMSIStream's rule.
func envNames(value string) []string {
	if !referencesEnv(value) {
		return nil
	}
	var names []string
	for _, ref := range envReferences(value) {
		if ref.name != "" {
			names = append(names, ref.name)
		}
	}
	return names
}
