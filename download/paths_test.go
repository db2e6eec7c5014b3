package download

import (
	"strings"
	"testing"
)

func TestChunkPaths(t *testing.T) {
	tests := []struct {
		subdir, name, app string
		windows           bool
		rel, dest         string // empty rel: must be refused
	}{
		{"", "hello.txt", "", false, "hello.txt", "hello.txt"},
		{"raw/2024", "scan.tif", "", false, "raw/2024/scan.tif", "raw/2024/scan.tif"},
		{"a//b/./", "f", "", false, "a/b/f", "a/b/f"},
		{"", "data.bin", "_v2", false, "data.bin", "data_v2.bin"},
		{"", "archive.tar.gz", "_v2", false, "archive.tar.gz", "archive.tar_v2.gz"},
		{"", "README", "_v2", false, "README", "README_v2"},
		{"", ".bashrc", "_v2", false, ".bashrc", ".bashrc_v2"},
		{"", "trailing.", "_v2", false, "trailing.", "trailing._v2"},
		{"", "ünïcødé 文件.txt", "", false, "ünïcødé 文件.txt", "ünïcødé 文件.txt"},
		{"sub", "aux.txt", "", false, "sub/aux.txt", "sub/aux.txt"}, // fine off Windows
		// Escapes and bad names, everywhere.
		{"..", "f", "", false, "", ""},
		{"a/../../etc", "passwd", "", false, "", ""},
		{"/etc", "passwd", "", false, "", ""},
		{"", "..", "", false, "", ""},
		{"", ".", "", false, "", ""},
		{"", "", "", false, "", ""},
		{"", "a/b", "", false, "", ""},
		{"a\\..\\..", "f", "", false, "", ""},
		{"", "C:\\x", "", false, "", ""},
		{"", "nul\x00byte", "", false, "", ""},
		{"", "f", "/../../x", false, "", ""},
		{"", strings.Repeat("n", 256), "", false, "", ""},
		{"", "bad\xffutf8", "", false, "", ""},
		// The folders this program owns.
		{".datafiledownloaddirectory/partial", "x.part", "", false, "", ""},
		{"hash_mismatches", "f", "", false, "", ""},
		{"", "ENCRYPTED_MESSAGES", "", false, "", ""},
		{"sub/HASH_MISMATCHES", "f", "", false, "sub/HASH_MISMATCHES/f", "sub/HASH_MISMATCHES/f"},
		// Windows rules, tested on every OS.
		{"", "CON", "", true, "", ""},
		{"", "aux.txt", "", true, "", ""},
		{"", "Com1.tar.gz", "", true, "", ""},
		{"lpt9", "f", "", true, "", ""},
		{"", "a:b", "", true, "", ""},
		{"C:", "f", "", true, "", ""},
		{"", "trailing.", "", true, "", ""},
		{"", "trailing ", "", true, "", ""},
		{"", "what?.txt", "", true, "", ""},
		{"", "tab\there", "", true, "", ""},
		{"", "console.txt", "", true, "console.txt", "console.txt"},
		{"", "auxiliary", "", true, "auxiliary", "auxiliary"},
		// More Windows device names: any case, any extension, spaces
		// before the dot, superscript digits, console buffers.
		{"", "con.txt", "", true, "", ""},
		{"", "cOm3.txt", "", true, "", ""},
		{"", "lpt1.log", "", true, "", ""},
		{"", "AUX .tar.gz", "", true, "", ""},
		{"", "COM¹", "", true, "", ""},
		{"", "CONIN$", "", true, "", ""},
		{"NUL", "f", "", true, "", ""},
		{"ok/Prn.x/deeper", "f", "", true, "", ""},
		{"", "C", "ON", true, "", ""}, // filename_append makes the device name
		{"", "COM10", "", true, "COM10", "COM10"},
		// Alternate data streams.
		{"", "file.txt::$DATA", "", true, "", ""},
		{"", "file.txt:stream", "", true, "", ""},
		// Drive, UNC and device paths, in either slash.
		{"C:/Windows", "f", "", true, "", ""},
		{"", `C:\x`, "", true, "", ""},
		{`\\server\share`, "f", "", true, "", ""},
		{`\\server\share`, "f", "", false, "", ""},
		{"//server/share", "f", "", true, "", ""},
		{"//server/share", "f", "", false, "", ""},
		{`\\?\C:\x`, "f", "", true, "", ""},
		{"", `\\.\PhysicalDrive0`, "", false, "", ""},
		// Trailing dots and spaces, in folders too, and made by the append.
		{"dir.", "f", "", true, "", ""},
		{"dir ", "f", "", true, "", ""},
		{"a/b../c", "f", "", true, "", ""},
		{"", "...", "", true, "", ""},
		{"", "f", ".", true, "", ""},
		{"", "f", " ", true, "", ""},
		{"", "f. .", "", true, "", ""},
		// The same names are fine where the OS takes them.
		{"dir.", "f", "", false, "dir./f", "dir./f"},
		{"C:/Windows", "f", "", false, "C:/Windows/f", "C:/Windows/f"},
		{"", "...", "", false, "...", "..."},
		{"", "CON", "", false, "CON", "CON"},
		{"", "a:b", "", false, "a:b", "a:b"},
		// Leading spaces and inner dots are fine on Windows.
		{" lead", "a..b.txt", "", true, " lead/a..b.txt", " lead/a..b.txt"},
	}
	for _, tt := range tests {
		p, err := chunkPaths(tt.subdir, tt.name, tt.app, tt.windows)
		if tt.rel == "" {
			if err == nil {
				t.Errorf("chunkPaths(%q, %q, %q, windows=%v) = %+v, want refused", tt.subdir, tt.name, tt.app, tt.windows, p)
			}
			continue
		}
		if err != nil || p.rel != tt.rel || p.dest != tt.dest {
			t.Errorf("chunkPaths(%q, %q, %q, windows=%v) = %+v, %v; want %q, %q", tt.subdir, tt.name, tt.app, tt.windows, p, err, tt.rel, tt.dest)
		}
	}
}

func TestCompileRegexIsAnchoredAtStartOnly(t *testing.T) {
	tests := []struct {
		expr, path string
		match      bool
	}{
		{`.*\.dat`, "sub/x.dat", true},
		{`.*\.dat`, "sub/x.dat.bak", true}, // re.match does not anchor the end
		{`.*\.dat$`, "sub/x.dat.bak", false},
		{`x`, "sub/x", false}, // but it does anchor the start
		{`sub/`, "sub/x", true},
		{`a|b`, "b/c", true},
		{`(?P<dir>raw)/`, "raw/f", true},
	}
	for _, tt := range tests {
		re, err := CompileRegex(tt.expr)
		if err != nil {
			t.Fatal(err)
		}
		if got := re.MatchString(tt.path); got != tt.match {
			t.Errorf("%q on %q: %v, want %v", tt.expr, tt.path, got, tt.match)
		}
	}
	for _, bad := range []string{`a)(b`, `(`, `x{2,1}`} {
		if _, err := CompileRegex(bad); err == nil {
			t.Errorf("%q compiled", bad)
		}
	}
}
