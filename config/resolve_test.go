package config

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestDefaultDir(t *testing.T) {
	t.Setenv(configDirEnv, "/srv/lab-configs")
	if got := DefaultDir(); got != "/srv/lab-configs" {
		t.Errorf("DefaultDir() with %s set = %q", configDirEnv, got)
	}
	t.Setenv(configDirEnv, "")
	want := "/etc/datafiledownloaddirectory"
	if runtime.GOOS == "windows" {
		want = filepath.Join(os.Getenv("ProgramData"), "DataFileDownloadDirectory")
	}
	if got := DefaultDir(); got != want {
		t.Errorf("DefaultDir() = %q, want %q", got, want)
	}
}

func touch(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("[broker]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestResolvePath(t *testing.T) {
	configDir := t.TempDir()
	workDir := t.TempDir()
	t.Setenv(configDirEnv, configDir)
	t.Chdir(workDir)
	touch(t, filepath.Join(configDir, "test.config"))
	touch(t, filepath.Join(configDir, "prod.ini"))
	touch(t, filepath.Join(workDir, "local.config"))
	touch(t, filepath.Join(workDir, "plain"))
	touch(t, filepath.Join(workDir, "sub", "nested.config"))
	touch(t, filepath.Join(workDir, "sub", "dotted.conf"))
	if err := os.Mkdir(filepath.Join(workDir, "test"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ arg, want string }{
		{"test", filepath.Join(configDir, "test.config")},
		{"test.config", filepath.Join(configDir, "test.config")},
		{"prod.ini", filepath.Join(configDir, "prod.ini")},
		{"local", filepath.Join(workDir, "local.config")},
		{"plain", filepath.Join(workDir, "plain")},
		{filepath.Join("sub", "nested"), filepath.Join(workDir, "sub", "nested.config")},
		{filepath.Join("sub", "dotted.conf"), filepath.Join(workDir, "sub", "dotted.conf")},
		{filepath.Join(configDir, "test.config"), filepath.Join(configDir, "test.config")},
		{"." + string(filepath.Separator) + "local.config", filepath.Join(workDir, "local.config")},
	}
	for _, test := range tests {
		got, err := ResolvePath(test.arg)
		if err != nil {
			t.Errorf("ResolvePath(%q): %v", test.arg, err)
			continue
		}
		if got != test.want {
			t.Errorf("ResolvePath(%q) = %q, want %q", test.arg, got, test.want)
		}
	}
}

func TestResolvePathErrors(t *testing.T) {
	configDir := t.TempDir()
	workDir := t.TempDir()
	t.Setenv(configDirEnv, configDir)
	t.Chdir(workDir)
	if err := os.Mkdir(filepath.Join(workDir, "folder"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		arg    string
		looked []string
	}{
		{"missing", []string{filepath.Join(workDir, "missing"), filepath.Join(workDir, "missing.config"),
			filepath.Join(configDir, "missing.config")}},
		{"missing.ini", []string{filepath.Join(workDir, "missing.ini"), filepath.Join(configDir, "missing.ini")}},
		{"folder", []string{filepath.Join(workDir, "folder") + " (a folder)"}},
		{filepath.Join("sub", "x"), []string{filepath.Join(workDir, "sub", "x"), filepath.Join(workDir, "sub", "x.config")}},
	}
	for _, test := range tests {
		_, err := ResolvePath(test.arg)
		if err == nil {
			t.Errorf("ResolvePath(%q) found a file", test.arg)
			continue
		}
		for _, place := range test.looked {
			if !strings.Contains(err.Error(), place) {
				t.Errorf("ResolvePath(%q) error does not name %s:\n%v", test.arg, place, err)
			}
		}
	}
	if _, err := ResolvePath(""); err == nil {
		t.Error("ResolvePath(\"\") found a file")
	}
}
