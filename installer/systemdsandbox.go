//go:build !windows

package installer

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// sandbox is the unit's hardening: what systemd-analyze security rates,
// kept to what the program needs. It reads its config and talks to Kafka
// (IPv4, IPv6, and netlink for the resolver), writes the output folder and
// its log file, and runs a child of itself to describe its consumer group.
// Root (--service_user root) keeps the capabilities that let it write
// folders it does not own, since that is why someone would choose it.
func sandbox(d Definition, user string) string {
	writable := []string{d.OutputDir}
	if d.LogDir != "" {
		writable = append(writable, d.LogDir)
	}
	lines := []string{
		"UMask=0027",
		"NoNewPrivileges=yes",
		"ProtectSystem=strict",
		"ReadWritePaths=" + quotePaths(writable),
	}
	// Read-only home folders, unless the service writes in one.
	if !underHome(writable) {
		lines = append(lines, "ProtectHome=read-only")
	}
	lines = append(lines,
		"PrivateTmp=yes",
		"PrivateDevices=yes",
		"PrivateMounts=yes",
		"ProtectKernelTunables=yes",
		"ProtectKernelModules=yes",
		"ProtectKernelLogs=yes",
		"ProtectControlGroups=yes",
		"ProtectClock=yes",
		"ProtectHostname=yes",
		"ProtectProc=invisible",
		"ProcSubset=pid",
		"RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX AF_NETLINK",
		"RestrictNamespaces=yes",
		"RestrictRealtime=yes",
		"RestrictSUIDSGID=yes",
		"LockPersonality=yes",
		"MemoryDenyWriteExecute=yes",
		"RemoveIPC=yes",
		"KeyringMode=private",
		"SystemCallArchitectures=native",
		"SystemCallFilter=@system-service",
		"SystemCallFilter=~@privileged @resources",
		"SystemCallErrorNumber=EPERM",
		"AmbientCapabilities=",
	)
	if user == "root" {
		lines = append(lines, "CapabilityBoundingSet=CAP_DAC_OVERRIDE CAP_DAC_READ_SEARCH CAP_FOWNER")
	} else {
		lines = append(lines, "CapabilityBoundingSet=", "PrivateUsers=yes")
	}
	return strings.Join(lines, "\n") + "\n"
}

// homeDirs are what ProtectHome= covers.
var homeDirs = []string{"/home", "/root", "/run/user"}

func underHome(paths []string) bool {
	for _, p := range paths {
		for _, h := range homeDirs {
			if p == h || strings.HasPrefix(p, h+"/") {
				return true
			}
		}
	}
	return false
}

// quotePaths writes a list for ReadWritePaths=: each path double-quoted
// (systemd splits the value at spaces outside quotes), % doubled
// (specifiers are expanded there; variables are not).
func quotePaths(paths []string) string {
	q := make([]string, len(paths))
	for i, p := range paths {
		q[i] = quoteUnitWord(p, false)
	}
	return strings.Join(q, " ")
}

// prepareAccount makes sure the service's account exists and may do what
// the service does: run the program, read the config file, write the
// output folder and the log folder. SystemUser is created when missing;
// an empty output or log folder is given to the account; anything else
// the account lacks is an error that says how to grant it.
func (s *Systemd) prepareAccount(d Definition) error {
	name := serviceUser(d)
	a, err := s.LookupUser(name)
	if err != nil && name == SystemUser {
		if err := s.CreateUser(name); err != nil {
			return fmt.Errorf("cannot create the system user %s that the service runs as: %w", name, err)
		}
		a, err = s.LookupUser(name)
	}
	if err != nil {
		return fmt.Errorf("--service_user %s: no such user on this system: %w", name, err)
	}
	if err := checkAccess(a, d.Executable, mayExecute); err != nil {
		return fmt.Errorf("the service's user %s cannot run %s (%v): install the program where every user may run it, such as /usr/local/bin", name, d.Executable, err)
	}
	if d.ConfigFile != "" {
		if err := checkAccess(a, d.ConfigFile, mayRead); err != nil {
			return fmt.Errorf("the service's user %s cannot read the config file (%v): for example chgrp %s %s && chmod g+r %s", name, err, groupOf(a, name), d.ConfigFile, d.ConfigFile)
		}
	}
	for _, dir := range []string{d.OutputDir, d.LogDir} {
		if dir == "" {
			continue
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("create %s: %w", dir, err)
		}
		if err := checkAccess(a, dir, mayWrite|mayExecute); err == nil {
			continue
		} else if !errors.Is(err, errNoAccess) {
			return err
		}
		if empty, err := isEmpty(dir); err != nil || !empty {
			return fmt.Errorf("the service's user %s cannot write %s, which is not empty: give it the folder (chown -R %s %s), or choose another --service_user", name, dir, name, quoteShell(dir))
		}
		if err := os.Chown(dir, a.UID, a.GIDs[0]); err != nil {
			return fmt.Errorf("give %s to the service's user %s: %w", dir, name, err)
		}
		if err := checkAccess(a, dir, mayWrite|mayExecute); err != nil {
			return fmt.Errorf("the service's user %s cannot reach %s even as its owner (%v): a folder above it is closed to it", name, dir, err)
		}
	}
	return nil
}

func groupOf(a *Account, name string) string {
	if name == SystemUser {
		return SystemUser
	}
	return fmt.Sprint(a.GIDs[0])
}

func isEmpty(dir string) (bool, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return true, nil
	}
	return len(entries) == 0, err
}

// quoteShell quotes a path for a command the user copies.
func quoteShell(p string) string {
	if strings.ContainsAny(p, " '\"$`\\") {
		return "'" + strings.ReplaceAll(p, "'", `'\''`) + "'"
	}
	return filepath.Clean(p)
}
