package config

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/openmsi/datafiledownloaddirectory/test/testkit"
)

// The differential tests parse the same files with this package and with
// Python's configparser (plus OpenMSIStream's "$" rule, os.path.expandvars),
// and compare every section and every value.

// pythonReader prints, for each file given, what OpenMSIStream would see:
// configparser's sections and values (interpolated, before "$"), whether a
// value failed to interpolate, and the "$" expansion. It opens files as
// UTF-8 explicitly, which is what configparser.read() does on a UTF-8 locale.
const pythonReader = `
import configparser, json, os, sys
out = {}
for path in sys.argv[1:]:
    parser = configparser.ConfigParser()
    try:
        with open(path, encoding="utf-8") as f:
            parser.read_file(f, path)
    except Exception as e:
        out[path] = {"error": type(e).__name__}
        continue
    result = {"sections": parser.sections(), "values": {}}
    for name in ["DEFAULT"] + parser.sections():
        section = {}
        for key in parser[name]:
            try:
                value = parser.get(name, key)
            except configparser.Error as e:
                section[key] = {"error": type(e).__name__}
                continue
            item = {"value": value}
            if value.startswith("$"):
                expanded = os.path.expandvars(value)
                if expanded == value:
                    item["env_error"] = True
                else:
                    item["expanded"] = expanded
            section[key] = item
        result["values"][name] = section
    out[path] = result
print(json.dumps(out))
`

// differentialEnv is the whole environment of both sides.
var differentialEnv = map[string]string{
	"SET_HOST":     "kafka.from.env",
	"SET_USER":     "lab-user",
	"SET_PASSWORD": "correct horse battery staple",
	"SET_PORT":     "9093",
	"SET_EMPTY":    "",
}

type valueView struct {
	Error    string  `json:"error,omitempty"`
	Value    *string `json:"value,omitempty"`
	EnvError bool    `json:"env_error,omitempty"`
	Expanded *string `json:"expanded,omitempty"`
}

type fileView struct {
	Error    string                          `json:"error,omitempty"`
	Sections []string                        `json:"sections,omitempty"`
	Values   map[string]map[string]valueView `json:"values,omitempty"`
}

// normalized keeps what must agree: that something failed, not how Python
// names the exception.
func (v fileView) normalized() fileView {
	if v.Error != "" {
		return fileView{Error: "error"}
	}
	if v.Sections == nil {
		v.Sections = []string{}
	}
	for _, section := range v.Values {
		for key, value := range section {
			if value.Error != "" {
				section[key] = valueView{Error: "error"}
			}
		}
	}
	return v
}

func runPythonReader(t *testing.T, paths []string) map[string]fileView {
	t.Helper()
	python, err := exec.LookPath("python3")
	if err != nil {
		testkit.Need(t, "python3 is not installed: the differential test against Python's configparser cannot run")
	}
	cmd := exec.Command(python, append([]string{"-I", "-c", pythonReader}, paths...)...)
	cmd.Env = []string{}
	for name, value := range differentialEnv {
		cmd.Env = append(cmd.Env, name+"="+value)
	}
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if exitErr, ok := err.(*exec.ExitError); ok {
			stderr = string(exitErr.Stderr)
		}
		t.Fatalf("python3 failed: %v\n%s", err, stderr)
	}
	views := map[string]fileView{}
	if err := json.Unmarshal(out, &views); err != nil {
		t.Fatalf("cannot decode python3's output: %v", err)
	}
	return views
}

// goView reads a file the way the Python reader does, through the same
// internals Load uses, but without Load's early failure, so that every
// value is compared.
func goView(data []byte) fileView {
	doc, err := parse(data)
	if err != nil {
		return fileView{Error: err.Error()}
	}
	view := fileView{Sections: []string{}, Values: map[string]map[string]valueView{}}
	lookup := func(name string) (string, bool) {
		value, ok := differentialEnv[name]
		return value, ok
	}
	for _, sec := range append([]*section{doc.defaults}, doc.sections...) {
		if sec != doc.defaults {
			view.Sections = append(view.Sections, sec.name)
		}
		values := map[string]valueView{}
		referencesLeft := maxReferencesPerSection
		for _, name := range doc.optionNames(sec) {
			opt, _ := doc.lookupOption(sec, name)
			interpolated, err := doc.interpolate(sec, opt.value, &referencesLeft)
			if err != nil {
				values[name] = valueView{Error: err.Error()}
				continue
			}
			item := valueView{Value: &interpolated}
			if referencesEnv(interpolated) {
				if expanded, problem := expandEnv(interpolated, lookup); problem != nil {
					item.EnvError = true
				} else {
					item.Expanded = &expanded
				}
			}
			values[name] = item
		}
		view.Values[sec.name] = values
	}
	return view
}

func compareWithPython(t *testing.T, paths []string, describe func(path string) string) {
	t.Helper()
	python := runPythonReader(t, paths)
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		want, ok := python[path]
		if !ok {
			t.Fatalf("python3 printed nothing for %s", path)
		}
		goSide := goView(data)
		if got, want := goSide.normalized(), want.normalized(); !reflect.DeepEqual(got, want) {
			gotJSON, _ := json.MarshalIndent(got, "", "  ")
			wantJSON, _ := json.MarshalIndent(want, "", "  ")
			t.Errorf("%s: Go and Python's configparser disagree (Go error: %q)\nGo:\n%s\nPython:\n%s",
				describe(path), goSide.Error, gotJSON, wantJSON)
		}
	}
}

func TestDifferentialTestdata(t *testing.T) {
	t.Parallel()
	paths, err := filepath.Glob(filepath.Join("testdata", "*.config"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no testdata config files: %v", err)
	}
	compareWithPython(t, paths, func(path string) string { return path })
}

// Lines that stress configparser's rules, combined at random below. "$"
// values are either fully set or reference only unset variables: a partial
// expansion is a deliberate difference (see envvars.go), tested on its own.
var differentialLines = []string{
	"[broker]", "[consumer]", "[DEFAULT]", "[Broker]", "[ broker ]", "[a]b]", "[]", "[x] tail", "  [consumer]",
	"[log", "[with = sign]", "[DEFAULT] x",
	"bootstrap.servers = localhost:9092", "Key = Value", "key: value", "k=v=w", "k : v : w", "= no name",
	"no delimiter", "a = %(b)s", "b = x%%y", "c = %(missing)s", "d = 50%", "e = %(a)s and %(b)s", "F = %(f)s",
	"f = upper", "url = %(host)s:%(port)s", "host = h1", "port = 9092", "empty =", "empty2:", "x = $SET_HOST",
	"y = ${SET_USER}", "z = $UNSET_VAR", "w = $SET_HOST:$SET_PORT", "ref = %(x)s", "lit = a$UNSET_VAR",
	"dollar = $", "braces = ${}", "emptyvar = $SET_EMPTY", "bad = %(port)d", "loop = %(loop)s",
	"inline = v # not a comment", "semi = v ; kept", "\tkey\t=\tv\t", "unicode = caf\u00e9",
	"\u3000spaced = ideographic", "\x1cfs = python space", "İstanbul = dotted", "a:b = c", "pct = %%(a)s",
	"# comment", "; comment", "   # indented comment", "\t; indented", "", "   ", "  more", "\tmore2",
	"      deeper", "    = indented no name", "    nodelim indented", "   x = indented option",
}

func TestDifferentialRandomFiles(t *testing.T) {
	t.Parallel()
	random := rand.New(rand.NewPCG(20240611, 1))
	endings := []string{"\n", "\r\n", "\r"}
	dir := t.TempDir()
	var paths []string
	contents := map[string]string{}
	for i := range 600 {
		var b strings.Builder
		if random.IntN(3) > 0 {
			b.WriteString([]string{"[broker]", "[DEFAULT]", "[consumer]"}[random.IntN(3)])
			b.WriteString("\n")
		}
		for range 1 + random.IntN(14) {
			b.WriteString(differentialLines[random.IntN(len(differentialLines))])
			b.WriteString(endings[random.IntN(len(endings))])
		}
		path := filepath.Join(dir, fmt.Sprintf("random%03d.config", i))
		if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, path)
		contents[path] = b.String()
	}
	sort.Strings(paths)
	compareWithPython(t, paths, func(path string) string { return fmt.Sprintf("file %q", contents[path]) })
}
