// Package docs tests the README and docs/: the commands they show run (or,
// where they need a service manager, root or Windows, at least parse), the
// package map matches the imports, and links lead somewhere. So the
// documents cannot go stale silently.
package docs

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openmsi/datafiledownloaddirectory/installer"
	"github.com/openmsi/datafiledownloaddirectory/options"
	"github.com/openmsi/datafiledownloaddirectory/test/testkit"
)

// block is one fenced code block of a document.
type block struct {
	file string // relative to the repository
	line int    // of the opening fence
	lang string // first word of the info string
	mode string // second word: test, test-until, test-background, test-type or ""
	text string
}

func (b block) String() string { return fmt.Sprintf("%s:%d", b.file, b.line) }

// documents are the README and every docs/*.md, relative to the root.
func documents(t *testing.T, root string) []string {
	t.Helper()
	docs, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil || len(docs) == 0 {
		t.Fatalf("no docs/*.md: %v", err)
	}
	files := []string{"README.md"}
	for _, d := range docs {
		files = append(files, filepath.Join("docs", filepath.Base(d)))
	}
	return files
}

func readBlocks(t *testing.T, root, file string) []block {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, file))
	if err != nil {
		t.Fatal(err)
	}
	var blocks []block
	var cur *block
	var body []string
	for i, line := range strings.Split(string(data), "\n") {
		if !strings.HasPrefix(line, "```") {
			if cur != nil {
				body = append(body, line)
			}
			continue
		}
		if cur != nil {
			cur.text = strings.Join(body, "\n")
			blocks = append(blocks, *cur)
			cur, body = nil, nil
			continue
		}
		info := strings.Fields(strings.TrimPrefix(line, "```"))
		cur = &block{file: file, line: i + 1}
		if len(info) > 0 {
			cur.lang = info[0]
		}
		if len(info) > 1 {
			cur.mode = info[1]
		}
	}
	if cur != nil {
		t.Fatalf("%s: unclosed fence", cur)
	}
	return blocks
}

func TestReadmeIsShort(t *testing.T) {
	t.Parallel()
	root := testkit.RepoRoot(t)
	data, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(data, []byte("\n")); n > 160 {
		t.Errorf("README.md has %d lines; it is for users and should stay near 150: move detail to docs/", n)
	}
}

// Issue numbers and session history mean nothing to a reader.
func TestNoIssueNumbers(t *testing.T) {
	t.Parallel()
	root := testkit.RepoRoot(t)
	issue := regexp.MustCompile(`(?i)\bissues? #?\d+|\(#\d+\)`)
	for _, file := range documents(t, root) {
		data, err := os.ReadFile(filepath.Join(root, file))
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(data), "\n") {
			if m := issue.FindString(line); m != "" {
				t.Errorf("%s:%d mentions %q", file, i+1, m)
			}
		}
	}
}

func TestLinksLeadSomewhere(t *testing.T) {
	t.Parallel()
	root := testkit.RepoRoot(t)
	link := regexp.MustCompile(`\]\(([^)#:]+)(#[^)]*)?\)`)
	for _, file := range documents(t, root) {
		data, err := os.ReadFile(filepath.Join(root, file))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range link.FindAllStringSubmatch(string(data), -1) {
			target := filepath.Join(root, filepath.Dir(file), m[1])
			if _, err := os.Stat(target); err != nil {
				t.Errorf("%s links to %s, which does not exist", file, m[1])
			}
		}
	}
}

// The README's package map says what each package may import; the
// imports of the code (tests aside) must keep to it.
func TestPackageMapMatchesImports(t *testing.T) {
	t.Parallel()
	root := testkit.RepoRoot(t)
	data, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	allowed := map[string][]string{} // package -> allowed prefixes
	row := regexp.MustCompile("^\\| `([^`]+)` \\| [^|]+ \\| ([^|]+) \\|$")
	for _, line := range strings.Split(string(data), "\n") {
		m := row.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		var may []string
		for _, w := range strings.Split(m[2], ",") {
			w = strings.TrimSpace(w)
			switch {
			case strings.HasPrefix(w, "("), w == "anything":
				if w == "anything" {
					may = append(may, "")
				}
			case w == "its own subpackages":
				may = append(may, strings.TrimSuffix(m[1], "/...")+"/")
			case strings.HasSuffix(w, "/*"):
				may = append(may, strings.TrimSuffix(w, "*"))
			default:
				may = append(may, w)
			}
		}
		allowed[strings.TrimSuffix(m[1], "/...")] = may
	}
	if len(allowed) < 10 {
		t.Fatalf("found only %d rows of the package map in README.md", len(allowed))
	}
	const module = "github.com/openmsi/datafiledownloaddirectory/"
	if _, err := exec.LookPath("go"); err != nil && runtime.GOOS == "windows" {
		t.Skip("lists the imports with the go command, which is not installed here (under wine it never is)")
	}
	cmd := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, "./...")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg := strings.TrimPrefix(fields[0], module)
		// The row of a package is its own, or that of the nearest folder
		// above it that has one (download covers download/storage).
		owner := pkg
		for owner != "." {
			if _, ok := allowed[owner]; ok {
				break
			}
			owner = filepath.Dir(owner)
		}
		may, ok := allowed[owner]
		if !ok {
			t.Errorf("package %s has no row in README.md's package map", pkg)
			continue
		}
		for _, imp := range fields[1:] {
			if !strings.HasPrefix(imp, module) {
				continue
			}
			imp = strings.TrimPrefix(imp, module)
			if strings.HasPrefix(imp, owner+"/") || imp == owner {
				continue // a package's own subpackages, and theirs of it
			}
			if !slices.ContainsFunc(may, func(a string) bool {
				return imp == a || (strings.HasSuffix(a, "/") && strings.HasPrefix(imp, a)) || a == ""
			}) {
				t.Errorf("%s imports %s, which README.md's package map does not allow for %s", pkg, imp, owner)
			}
		}
	}
}

// Commands in blocks that are not run (they need root, systemd, Windows or
// a package) must still be right: every DataFileDownloadDirectory command
// line parses, and every make target exists.
func TestShownCommandsParse(t *testing.T) {
	t.Parallel()
	root := testkit.RepoRoot(t)
	targets := makeTargets(t, root)
	checked := 0
	for _, file := range documents(t, root) {
		for _, b := range readBlocks(t, root, file) {
			switch b.lang {
			case "sh", "bat", "powershell":
			default:
				continue
			}
			for _, cmd := range commandLines(b) {
				words := tokenize(cmd, b.lang == "bat")
				words = skipPrefixes(words)
				if len(words) == 0 {
					continue
				}
				name := filepath.Base(strings.ReplaceAll(words[0], `\`, "/"))
				switch strings.TrimSuffix(name, ".exe") {
				case "DataFileDownloadDirectory":
					checked++
					if err := parseCommand(words[1:]); err != nil {
						t.Errorf("%s: %q does not parse: %v", b, cmd, err)
					}
				case "make":
					for _, w := range words[1:] {
						if strings.Contains(w, "=") || strings.HasPrefix(w, "-") {
							continue
						}
						checked++
						if !targets[w] {
							t.Errorf("%s: make %s: no such target in the Makefile", b, w)
						}
					}
				}
			}
		}
	}
	if checked < 10 {
		t.Errorf("only %d commands checked: is the block syntax still ```sh?", checked)
	}
}

func makeTargets(t *testing.T, root string) map[string]bool {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	targets := map[string]bool{}
	rule := regexp.MustCompile(`^([a-zA-Z][\w.-]*(?: [a-zA-Z][\w.-]*)*):(?:[^=]|$)`)
	for _, line := range strings.Split(string(data), "\n") {
		if m := rule.FindStringSubmatch(line); m != nil {
			for _, name := range strings.Fields(m[1]) {
				targets[name] = true
			}
		}
	}
	return targets
}

// commandLines joins continued lines and drops comments and blank lines.
func commandLines(b block) []string {
	cont := `\`
	if b.lang == "bat" {
		cont = "^"
	}
	var lines []string
	var cur string
	for _, l := range strings.Split(b.text, "\n") {
		trimmed := strings.TrimSpace(l)
		if strings.HasSuffix(trimmed, " "+cont) || trimmed == cont {
			cur += strings.TrimSuffix(trimmed, cont) + " "
			continue
		}
		cur += trimmed
		if cur = strings.TrimSpace(cur); cur != "" && !strings.HasPrefix(cur, "#") && !strings.HasPrefix(cur, "REM ") {
			lines = append(lines, cur)
		}
		cur = ""
	}
	return lines
}

// tokenize splits a command line as a shell would, without expanding
// anything; a " #" starts a comment. In cmd.exe's syntax a backslash is
// an ordinary character.
func tokenize(line string, cmdExe bool) []string {
	var words []string
	var w strings.Builder
	inWord := false
	var quote rune
	for i := 0; i < len(line); i++ {
		c := rune(line[i])
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			} else {
				w.WriteRune(c)
			}
		case c == '\'' && !cmdExe, c == '"':
			quote, inWord = c, true
		case c == '\\' && !cmdExe && i+1 < len(line):
			i++
			w.WriteByte(line[i])
			inWord = true
		case c == ' ' || c == '\t':
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
		case c == '#' && !inWord:
			return words
		default:
			w.WriteRune(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, w.String())
	}
	return words
}

// skipPrefixes drops sudo, VAR=value assignments and export.
func skipPrefixes(words []string) []string {
	for len(words) > 0 {
		switch {
		case words[0] == "sudo":
			words = words[1:]
		case regexp.MustCompile(`^[A-Za-z_]\w*=`).MatchString(words[0]):
			words = words[1:]
		default:
			return words
		}
	}
	return words
}

// parseCommand checks a DataFileDownloadDirectory command line (without
// the program name) with the program's own parsers.
func parseCommand(args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("no arguments")
	}
	switch args[0] {
	case "install":
		_, err := options.Parse(args[1:], options.InstallMode)
		return err
	case "run":
		_, err := options.Parse(args[1:], options.RunMode)
		return err
	}
	if installer.VerbFor(args[0]) != nil {
		rest := args[1:]
		for len(rest) > 0 {
			switch rest[0] {
			case "--service_name", "--service-name":
				if len(rest) < 2 {
					return fmt.Errorf("--service_name without a value")
				}
				if err := options.CheckServiceName(rest[1]); err != nil {
					return err
				}
				rest = rest[2:]
			case "--remove_install_args", "--help", "-h":
				rest = rest[1:]
			default:
				return fmt.Errorf("%s takes no %s", args[0], rest[0])
			}
		}
		return nil
	}
	_, err := options.ParseArgs(args)
	return err
}

// TestRunnableBlocks runs, document by document, the blocks marked to be
// run, in a scratch folder that looks like the repository (bin/, test/,
// packaging/, build/venv), against brokers the blocks start themselves.
func TestRunnableBlocks(t *testing.T) {
	if runtime.GOOS == "windows" {
		// Not a missing tool: the blocks are the Linux shell commands of
		// the documents, run with bash against broker.sh's broker.
		t.Skip("runs the documents' Linux shell blocks with bash; make test runs them on Linux")
	}
	root := testkit.RepoRoot(t)
	if _, err := os.Stat(filepath.Join(root, ".kafka", "lib", ".complete")); err != nil {
		testkit.Need(t, "the broker's jars are missing (make kafka-lib)")
	}
	venv := os.Getenv("DFDD_PYTHON_VENV")
	for _, file := range documents(t, root) {
		var runnable []block
		for _, b := range readBlocks(t, root, file) {
			if strings.HasPrefix(b.mode, "test") {
				runnable = append(runnable, b)
			}
		}
		if len(runnable) == 0 {
			continue
		}
		t.Run(strings.ReplaceAll(file, "/", "_"), func(t *testing.T) {
			for _, b := range runnable {
				if strings.Contains(b.text, "build/venv") && venv == "" {
					testkit.Need(t, fmt.Sprintf("%s uses OpenMSIStream, and DFDD_PYTHON_VENV is not set (make python-venv)", b))
				}
			}
			r := newRunner(t, root, venv)
			for _, b := range runnable {
				r.run(b)
				if t.Failed() {
					return
				}
			}
			r.finish()
		})
	}
}

// runner runs one document's blocks in order, keeping the environment
// that each block exports for the next.
type runner struct {
	t       *testing.T
	dir     string
	env     []string
	bg      *exec.Cmd
	bgIn    io.WriteCloser
	bgOut   *testkit.LockedBuffer
	bgDone  chan error
	bgBlock block
}

func newRunner(t *testing.T, root, venv string) *runner {
	dir := t.TempDir()
	link := func(target, name string) {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	link(testkit.Binary(t), "bin/DataFileDownloadDirectory")
	for _, name := range []string{"test", "packaging", ".kafka"} {
		link(filepath.Join(root, name), name)
	}
	if venv != "" {
		link(venv, "build/venv")
	}
	var env []string
	for _, kv := range os.Environ() {
		if !strings.Contains(kv, "KAFKA_") && !strings.HasPrefix(kv, "DFDD_") {
			env = append(env, kv)
		}
	}
	// A broker that a killed test could not stop stops itself.
	env = append(env, fmt.Sprintf("KAFKA_WATCH_PID=%d", os.Getpid()))
	r := &runner{t: t, dir: dir, env: env}
	t.Cleanup(r.cleanup)
	return r
}

func (r *runner) run(b block) {
	r.t.Helper()
	switch b.mode {
	case "test":
		if out, err := r.shell(b.text); err != nil {
			r.t.Errorf("%s failed: %v\n%s\n%s", b, err, b.text, out)
		}
	case "test-until":
		deadline := time.Now().Add(time.Minute)
		for {
			out, err := r.shell(b.text)
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				r.t.Errorf("%s still fails after a minute: %v\n%s\n%s%s", b, err, b.text, out, r.bgOutput())
				return
			}
			time.Sleep(500 * time.Millisecond)
		}
	case "test-background":
		if r.bg != nil {
			r.t.Fatalf("%s: %s still runs", b, r.bgBlock)
		}
		r.bg = exec.Command("bash", "-c", "exec "+strings.TrimSpace(b.text))
		r.bg.Dir, r.bg.Env = r.dir, r.env
		r.bgOut = &testkit.LockedBuffer{}
		r.bg.Stdout, r.bg.Stderr = r.bgOut, r.bgOut
		var err error
		if r.bgIn, err = r.bg.StdinPipe(); err != nil {
			r.t.Fatal(err)
		}
		if err := r.bg.Start(); err != nil {
			r.t.Fatalf("%s: %v", b, err)
		}
		r.bgBlock, r.bgDone = b, make(chan error, 1)
		go func() { r.bgDone <- r.bg.Wait() }()
	case "test-type":
		if r.bg == nil {
			r.t.Fatalf("%s: nothing runs to type into", b)
		}
		for _, line := range strings.Split(strings.TrimSpace(b.text), "\n") {
			if _, err := io.WriteString(r.bgIn, line+"\n"); err != nil {
				r.t.Fatalf("%s: typing %q: %v%s", b, line, err, r.bgOutput())
			}
			time.Sleep(time.Second) // as a person would, and the answer shows
		}
		select {
		case err := <-r.bgDone:
			if err != nil {
				r.t.Errorf("%s ended with %v after %s%s", r.bgBlock, err, b, r.bgOutput())
			}
			r.bg = nil
		case <-time.After(time.Minute):
			r.t.Errorf("%s did not end within a minute of %s%s", r.bgBlock, b, r.bgOutput())
		}
	default:
		r.t.Fatalf("%s: unknown block mode %q", b, b.mode)
	}
}

// shell runs text in bash with the environment so far and takes over
// what it exports.
func (r *runner) shell(text string) (string, error) {
	envFile := filepath.Join(r.t.TempDir(), "env")
	cmd := exec.Command("bash", "-e", "-o", "pipefail", "-c", text+"\nenv -0 >"+envFile)
	cmd.Dir, cmd.Env = r.dir, r.env
	cmd.Stdin = nil
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), err
	}
	data, err := os.ReadFile(envFile)
	if err != nil {
		return string(out), err
	}
	var env []string
	for _, kv := range strings.Split(string(data), "\x00") {
		if kv != "" && !strings.HasPrefix(kv, "_=") && !strings.HasPrefix(kv, "SHLVL=") && !strings.HasPrefix(kv, "PWD=") && !strings.HasPrefix(kv, "OLDPWD=") {
			env = append(env, kv)
		}
	}
	r.env = env
	return string(out), nil
}

func (r *runner) bgOutput() string {
	if r.bgOut == nil {
		return ""
	}
	return fmt.Sprintf("\noutput of %s:\n%s", r.bgBlock, r.bgOut)
}

// finish checks that the document left nothing running.
func (r *runner) finish() {
	if r.bg != nil {
		r.t.Errorf("%s still runs at the end of the document: type quit into it", r.bgBlock)
	}
}

// cleanup stops what a failed document left: its program and brokers.
func (r *runner) cleanup() {
	if r.bg != nil {
		_ = r.bg.Process.Kill()
		<-r.bgDone
	}
	pids, _ := filepath.Glob(filepath.Join(r.dir, "build", "*", "kafka.pid"))
	for _, pid := range pids {
		cmd := exec.Command("bash", "test/kafka/broker.sh", "kill", filepath.Dir(pid))
		cmd.Dir = r.dir
		_ = cmd.Run()
	}
}
