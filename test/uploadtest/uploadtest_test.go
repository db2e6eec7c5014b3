package uploadtest

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openmsi/datafiledownloaddirectory/test/testkit"
)

type goldenVector struct {
	Name             string   `json:"name"`
	File             string   `json:"file"`
	Source           string   `json:"source"`
	Layout           int      `json:"layout"`
	StringsAsBin     bool     `json:"strings_as_bin"`
	Key              string   `json:"key"`
	Filename         string   `json:"filename"`
	Subdir           string   `json:"subdir"`
	FilenameAppend   string   `json:"filename_append"`
	ChunkI           int64    `json:"chunk_i"`
	NTotalChunks     int64    `json:"n_total_chunks"`
	ChunkOffsetWrite int64    `json:"chunk_offset_write"`
	Data             string   `json:"data"`
	FileHash         string   `json:"file_hash"`
	ChunkHash        string   `json:"chunk_hash"`
	FileMtime        *float64 `json:"file_mtime"`
}

type goldenFile struct {
	Rel            string   `json:"rel"`
	ChunkSize      int      `json:"chunk_size"`
	FileMtime      *float64 `json:"file_mtime"`
	FilenameAppend string   `json:"filename_append"`
	Layout         int      `json:"layout"`
	Size           int      `json:"size"`
	SHA512         string   `json:"sha512"`
	Vectors        []string `json:"vectors"`
	Content        *string  `json:"content"`
	Pattern        string   `json:"pattern"`
}

type golden struct {
	dir     string
	Vectors []goldenVector `json:"vectors"`
	Files   []goldenFile   `json:"files"`
	Ints    []struct {
		Value int64  `json:"value"`
		Hex   string `json:"hex"`
	} `json:"ints"`
}

// loadGolden finds download/testdata/golden from the module root rather
// than a relative path, so this package can move without breaking it.
func loadGolden(t *testing.T) *golden {
	t.Helper()
	dir := testkit.RepoRoot(t)
	g := &golden{dir: filepath.Join(dir, "download", "testdata", "golden")}
	raw, err := os.ReadFile(filepath.Join(g.dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, g); err != nil {
		t.Fatal(err)
	}
	if len(g.Vectors) == 0 || len(g.Files) == 0 || len(g.Ints) == 0 {
		t.Fatal("the golden manifest is empty")
	}
	return g
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustBase64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestMatchesPythonGolden re-encodes each message the real OpenMSIStream
// made from the fields in the manifest.
func TestMatchesPythonGolden(t *testing.T) {
	g := loadGolden(t)
	layouts := map[int]bool{}
	for _, v := range g.Vectors {
		t.Run(v.Name, func(t *testing.T) {
			want, err := os.ReadFile(filepath.Join(g.dir, v.File))
			if err != nil {
				t.Fatal(err)
			}
			if (v.FileMtime != nil) != (v.Layout == 10) {
				t.Fatalf("manifest: layout %d with file_mtime %v", v.Layout, v.FileMtime)
			}
			got := Encode(Fields{
				Filename: v.Filename, FileHash: mustHex(t, v.FileHash), ChunkHash: mustHex(t, v.ChunkHash),
				Offset: v.ChunkOffsetWrite, Index: v.ChunkI, Total: v.NTotalChunks,
				Subdir: v.Subdir, Append: v.FilenameAppend, Data: mustBase64(t, v.Data),
				Mtime: v.FileMtime, BinStrings: v.StringsAsBin,
			})
			if !bytes.Equal(got, want) {
				t.Fatalf("encoded\n%x\nPython\n%x", got, want)
			}
			if k := Key(v.Subdir, v.Filename, int(v.ChunkI), int(v.NTotalChunks)); k != v.Key {
				t.Errorf("key %q, Python %q", k, v.Key)
			}
			layouts[v.Layout] = true
		})
	}
	if !layouts[9] || !layouts[10] {
		t.Errorf("golden vectors cover layouts %v, want 9 and 10", layouts)
	}
}

// TestFileChunksMatchPython cuts the same files as the Python generator
// and compares key and value of every chunk it kept.
func TestFileChunksMatchPython(t *testing.T) {
	g := loadGolden(t)
	vectors := map[string]goldenVector{}
	for _, v := range g.Vectors {
		vectors[v.Name] = v
	}
	for _, f := range g.Files {
		t.Run(f.Rel, func(t *testing.T) {
			var data []byte
			switch {
			case f.Content != nil:
				data = mustBase64(t, *f.Content)
			case f.Pattern == "i%251":
				data = make([]byte, f.Size)
				for i := range data {
					data[i] = byte(i % 251)
				}
			default:
				t.Fatalf("manifest: no content for %s", f.Rel)
			}
			if len(data) != f.Size {
				t.Fatalf("content is %d bytes, manifest says %d", len(data), f.Size)
			}
			opts := Options{FilenameAppend: f.FilenameAppend, Legacy9: f.Layout == 9}
			if f.FileMtime != nil {
				opts.Mtime = *f.FileMtime
			}
			msgs := FileChunks(data, f.Rel, f.ChunkSize, opts)
			for _, name := range f.Vectors {
				v := vectors[name]
				if v.ChunkI < 1 || int(v.ChunkI) > len(msgs) {
					t.Fatalf("%s: chunk %d of %d messages", name, v.ChunkI, len(msgs))
				}
				m := msgs[v.ChunkI-1]
				want, err := os.ReadFile(filepath.Join(g.dir, v.File))
				if err != nil {
					t.Fatal(err)
				}
				if m.Key != v.Key || !bytes.Equal(m.Value, want) {
					t.Errorf("%s: key %q value\n%x\nPython key %q value\n%x", name, m.Key, m.Value, v.Key, want)
				}
				if m.RelPath != f.Rel || m.ChunkIndex != int(v.ChunkI) || m.ChunkTotal != int(v.NTotalChunks) {
					t.Errorf("%s: RelPath %q ChunkIndex %d ChunkTotal %d", name, m.RelPath, m.ChunkIndex, m.ChunkTotal)
				}
			}
		})
	}
}

// TestIntWidthsMatchMsgpack checks every width boundary against
// msgpack-python's own packb output, negatives (forged values) included.
func TestIntWidthsMatchMsgpack(t *testing.T) {
	for _, c := range loadGolden(t).Ints {
		if got := hex.EncodeToString(appendInt(nil, c.Value)); got != c.Hex {
			t.Errorf("%d encoded as %s, msgpack-python %s", c.Value, got, c.Hex)
		}
	}
}

func TestKeys(t *testing.T) {
	tests := []struct{ rel, want string }{
		{"raw/2024/scan.tif", "raw_2024_scan.tif_chunk_3_of_12"},
		{"scan.tif", "_scan.tif_chunk_3_of_12"}, // root file: subdir "" still adds its "_"
	}
	for _, tt := range tests {
		msgs := FileChunks(bytes.Repeat([]byte{1}, 12*16-5), tt.rel, 16, Options{})
		if len(msgs) != 12 {
			t.Fatalf("%s: %d messages, want 12", tt.rel, len(msgs))
		}
		if got := msgs[2].Key; got != tt.want {
			t.Errorf("key of %s: %q, want %q", tt.rel, got, tt.want)
		}
		if !strings.HasPrefix(tt.rel, "raw/") && !strings.HasPrefix(msgs[0].Key, "_") {
			t.Errorf("root file key %q does not start with _", msgs[0].Key)
		}
	}
}

func TestEmptyFileHasNoChunks(t *testing.T) {
	for _, data := range [][]byte{nil, {}} {
		if msgs := FileChunks(data, "empty.txt", 16, Options{}); len(msgs) != 0 {
			t.Fatalf("%d messages for an empty file", len(msgs))
		}
	}
}

func TestDirChunks(t *testing.T) {
	root := t.TempDir()
	files := map[string]string{"b.txt": "0123456789abcdefXYZ", "a/b/c.txt": "c", "empty": ""}
	for rel, content := range files {
		p := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A link is not uploaded; where none can be made, the rest still holds.
	if err := testkit.MakeSymlink("b.txt", filepath.Join(root, "link")); err != nil {
		t.Logf("symbolic links not checked: %v", err)
	}
	msgs, err := DirChunks(root, 16, Options{Mtime: 5})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range msgs {
		got = append(got, m.Key)
	}
	want := []string{"a_b_c.txt_chunk_1_of_1", "_b.txt_chunk_1_of_2", "_b.txt_chunk_2_of_2"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("keys %q, want %q", got, want)
	}
	if !bytes.Equal(msgs[1].Value, FileChunks([]byte(files["b.txt"]), "b.txt", 16, Options{Mtime: 5})[0].Value) {
		t.Error("DirChunks and FileChunks disagree on b.txt")
	}
}
