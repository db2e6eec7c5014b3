// Package config reads OpenMSIStream config files the way OpenMSIStream
// reads them (Python's configparser.ConfigParser() with its defaults, then
// "$NAME" values taken from the environment), so a lab can point this program
// at the config files it already has. Its errors name the file, the line,
// the section and the setting, say what to change, and never show a secret.
//
// The parser follows configparser line by line and is checked against the
// real one (differential_test.go). Where this package differs from
// OpenMSIStream 1.8.x, it is on purpose:
//   - The file is always read as UTF-8, and a leading byte order mark is
//     skipped. (Python uses the locale's encoding, cp1252 on most Windows
//     PCs, and fails on the mark.)
//   - A syntax error reports the first bad line; configparser lists all.
//   - Every unset variable in a "$" value is an error; OpenMSIStream accepts
//     "$A:$B" with B unset as long as A expanded (see envvars.go).
//   - Load resolves the sections this program reads at once, so a problem
//     stops it before it connects; other sections, which OpenMSIStream's
//     downloader never reads either, are resolved only when asked for.
//   - %(name)s references that multiply beyond 1 MiB per value or 100000
//     references per section are an error instead of exhausting memory.
//   - Values are passed to librdkafka as written; OpenMSIStream turns
//     anything float() accepts into a float first ("100000" -> 100000.0).
//   - Consumer reports the file's group.id (OpenMSIStream ignores it),
//     removes "auto.offset.reset = none" in any case, and refuses a file
//     without a broker address.
package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strings"
)

// Error is a problem with a config file. Its text never contains the value
// of a secret setting (see IsSecret) nor any value taken from the
// environment.
type Error struct {
	File    string // path of the config file, as given to Load
	Line    int    // 1-based line of the problem, 0 when there is none
	Section string // section name without brackets, "" when none
	Key     string // setting name, "" when the problem is not about one setting
	Problem string // what is wrong and how to fix it
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "config file %s", e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ", line %d", e.Line)
	}
	if e.Key != "" {
		fmt.Fprintf(&b, ", [%s] %s", e.Section, e.Key)
	}
	b.WriteString(": ")
	b.WriteString(e.Problem)
	return b.String()
}

// File is a config file that was read without errors in any section this
// program uses.
type File struct {
	path   string
	lookup func(string) (string, bool)
	doc    *document
	// resolved holds the sections this program reads, resolved once by
	// Load so that their problems stop the program before it connects.
	resolved map[string]*resolvedSection
}

type resolvedSection struct {
	values       map[string]string // interpolated, then $NAME expanded
	interpolated map[string]string // interpolated only: what OpenMSIStream checks for "$"
}

// sectionsThisProgramReads are resolved by Load: the downloader's consumers
// ([broker], [consumer]) and the optional heartbeat and log producers
// ([producer], [heartbeat], [log]). Other sections of the same file, such as
// the [s3] section of S3TransferStreamProcessor, may reference variables
// that are only set on another machine; OpenMSIStream's downloader never
// reads them, and neither does Load. [kafkacrypto] is resolved by
// KafkaCrypto, when the program asks for it.
var sectionsThisProgramReads = []string{"broker", "consumer", "producer", "heartbeat", "log"}

// Load reads the config file at path as OpenMSIStream does and resolves the
// sections this program uses ([DEFAULT] inherited, %(name)s interpolated,
// values starting with "$" taken from the environment through lookup;
// a nil lookup means os.LookupEnv). Problems come back as *Error.
func Load(path string, lookup func(string) (string, bool)) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &Error{File: path, Problem: readProblem(path, err)}
	}
	return load(path, data, lookup)
}

func readProblem(path string, err error) string {
	info, statErr := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "the file does not exist"
	case statErr == nil && info.IsDir():
		return "this is a folder, not a config file"
	case errors.Is(err, fs.ErrPermission):
		return "permission denied: the user running this program must be allowed to read it"
	default:
		return fmt.Sprintf("cannot read it: %v", err)
	}
}

func load(path string, data []byte, lookup func(string) (string, bool)) (*File, error) {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	doc, err := parse(data)
	if err != nil {
		var syntax *syntaxError
		if errors.As(err, &syntax) {
			return nil, &Error{File: path, Line: syntax.line, Problem: syntax.msg}
		}
		return nil, &Error{File: path, Problem: err.Error()}
	}
	f := &File{path: path, lookup: lookup, doc: doc, resolved: map[string]*resolvedSection{}}
	for _, name := range sectionsThisProgramReads {
		sec, ok := doc.byName[name]
		if !ok {
			continue
		}
		resolved, err := f.resolve(sec)
		if err != nil {
			return nil, err
		}
		f.resolved[name] = resolved
	}
	return f, nil
}

// optionNames lists what configparser's section.items() yields: the
// section's own settings in file order, then the inherited [DEFAULT] ones.
func (d *document) optionNames(sec *section) []string {
	names := make([]string, 0, len(sec.options)+len(d.defaults.options))
	for _, opt := range sec.options {
		names = append(names, opt.name)
	}
	if sec == d.defaults {
		return names
	}
	for _, opt := range d.defaults.options {
		if _, own := sec.byName[opt.name]; !own {
			names = append(names, opt.name)
		}
	}
	return names
}

func (f *File) resolve(sec *section) (*resolvedSection, error) {
	out := &resolvedSection{values: map[string]string{}, interpolated: map[string]string{}}
	referencesLeft := maxReferencesPerSection
	for _, name := range f.doc.optionNames(sec) {
		opt, _ := f.doc.lookupOption(sec, name)
		fail := func(problem string) error {
			if _, own := sec.byName[name]; !own && sec != f.doc.defaults {
				problem += fmt.Sprintf(" (the setting is inherited from [DEFAULT], line %d)", opt.line)
			}
			return &Error{File: f.path, Line: opt.line, Section: sec.name, Key: name, Problem: problem}
		}
		interpolated, err := f.doc.interpolate(sec, opt.value, &referencesLeft)
		if err != nil {
			problem := err.Error()
			if !IsSecret(name) {
				problem = fmt.Sprintf("value %q: %s", opt.value, problem)
			}
			return nil, fail(problem)
		}
		value, envErr := expandEnv(interpolated, f.lookup)
		if envErr != nil {
			return nil, fail(envErr.msg)
		}
		out.interpolated[name] = interpolated
		out.values[name] = value
	}
	return out, nil
}

// Path returns the path the file was loaded from, as given to Load.
func (f *File) Path() string { return f.path }

// Sections returns the section names in file order, without DEFAULT, as
// configparser's sections() does. Names are case-sensitive and keep any
// spaces written inside the brackets.
func (f *File) Sections() []string {
	names := make([]string, len(f.doc.sections))
	for i, sec := range f.doc.sections {
		names[i] = sec.name
	}
	return names
}

// Has reports whether the file has the section, as configparser's
// has_section(): DEFAULT is not a section.
func (f *File) Has(section string) bool {
	_, ok := f.doc.byName[section]
	return ok
}

// Section returns the settings of one section with [DEFAULT] inherited,
// %(name)s interpolated and $NAME expanded. "DEFAULT" returns [DEFAULT]
// itself, as configparser's config["DEFAULT"] does. A section that Load did
// not resolve is resolved now, so its problems surface here.
func (f *File) Section(name string) (map[string]string, error) {
	resolved, ok := f.resolved[name]
	if !ok {
		sec, found := f.doc.byName[name]
		if name == defaultSectionName {
			sec, found = f.doc.defaults, true
		}
		if !found {
			return nil, &Error{File: f.path, Problem: fmt.Sprintf("there is no section [%s]%s", name, f.nearMiss(name))}
		}
		var err error
		if resolved, err = f.resolve(sec); err != nil {
			return nil, err
		}
	}
	values := make(map[string]string, len(resolved.values))
	for k, v := range resolved.values {
		values[k] = v
	}
	return values, nil
}

// nearMiss points at a section that differs from name only in case or
// surrounding spaces, which configparser treats as a different section.
func (f *File) nearMiss(name string) string {
	for _, sec := range f.doc.sections {
		if sec.name != name && strings.EqualFold(strings.TrimSpace(sec.name), name) {
			return fmt.Sprintf(" (there is a [%s] at line %d, but section names must match exactly, "+
				"including upper/lower case and spaces)", sec.name, sec.line)
		}
	}
	return ""
}

// EnvVars lists, sorted and unique, the environment variables that the
// sections this program reads refer to, for a service installer that must
// capture them. OpenMSIStream's own list covers every section of the file;
// this one leaves out sections this program never reads (see
// sectionsThisProgramReads), so that their variables, which may be another
// program's secrets, are not copied into a service definition.
func (f *File) EnvVars() []string {
	seen := map[string]bool{}
	for _, resolved := range f.resolved {
		for _, value := range resolved.interpolated {
			for _, name := range envNames(value) {
				seen[name] = true
			}
		}
	}
	names := make([]string, 0, len(seen))
	for name := range seen {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}
