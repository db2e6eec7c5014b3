package uploadtest

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/openmsi/datafiledownloaddirectory/download"
	"github.com/openmsi/datafiledownloaddirectory/test/testkit"
)

// pythonVenv is the virtual environment with the real OpenMSIStream that
// `make test` prepares (test/python/setup-venv.sh).
func pythonVenv(t *testing.T) string {
	t.Helper()
	venv := os.Getenv("DFDD_PYTHON_VENV")
	if venv == "" {
		if runtime.GOOS == "windows" {
			t.Skip("runs the Python OpenMSIStream, which the tests set up on Linux only (make test runs this there)")
		}
		testkit.Need(t, "DFDD_PYTHON_VENV is not set: run through `make test`, which installs the real OpenMSIStream")
	}
	if _, err := os.Stat(filepath.Join(venv, "bin", "python")); err != nil {
		t.Fatalf("DFDD_PYTHON_VENV=%s has no Python: %v", venv, err)
	}
	return venv
}

// TestMatchesOpenMSIStream serializes files with OpenMSIStream's own
// DataFileChunkSerializer and checks that this encoder makes the same
// bytes and keys, and that the downloader's decoder reads them back.
func TestMatchesOpenMSIStream(t *testing.T) {
	venv := pythonVenv(t)
	root := t.TempDir()
	files := map[string][]byte{
		"hello.txt":              []byte("hello"),
		"a/b/nested.dat":         bytes.Repeat([]byte("0123456789"), 5000),
		"ünïcødé/文件 name.bin":    bytes.Repeat([]byte{0, 1, 2, 255}, 4097),
		"exact/two_chunks.bin":   bytes.Repeat([]byte{9}, 2*16384),
		"big_offsets/over64k.db": bytes.Repeat([]byte{7}, 70_000),
	}
	for rel, data := range files {
		p := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	script, _ := filepath.Abs("../python/serialize_chunks.py")
	out, err := exec.Command(filepath.Join(venv, "bin", "python"), script, root, "16384", "1700000000.25").Output()
	if err != nil {
		t.Fatalf("serialize_chunks.py: %v", err)
	}
	var fromPython []struct{ Rel, Key, Value string }
	if err := json.Unmarshal(out, &fromPython); err != nil {
		t.Fatal(err)
	}
	byKey := map[string][]byte{}
	for _, m := range fromPython {
		v, _ := hex.DecodeString(m.Value)
		byKey[m.Key] = v
	}
	n := 0
	for rel, data := range files {
		for _, m := range FileChunks(data, rel, 16384, Options{Mtime: 1700000000.25}) {
			n++
			want, ok := byKey[m.Key]
			if !ok {
				t.Fatalf("OpenMSIStream made no message with key %q", m.Key)
			}
			if !bytes.Equal(m.Value, want) {
				t.Fatalf("%s: value differs from OpenMSIStream's", m.Key)
			}
			c, err := download.DecodeChunk(want)
			if err != nil {
				t.Fatalf("%s: decoder rejects OpenMSIStream's value: %v", m.Key, err)
			}
			if err := c.VerifyData(); err != nil || c.Mtime != 1700000000.25 {
				t.Fatalf("%s: decoded %+v, %v", m.Key, c, err)
			}
		}
	}
	if n != len(fromPython) {
		t.Fatalf("%d messages here, %d from OpenMSIStream", n, len(fromPython))
	}
	t.Logf("%d chunk messages identical to OpenMSIStream's", n)
}
