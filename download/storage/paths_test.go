package storage

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
		// A drive letter is refused on every OS: the same topic must give
		// the same tree on Windows and Linux.
		{"C:/Windows", "f", "", false, "", ""},
		{"c:", "f", "", false, "", ""},
		{"", "D:data.txt", "", false, "", ""},
		{"ok/C:", "f", "", false, "ok/C:/f", "ok/C:/f"}, // not at the start: a plain name there
		{"", "CD:x", "", false, "CD:x", "CD:x"},
		{"", "A", ":", false, "", ""}, // filename_append makes a drive (found by FuzzChunkPaths)
		// Reserved folders by their Windows 8.3 short names, on Windows.
		{"HASH_M~1", "f", "", true, "", ""},
		{"hash_m~2", "f", "", true, "", ""},
		{"DATAFI~1/partial", "x", "", true, "", ""},
		{"", "ENCRYP~1", "", true, "", ""},
		{"HASH_M~1", "f", "", false, "HASH_M~1/f", "HASH_M~1/f"},
		{"PROGRA~1", "f", "", true, "PROGRA~1/f", "PROGRA~1/f"},
		{"sub/HASH_M~1", "f", "", true, "sub/HASH_M~1/f", "sub/HASH_M~1/f"},
		// filename_append can make a reserved name of a top-level file.
		{"", "HASH", "_MISMATCHES", false, "", ""},
		{"", "...", "", false, "...", "..."},
		{"", "CON", "", false, "CON", "CON"},
		{"", "a:b", "", false, "", ""}, // drive-relative on Windows: "b" on drive A
		{"", "ab:c", "", false, "ab:c", "ab:c"},
		// Leading spaces and inner dots are fine on Windows.
		{" lead", "a..b.txt", "", true, " lead/a..b.txt", " lead/a..b.txt"},
	}
	for _, tt := range tests {
		p, err := ChunkPaths(tt.subdir, tt.name, tt.app, tt.windows)
		if tt.rel == "" {
			if err == nil {
				t.Errorf("ChunkPaths(%q, %q, %q, windows=%v) = %+v, want refused", tt.subdir, tt.name, tt.app, tt.windows, p)
			}
			continue
		}
		if err != nil || p.Rel != tt.rel || p.Dest != tt.dest {
			t.Errorf("ChunkPaths(%q, %q, %q, windows=%v) = %+v, %v; want %q, %q", tt.subdir, tt.name, tt.app, tt.windows, p, err, tt.rel, tt.dest)
		}
	}
}
