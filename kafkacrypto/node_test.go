package kafkacrypto

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// copyNode copies the provisioned test node to a temporary folder, so
// tests may break its files.
func copyNode(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "cons")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"cons.config", "cons.crypto", "cons.seed"} {
		b, err := os.ReadFile(filepath.Join("testdata/node/cons", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestLoadProvisionedNode(t *testing.T) {
	n, err := LoadNode("testdata/node/cons/cons.config", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if n.ID != "cons" || !n.direct || len(n.lists.allow) != 1 || n.maxAge != 316224000 {
		t.Errorf("node %+v", n)
	}
	if n.Root("topic.with.dots") != "topic" || n.Root("plain") != "plain" {
		t.Error("root of a topic")
	}
	if exp := n.ChainExpires(); exp.Before(time.Now().AddDate(9, 0, 0)) {
		t.Errorf("chain expires %v; provisioning gives 10 years", exp)
	}
}

func TestLoadNodeErrorsNameTheFile(t *testing.T) {
	cases := []struct {
		name    string
		breakIt func(dir string)
		want    string
	}{
		{"missing key file", func(dir string) { os.Remove(filepath.Join(dir, "cons.crypto")) }, "cons.crypto does not exist"},
		{"garbage key file", func(dir string) { os.WriteFile(filepath.Join(dir, "cons.crypto"), []byte("x"), 0o600) }, "cons.crypto"},
		{"missing config", func(dir string) { os.Remove(filepath.Join(dir, "cons.config")) }, "cons.config does not exist"},
		{"no root of trust", func(dir string) { edit(dir, "rot0 : ", "xrot0 : notbase64") }, "no root of trust"},
		{"no chain", func(dir string) { edit(dir, "chain0 : base64#", "chain0 : base64#AAAA") }, "no valid chain"},
		{"wrong root", func(dir string) {
			// a root of trust that did not sign the chain
			other := pack([]any{int64(0), pack([]any{}), bytes.Repeat([]byte{1}, 32)})
			edit(dir, "rot0 : ", "rot0 : base64#"+base64.StdEncoding.EncodeToString(other))
		}, "no valid chain"},
		{"no node id", func(dir string) { edit(dir, "node_id : cons", "") }, "no node_id"},
	}
	for _, c := range cases {
		dir := copyNode(t)
		c.breakIt(dir)
		_, err := LoadNode(filepath.Join(dir, "cons.config"), time.Now())
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
	// An expired node chain is named as such.
	if _, err := LoadNode("testdata/node/cons/cons.config", time.Now().AddDate(11, 0, 0)); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Errorf("expired chain: %v", err)
	}
}

func edit(dir, old, new string) {
	p := filepath.Join(dir, "cons.config")
	b, _ := os.ReadFile(p)
	s := string(b)
	if i := strings.Index(s, old); i >= 0 {
		end := strings.IndexByte(s[i:], '\n')
		s = s[:i] + new + s[i+end:]
	}
	os.WriteFile(p, []byte(s), 0o600)
}

func TestFindNodeConfig(t *testing.T) {
	base := t.TempDir()
	cfgDir := filepath.Join(base, "cfg")
	defDir := filepath.Join(base, "default")
	for _, d := range []string{filepath.Join(cfgDir, "n1"), filepath.Join(defDir, "n1"), filepath.Join(defDir, "n2"), filepath.Join(cfgDir, "n3")} {
		os.MkdirAll(d, 0o755)
		os.WriteFile(filepath.Join(d, filepath.Base(d)+".config"), nil, 0o644)
	}
	cfg := filepath.Join(cfgDir, "lab.config")
	for _, c := range []struct{ node, file, want string }{
		{"n1", "", filepath.Join(defDir, "n1", "n1.config")}, // the default folder comes first
		{"n3", "", filepath.Join(cfgDir, "n3", "n3.config")},
		{"", "file#" + filepath.Join(cfgDir, "n3", "n3.config"), filepath.Join(cfgDir, "n3", "n3.config")},
		{"", "n3/n3.config", filepath.Join(cfgDir, "n3", "n3.config")}, // relative to the config's folder
	} {
		got, err := FindNodeConfig(c.node, c.file, cfg, defDir)
		if err != nil || got != c.want {
			t.Errorf("%q %q: %q, %v; want %q", c.node, c.file, got, err, c.want)
		}
	}
	_, err := FindNodeConfig("absent", "", cfg, defDir)
	if err == nil || !strings.Contains(err.Error(), filepath.Join(cfgDir, "absent", "absent.config")) {
		t.Errorf("missing node: %v", err)
	}
	if _, err := FindNodeConfig("../x", "", cfg, defDir); err == nil {
		t.Error("a node id with a path was accepted")
	}
}
