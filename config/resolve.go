package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// configDirEnv is OpenMSIStream's variable for its config folder; honouring
// it lets a lab keep one folder for both programs.
const configDirEnv = "OPENMSISTREAM_CONFIG_FILE_DIR"

// DefaultDir is the folder where a bare --config NAME is looked up:
// $OPENMSISTREAM_CONFIG_FILE_DIR if set, as in OpenMSIStream, else the
// folder the installers put config files in: /etc/datafiledownloaddirectory
// on Linux (and other Unix systems), %ProgramData%\DataFileDownloadDirectory
// on Windows. (OpenMSIStream's own fallback is inside its Python package,
// which this program does not have.)
func DefaultDir() string {
	if dir := os.Getenv(configDirEnv); dir != "" {
		return dir
	}
	return platformConfigDir()
}

// ResolvePath turns the --config argument into the absolute path of an
// existing file.
//
// An argument that contains a path separator is used as is; if that file
// does not exist and its name has no dot, NAME.config is tried too, as
// OpenMSIStream appends ".config" to an argument without a dot.
// A bare name is looked for, in this order, as given in the current folder,
// as NAME.config there when it has no dot (OpenMSIStream's first place), and
// in DefaultDir(), with ".config" appended when it has no dot: the default
// "test" means DefaultDir()/test.config. A missing file is an error naming
// every place looked at.
func ResolvePath(arg string) (string, error) {
	if strings.TrimSpace(arg) == "" {
		return "", errors.New("--config needs the name or path of a config file")
	}
	withExt := arg
	if !strings.Contains(filepath.Base(arg), ".") {
		withExt = arg + ".config"
	}
	var candidates []string
	if hasPathSeparator(arg) {
		candidates = []string{arg, withExt}
	} else {
		candidates = []string{arg, withExt, filepath.Join(DefaultDir(), withExt)}
	}
	var looked []string
	seen := map[string]bool{}
	for _, candidate := range candidates {
		abs, err := filepath.Abs(candidate)
		if err != nil {
			abs = candidate
		}
		if seen[abs] {
			continue
		}
		seen[abs] = true
		info, err := os.Stat(abs)
		switch {
		case err == nil && !info.IsDir():
			return abs, nil
		case err == nil:
			looked = append(looked, abs+" (a folder)")
		case errors.Is(err, fs.ErrNotExist):
			looked = append(looked, abs)
		default:
			looked = append(looked, fmt.Sprintf("%s (%v)", abs, errors.Unwrap(err)))
		}
	}
	hint := fmt.Sprintf("give the file's full path with --config, or put it in %s", DefaultDir())
	if os.Getenv(configDirEnv) == "" {
		hint += fmt.Sprintf(" (set %s to use another folder)", configDirEnv)
	}
	return "", fmt.Errorf("config file %q not found; looked for:\n  %s\n%s", arg, strings.Join(looked, "\n  "), hint)
}

func hasPathSeparator(arg string) bool {
	if filepath.VolumeName(arg) != "" {
		return true
	}
	for i := 0; i < len(arg); i++ {
		if os.IsPathSeparator(arg[i]) || arg[i] == '/' {
			return true
		}
	}
	return false
}
