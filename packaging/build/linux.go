package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/goreleaser/nfpm/v2"
	_ "github.com/goreleaser/nfpm/v2/deb" // registers the deb packager
	_ "github.com/goreleaser/nfpm/v2/rpm" // registers the rpm packager
)

// buildLinuxPackage writes the .deb or .rpm described by
// packaging/linux/nfpm.yaml to target.
func buildLinuxPackage(format string, o options, manPage, target string) error {
	vars := map[string]string{
		"VERSION": o.version,
		"BINARY":  o.linuxBinary,
		"MANPAGE": manPage,
	}
	var unknown []string
	cfg, err := nfpm.ParseFileWithEnvMapping(filepath.Join(o.pkgDir, "linux", "nfpm.yaml"), func(k string) string {
		v, ok := vars[k]
		// nfpm itself asks for NFPM_*PASSPHRASE (package signing, not used).
		if !ok && !strings.HasPrefix(k, "NFPM_") {
			unknown = append(unknown, k)
		}
		return v
	})
	if err != nil {
		return err
	}
	// nfpm would make an unknown ${NAME} empty; a typo must not give a
	// package with a missing file or an empty field instead.
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return fmt.Errorf("nfpm.yaml uses unknown variables %s; packaging/build sets only VERSION, BINARY and MANPAGE", strings.Join(unknown, ", "))
	}
	info, err := cfg.Get(format)
	if err != nil {
		return err
	}
	info = nfpm.WithDefaults(info)
	// nfpm reads relative paths from the current folder; these are
	// relative to the packaging folder.
	inPkg := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(o.pkgDir, p)
	}
	for _, c := range info.Contents {
		c.Source = inPkg(c.Source)
	}
	s := &info.Scripts
	for _, p := range []*string{&s.PreInstall, &s.PostInstall, &s.PreRemove, &s.PostRemove} {
		*p = inPkg(*p)
	}
	packager, err := nfpm.Get(format)
	if err != nil {
		return err
	}
	tmp := target + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	info.Target = target
	if err := packager.Package(info, f); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	return replaceFile(tmp, target)
}
