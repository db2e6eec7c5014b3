package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fuzzSecret is what every environment variable holds while fuzzing: it
// must never show up in an error.
const fuzzSecret = "FUZZ-ENV-SECRET-7f3a"

func FuzzLoad(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "*.config"))
	for _, seed := range seeds {
		data, err := os.ReadFile(seed)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, seed := range []string{
		"", "[", "[]", "[DEFAULT]\n", "[broker]\nk = %(k)s\n", "[broker]\na = %(b)s%%\nb = %(a\n",
		"[broker]\nk = ${\n", "[broker]\nk = $\n  ${}\n", "\uFEFF[broker]\r\nk:\r  v\r", "[broker]\n\x1c=\x1c\n",
		"[kafkacrypto]\n[broker]\nbootstrap.servers = $X\n[consumer]\ngroup.id = create_new\n",
	} {
		f.Add([]byte(seed))
	}
	lookup := func(string) (string, bool) { return fuzzSecret, true }
	f.Fuzz(func(t *testing.T, data []byte) {
		const path = "fuzz.config"
		file, err := load(path, data, lookup)
		checkError := func(err error) {
			if err == nil {
				return
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error does not name the file: %v", err)
			}
			if strings.Contains(err.Error(), fuzzSecret) {
				t.Errorf("error shows an environment value: %v", err)
			}
		}
		checkError(err)
		if err != nil {
			return
		}
		for _, name := range append(file.Sections(), defaultSectionName, "absent") {
			_, err := file.Section(name)
			checkError(err)
		}
		_, err = file.Consumer()
		checkError(err)
		names := file.EnvVars()
		for i := 1; i < len(names); i++ {
			if names[i-1] >= names[i] {
				t.Errorf("EnvVars() not sorted and unique: %q", names)
			}
		}
	})
}
