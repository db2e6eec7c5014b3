package storage

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Folders this program owns inside the output folder. Uploaded paths may
// not write into them, whatever their case (Windows and macOS folders are
// case-insensitive).
const (
	StateDirName     = ".datafiledownloaddirectory"
	MismatchDirName  = "HASH_MISMATCHES"
	EncryptedDirName = "ENCRYPTED_MESSAGES"
)

var reservedTopDirs = []string{StateDirName, MismatchDirName, EncryptedDirName}

// maxNameBytes is the longest file name common filesystems hold (ext4, NTFS
// in UTF-16 units, APFS); longer names would fail late, at the rename.
const maxNameBytes = 255

// Paths are the two relative paths of one uploaded file, always with
// forward slashes.
type Paths struct {
	// Rel is the uploader's path without filename_append: what
	// --download_regex sees and what identifies a file and its versions.
	Rel string
	// Dest is where the rebuilt file goes, filename_append applied.
	Dest string
}

// ChunkPaths checks a chunk's subdir, filename and append and returns its
// paths. windows applies the rules of Windows file names as well, so they
// can be tested on any OS.
func ChunkPaths(subdir, filename, appendStr string, windows bool) (Paths, error) {
	var parts []string
	if subdir != "" {
		if strings.HasPrefix(subdir, "/") {
			return Paths{}, fmt.Errorf("subdir %q is an absolute path", subdir)
		}
		for _, p := range strings.Split(subdir, "/") {
			// PurePosixPath, which the uploader's side uses, drops empty
			// and "." parts; so do we.
			if p == "" || p == "." {
				continue
			}
			if err := checkName(p, windows); err != nil {
				return Paths{}, fmt.Errorf("subdir %q: %w", subdir, err)
			}
			parts = append(parts, p)
		}
	}
	if err := checkName(filename, windows); err != nil {
		return Paths{}, fmt.Errorf("filename %q: %w", filename, err)
	}
	destName := withAppend(filename, appendStr)
	if appendStr != "" {
		if err := checkName(destName, windows); err != nil {
			return Paths{}, fmt.Errorf("filename %q with filename_append %q: %w", filename, appendStr, err)
		}
	}
	top := filename
	if len(parts) > 0 {
		top = parts[0]
	}
	// "C:" means a drive on Windows, and a folder named "C:" elsewhere:
	// refused everywhere, so that a topic gives the same tree on every OS.
	topDest := top
	if len(parts) == 0 {
		topDest = destName // filename_append may make "A" into "A:"
	}
	if driveLetter.MatchString(top) || driveLetter.MatchString(topDest) {
		return Paths{}, fmt.Errorf("path %q begins with a drive letter", path.Join(subdir, destName))
	}
	if r := reservedFolder(top, windows); r != "" {
		return Paths{}, fmt.Errorf("path would write into the reserved folder %s", r)
	}
	if appendStr != "" && len(parts) == 0 {
		if r := reservedFolder(destName, windows); r != "" {
			return Paths{}, fmt.Errorf("path would write into the reserved folder %s", r)
		}
	}
	dir := strings.Join(parts, "/")
	if dir == "" {
		return Paths{Rel: filename, Dest: destName}, nil
	}
	return Paths{Rel: dir + "/" + filename, Dest: dir + "/" + destName}, nil
}

var driveLetter = regexp.MustCompile(`^[A-Za-z]:`)

// reservedFolder returns the reserved folder a top-level name stands for,
// or "". Folders are matched whatever their case (Windows and macOS are
// case-insensitive), and on Windows by their 8.3 short names too
// (HASH_M~1), which name the same folder there.
func reservedFolder(top string, windows bool) string {
	for _, r := range reservedTopDirs {
		if strings.EqualFold(top, r) || (windows && isShortNameOf(top, r)) {
			return r
		}
	}
	return ""
}

// isShortNameOf says whether name has the form Windows gives the 8.3 short
// name of long: up to six characters of it (dots dropped, upper case), a
// tilde and a number, any extension.
func isShortNameOf(name, long string) bool {
	base, _, _ := strings.Cut(strings.ToUpper(name), ".")
	stem, num, ok := strings.Cut(base, "~")
	if !ok || num == "" || stem == "" || len(stem) > 6 {
		return false
	}
	for _, r := range num {
		if r < '0' || r > '9' {
			return false
		}
	}
	return strings.HasPrefix(strings.ToUpper(strings.ReplaceAll(long, ".", "")), stem)
}

var windowsDeviceName = regexp.MustCompile(`(?i)^(CON|PRN|AUX|NUL|CONIN\$|CONOUT\$|COM[0-9¹²³]|LPT[0-9¹²³])$`)

// checkName checks one path component.
func checkName(name string, windows bool) error {
	switch {
	case name == "":
		return errors.New("empty name")
	case name == "." || name == "..":
		return errors.New("names . and .. are not allowed")
	case len(name) > maxNameBytes:
		return fmt.Errorf("name is %d bytes long, more than %d", len(name), maxNameBytes)
	case !utf8.ValidString(name):
		return errors.New("name is not valid UTF-8")
	case strings.ContainsAny(name, "/\\"):
		return errors.New("name contains a slash or backslash")
	case strings.ContainsRune(name, 0):
		return errors.New("name contains a NUL character")
	}
	if !windows {
		return nil
	}
	for _, r := range name {
		if r < 32 || strings.ContainsRune(`<>:"|?*`, r) {
			return fmt.Errorf("name contains %q, which Windows does not allow", r)
		}
	}
	if strings.HasSuffix(name, ".") || strings.HasSuffix(name, " ") {
		return errors.New("name ends with a dot or space, which Windows drops")
	}
	// Windows treats "aux.txt" and "AUX .tar.gz" as the device too.
	base, _, _ := strings.Cut(name, ".")
	if windowsDeviceName.MatchString(strings.TrimRight(base, " ")) {
		return fmt.Errorf("%q is a reserved device name on Windows", base)
	}
	return nil
}

// withAppend inserts filename_append between stem and suffix the way
// Python's pathlib splits them: the suffix starts at the last dot, unless
// that dot starts or ends the name.
func withAppend(name, appendStr string) string {
	if appendStr == "" {
		return name
	}
	i := strings.LastIndexByte(name, '.')
	if i <= 0 || i == len(name)-1 {
		return name + appendStr
	}
	return name[:i] + appendStr + name[i:]
}
