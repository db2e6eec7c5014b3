// Command build makes the installable packages of DataFileDownloadDirectory
// (`make package`): the Windows .msi (wixl), the .deb and the .rpm (nfpm),
// from binaries the Makefile has built with the version stamped in, signing
// the .exe and the .msi when a certificate is given (see signerFromEnv).
//
//	go run ./packaging/build -version 1.2.3 -linux-binary bin/DataFileDownloadDirectory \
//	    -windows-exe build/windows/DataFileDownloadDirectory.exe -out dist
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// Name is the program's name, as in internal/about.
const Name = "DataFileDownloadDirectory"

// PackageName is the name of the Linux packages, the system user and the
// systemd unit.
const PackageName = "datafiledownloaddirectory"

func main() {
	var o options
	flag.StringVar(&o.version, "version", "", "version to package (default: the VERSION file)")
	flag.StringVar(&o.linuxBinary, "linux-binary", "bin/"+Name, "the Linux amd64 program")
	flag.StringVar(&o.windowsExe, "windows-exe", "build/windows/"+Name+".exe", "the Windows amd64 program")
	flag.StringVar(&o.pkgDir, "packaging", "packaging", "the packaging folder (unit, scripts, .wxs, examples)")
	flag.StringVar(&o.outDir, "out", "dist", "folder the packages are written to")
	onlyMSI := flag.Bool("msi-only", false, "build only the .msi (make test-windows installs it under wine); -linux-binary is not needed then")
	flag.Parse()
	o.linux = !*onlyMSI
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "build: unexpected arguments %q; see -help\n", flag.Args())
		os.Exit(2)
	}
	if err := run(o); err != nil {
		fmt.Fprintf(os.Stderr, "build: %v\n", err)
		os.Exit(1)
	}
}

type options struct {
	version     string
	linuxBinary string
	windowsExe  string
	pkgDir      string
	outDir      string
	linux       bool // build the .deb and the .rpm too
}

// Filenames of the packages for a version, as the issue names them.
func msiName(v string) string { return Name + "-" + v + "-x86_64.msi" }
func debName(v string) string { return PackageName + "_" + v + "_amd64.deb" }
func rpmName(v string) string { return PackageName + "-" + v + ".x86_64.rpm" }

func run(o options) error {
	if o.version == "" {
		b, err := os.ReadFile("VERSION")
		if err != nil {
			return fmt.Errorf("no -version given and %w", err)
		}
		o.version = strings.TrimSpace(string(b))
	}
	if err := checkVersion(o.version); err != nil {
		return err
	}
	for _, p := range []*string{&o.linuxBinary, &o.windowsExe, &o.pkgDir, &o.outDir} {
		abs, err := filepath.Abs(*p)
		if err != nil {
			return err
		}
		*p = abs
	}
	// A package must not carry a program stamped with another version.
	bins := []string{o.windowsExe}
	if o.linux {
		bins = append(bins, o.linuxBinary)
	}
	for _, bin := range bins {
		if err := checkStamp(bin, o.version); err != nil {
			return err
		}
	}
	signer, err := signerFromEnv()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(o.outDir, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "dfdd-package-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	var linuxFormats []string
	if o.linux {
		linuxFormats = []string{"deb", "rpm"}
	}
	var man string
	if o.linux {
		if man, err = writeManPage(o.linuxBinary, o.version, tmp); err != nil {
			return err
		}
	}
	for _, format := range linuxFormats {
		target := filepath.Join(o.outDir, debName(o.version))
		if format == "rpm" {
			target = filepath.Join(o.outDir, rpmName(o.version))
		}
		if err := buildLinuxPackage(format, o, man, target); err != nil {
			return fmt.Errorf("%s: %w", format, err)
		}
		fmt.Println("built", target)
	}
	msi := filepath.Join(o.outDir, msiName(o.version))
	if err := buildMSI(o, signer, tmp, msi); err != nil {
		return fmt.Errorf("msi: %w", err)
	}
	if signer == nil {
		fmt.Println("built", msi, "(not signed: set", envSignCert, "and", envSignKey, "to sign)")
	} else {
		fmt.Println("built", msi, "(program and installer signed)")
	}
	return nil
}

var versionRE = regexp.MustCompile(`^(\d+)\.(\d+)\.(\d+)$`)

// checkVersion accepts MAJOR.MINOR.PATCH only: Windows Installer compares
// just these three numbers (at most 255, 255 and 65535) to decide that a
// package is an upgrade, and a suffix such as -rc1 would sort differently
// in dpkg, rpm and the MSI.
func checkVersion(v string) error {
	m := versionRE.FindStringSubmatch(v)
	if m == nil {
		return fmt.Errorf("version %q is not MAJOR.MINOR.PATCH (e.g. 1.2.3); fix the VERSION file", v)
	}
	for i, max := range []int{255, 255, 65535} {
		n, err := strconv.Atoi(m[i+1])
		if err != nil || n > max || len(m[i+1]) > 1 && m[i+1][0] == '0' {
			return fmt.Errorf("version %q: part %d must be a number from 0 to %d without leading zeros (Windows Installer's limit)", v, i+1, max)
		}
	}
	return nil
}

// replaceFile moves a finished package into place, so that a failed build
// never leaves half a package under the final name.
func replaceFile(tmp, final string) error {
	if err := os.Rename(tmp, final); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}
