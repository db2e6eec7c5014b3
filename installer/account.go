package installer

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
)

// SystemUser is the account a Linux service runs as unless --service_user
// names another: a system user with no login and no home of its own,
// created by install (and by the packages) when missing.
const SystemUser = "datafiledownloaddirectory"

// SystemHome is the system user's home in the passwd file; nothing is
// created there.
const SystemHome = "/var/lib/datafiledownloaddirectory"

// Account is a user as far as file access goes.
type Account struct {
	Name string
	UID  int
	// GIDs are the primary group first, then the supplementary ones.
	GIDs []int
}

// serviceUser is the account d runs as on Linux.
func serviceUser(d Definition) string {
	if d.User == "" {
		return SystemUser
	}
	return d.User
}

// lookupAccount reads a user and its groups from the system.
func lookupAccount(name string) (*Account, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return nil, err
	}
	a := &Account{Name: name}
	if a.UID, err = strconv.Atoi(u.Uid); err != nil {
		return nil, fmt.Errorf("user %s: uid %q", name, u.Uid)
	}
	gid, err := strconv.Atoi(u.Gid)
	if err != nil {
		return nil, fmt.Errorf("user %s: gid %q", name, u.Gid)
	}
	a.GIDs = []int{gid}
	if ids, err := u.GroupIds(); err == nil {
		for _, s := range ids {
			if g, err := strconv.Atoi(s); err == nil && g != gid {
				a.GIDs = append(a.GIDs, g)
			}
		}
	}
	return a, nil
}

// createSystemUser adds SystemUser as the packages' preinstall script does.
func createSystemUser(name string) error {
	nologin := "/usr/sbin/nologin"
	if _, err := os.Stat(nologin); err != nil {
		nologin = "/sbin/nologin"
	}
	out, err := exec.Command("useradd", "--system", "--user-group", "--home-dir", SystemHome,
		"--no-create-home", "--shell", nologin, "--comment", "DataFileDownloadDirectory service", name).CombinedOutput()
	if err != nil {
		return fmt.Errorf("useradd %s: %v: %s", name, err, out)
	}
	return nil
}

// Access bits, as in a file mode's "other" triple.
const (
	mayRead    = 4
	mayWrite   = 2
	mayExecute = 1
)

// errNoAccess means that an account lacks a permission on a path.
var errNoAccess = errors.New("no access")

// checkAccess tells whether a may use path as want says, folders on the
// way searched: by the mode bits (root may do anything; ACLs are not read).
func checkAccess(a *Account, path string, want int) error {
	if a.UID == 0 {
		return nil
	}
	path = filepath.Clean(path)
	for dir := filepath.Dir(path); ; dir = filepath.Dir(dir) {
		if err := permits(a, dir, mayExecute); err != nil {
			return err
		}
		if dir == filepath.Dir(dir) {
			break
		}
	}
	return permits(a, path, want)
}
