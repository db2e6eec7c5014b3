//go:build linux

package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"debug/pe"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openmsi/datafiledownloaddirectory/test/testkit"
)

// The packages are built once, signed with a throwaway certificate, and
// inspected by the tests below. It needs the programs `make test` builds
// (DFDD_BINARY, DFDD_WINDOWS_EXE) and the tools test/deps.sh installs.
type builtPackages struct {
	version         string
	dir             string // the packages
	deb, rpm, msi   string
	cert            string // PEM of the signing certificate
	linux, windows  string // the programs that went in
	packagingFolder string
}

func buildForTest(t *testing.T) *builtPackages {
	t.Helper()
	linux, windows := os.Getenv("DFDD_BINARY"), os.Getenv("DFDD_WINDOWS_EXE")
	if linux == "" || windows == "" {
		testkit.Need(t, "DFDD_BINARY and DFDD_WINDOWS_EXE are not set to the programs built by make (make test sets them)")
	}
	version := os.Getenv("DFDD_VERSION")
	if version == "" {
		b, err := os.ReadFile("../../VERSION")
		if err != nil {
			t.Fatal(err)
		}
		version = strings.TrimSpace(string(b))
	}
	for _, tool := range []string{"wixl", "msibuild", "msiinfo", "msiextract", "osslsigncode", "dpkg-deb", "rpm", "systemd-analyze"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is missing; run test/deps.sh (make test does)", tool)
		}
	}
	pkgDir, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile := throwawayCertificate(t, dir)
	// The tool runs as `make package` runs it: built without the race
	// detector, which makes nfpm's compression ten times slower.
	tool := filepath.Join(dir, "build")
	if out, err := exec.Command("go", "build", "-o", tool, ".").CombinedOutput(); err != nil {
		t.Fatalf("building packaging/build: %v\n%s", err, out)
	}
	out := filepath.Join(dir, "dist")
	start := time.Now()
	cmd := exec.Command(tool, "-version", version, "-linux-binary", linux, "-windows-exe", windows, "-packaging", pkgDir, "-out", out)
	cmd.Env = append(os.Environ(), envSignCert+"="+certFile, envSignKey+"="+keyFile, envSignPassword+"=", envSignTSA+"=")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the packages: %v\n%s", err, b)
	} else if !strings.Contains(string(b), "(program and installer signed)") {
		t.Fatalf("the packages were not signed:\n%s", b)
	}
	t.Logf("packages built and signed in %v", time.Since(start).Round(time.Millisecond))
	return &builtPackages{
		version: version, dir: out,
		deb:  filepath.Join(out, debName(version)),
		rpm:  filepath.Join(out, rpmName(version)),
		msi:  filepath.Join(out, msiName(version)),
		cert: certFile, linux: linux, windows: windows, packagingFolder: pkgDir,
	}
}

// throwawayCertificate writes a self-signed code-signing certificate and
// its key, valid for an hour.
func throwawayCertificate(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "DataFileDownloadDirectory test signer"},
		NotBefore:             time.Now().Add(-time.Minute),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "sign.crt"), filepath.Join(dir, "sign.key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// output runs a command and returns its stdout; it fails the test when the
// command fails.
func output(t *testing.T, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, out, stderr.Bytes())
	}
	return string(out)
}

func TestPackages(t *testing.T) {
	p := buildForTest(t)
	t.Run("deb", p.testDeb)
	t.Run("rpm", p.testRPM)
	t.Run("msi", p.testMSI)
	t.Run("signatures", p.testSignatures)
	t.Run("systemd unit", p.testUnit)
	t.Run("install and purge", p.testInstallAndPurge)
}

// debEntry is a line of dpkg-deb -c.
type debEntry struct{ mode, owner string }

func debContents(t *testing.T, deb string) map[string]debEntry {
	t.Helper()
	entries := map[string]debEntry{}
	for _, line := range strings.Split(strings.TrimSpace(output(t, "dpkg-deb", "-c", deb)), "\n") {
		f := strings.Fields(line)
		if len(f) < 6 {
			t.Fatalf("unexpected dpkg-deb -c line %q", line)
		}
		path := strings.TrimSuffix(strings.TrimPrefix(f[len(f)-1], "."), "/")
		entries[path] = debEntry{mode: f[0], owner: f[1]}
	}
	return entries
}

// wantFiles are the files of the Linux packages that are not folders, with
// their modes and owners.
var wantFiles = map[string]debEntry{
	"/usr/bin/DataFileDownloadDirectory":                         {"-rwxr-xr-x", "root/root"},
	"/usr/lib/systemd/system/datafiledownloaddirectory@.service": {"-rw-r--r--", "root/root"},
	"/usr/share/man/man1/DataFileDownloadDirectory.1.gz":         {"-rw-r--r--", "root/root"},
	"/etc/datafiledownloaddirectory/example.config":              {"-rw-r-----", "root/datafiledownloaddirectory"},
	"/etc/datafiledownloaddirectory/example.env":                 {"-rw-------", "root/root"},
	"/etc/datafiledownloaddirectory":                             {"drwxr-x---", "root/datafiledownloaddirectory"},
	"/var/lib/datafiledownloaddirectory":                         {"drwxr-x---", "datafiledownloaddirectory/datafiledownloaddirectory"},
	"/var/log/datafiledownloaddirectory":                         {"drwxr-x---", "datafiledownloaddirectory/datafiledownloaddirectory"},
}

var conffiles = []string{"/etc/datafiledownloaddirectory/example.config", "/etc/datafiledownloaddirectory/example.env"}

func (p *builtPackages) testDeb(t *testing.T) {
	entries := debContents(t, p.deb)
	for path, want := range wantFiles {
		if got, ok := entries[path]; !ok {
			t.Errorf("the .deb lacks %s", path)
		} else if got != want {
			t.Errorf("%s is %s %s in the .deb, want %s %s", path, got.mode, got.owner, want.mode, want.owner)
		}
	}
	for path, e := range entries {
		if _, ok := wantFiles[path]; !ok && !strings.HasPrefix(e.mode, "d") {
			t.Errorf("the .deb has an unexpected file %s", path)
		}
	}

	control := output(t, "dpkg-deb", "-f", p.deb)
	for _, want := range []string{
		"Package: datafiledownloaddirectory\n",
		"Version: " + p.version + "-1\n",
		"Architecture: amd64\n",
		"Depends: passwd\n",
	} {
		if !strings.Contains(control, want) {
			t.Errorf("control lacks %q:\n%s", want, control)
		}
	}
	gotConf := strings.Fields(output(t, "dpkg-deb", "-I", p.deb, "conffiles"))
	if !slices.Equal(gotConf, conffiles) {
		t.Errorf("conffiles = %q, want %q", gotConf, conffiles)
	}
	// The maintainer scripts are ours, byte for byte.
	for member, script := range map[string]string{"preinst": "preinstall.sh", "postinst": "postinstall.sh", "prerm": "preremove.sh", "postrm": "postremove.sh"} {
		want, err := os.ReadFile(filepath.Join(p.packagingFolder, "linux", "scripts", script))
		if err != nil {
			t.Fatal(err)
		}
		if got := output(t, "dpkg-deb", "-I", p.deb, member); got != string(want) {
			t.Errorf("%s differs from packaging/linux/scripts/%s", member, script)
		}
	}
	// The program in the package is the one make built.
	x := t.TempDir()
	output(t, "dpkg-deb", "-x", p.deb, x)
	sameFile(t, filepath.Join(x, "usr/bin/DataFileDownloadDirectory"), p.linux)
}

func sameFile(t *testing.T, a, b string) {
	t.Helper()
	if fileSum(t, a) != fileSum(t, b) {
		t.Errorf("%s differs from %s", a, b)
	}
}

func fileSum(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

func (p *builtPackages) testRPM(t *testing.T) {
	head := output(t, "rpm", "-qp", "--qf", "%{NAME} %{VERSION} %{RELEASE} %{ARCH}\n", p.rpm)
	if want := "datafiledownloaddirectory " + p.version + " 1 x86_64\n"; head != want {
		t.Errorf("rpm header = %q, want %q", head, want)
	}
	list := strings.Fields(output(t, "rpm", "-qlp", p.rpm))
	var want []string
	for path := range wantFiles {
		want = append(want, path)
	}
	sort.Strings(want)
	sort.Strings(list)
	if !slices.Equal(list, want) {
		t.Errorf("rpm -qlp = %q, want %q", list, want)
	}
	// Flags (c = config, n = noreplace), modes and owners per file.
	lines := output(t, "rpm", "-qp", "--qf", "[%{FILENAMES}|%{FILEFLAGS:fflags}|%{FILEMODES:perms}|%{FILEUSERNAME}/%{FILEGROUPNAME}\n]", p.rpm)
	for _, line := range strings.Split(strings.TrimSpace(lines), "\n") {
		f := strings.Split(line, "|")
		if len(f) != 4 {
			t.Fatalf("unexpected line %q", line)
		}
		w := wantFiles[f[0]]
		if f[2] != w.mode || f[3] != w.owner {
			t.Errorf("%s is %s %s in the .rpm, want %s %s", f[0], f[2], f[3], w.mode, w.owner)
		}
		wantFlags := ""
		if slices.Contains(conffiles, f[0]) {
			wantFlags = "cn"
		}
		if f[1] != wantFlags {
			t.Errorf("%s has rpm flags %q, want %q", f[0], f[1], wantFlags)
		}
	}
	scripts := output(t, "rpm", "-qp", "--scripts", p.rpm)
	for _, want := range []string{"preinstall scriptlet", "useradd --system", "postinstall scriptlet", "preuninstall scriptlet", "postuninstall scriptlet", "[ -d /run/systemd/system ]"} {
		if !strings.Contains(scripts, want) {
			t.Errorf("rpm scripts lack %q", want)
		}
	}
}

// msiTable returns the rows of a table as msiinfo exports it (tab-separated,
// after three header lines), keyed by their first column.
func msiTable(t *testing.T, msi, table string) map[string][]string {
	t.Helper()
	cmd := exec.Command("msiinfo", "export", msi, table)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil || stderr.Len() > 0 {
		t.Fatalf("msiinfo export %s: %v %s", table, err, stderr.Bytes())
	}
	lines := strings.Split(strings.TrimRight(strings.ReplaceAll(string(out), "\r\n", "\n"), "\n"), "\n")
	if len(lines) < 3 {
		t.Fatalf("msiinfo export %s: no header:\n%s", table, out)
	}
	rows := map[string][]string{}
	for _, l := range lines[3:] {
		f := strings.Split(l, "\t")
		rows[f[0]] = f
	}
	return rows
}

func wantRow(t *testing.T, table string, rows map[string][]string, want ...string) {
	t.Helper()
	got, ok := rows[want[0]]
	if !ok {
		t.Errorf("%s has no row %s", table, want[0])
		return
	}
	if !slices.Equal(got, want) {
		t.Errorf("%s row %s:\n got %q\nwant %q", table, want[0], got, want)
	}
}

func (p *builtPackages) testMSI(t *testing.T) {
	ex := t.TempDir()
	cmd := exec.Command("msiextract", "-C", ex, p.msi)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("msiextract: %v\n%s", err, out)
	}
	exe := filepath.Join(ex, "DataFileDownloadDirectory", "DataFileDownloadDirectory.exe")
	exeInfo, err := os.Stat(exe)
	if err != nil {
		t.Fatal(err)
	}
	cfgInfo, err := os.Stat(filepath.Join(p.packagingFolder, "example.config"))
	if err != nil {
		t.Fatal(err)
	}
	sameFile(t, filepath.Join(ex, "DataFileDownloadDirectory", "example.config"), filepath.Join(p.packagingFolder, "example.config"))

	files := msiTable(t, p.msi, "File")
	wantRow(t, "File", files, "ProgramExe", "Program", "DataFileDownloadDirectory.exe", strconv.FormatInt(exeInfo.Size(), 10), "", "", "512", "1")
	wantRow(t, "File", files, "ExampleConfigFile", "ExampleConfig", "example.config", strconv.FormatInt(cfgInfo.Size(), 10), "", "", "512", "2")
	if len(files) != 2 {
		t.Errorf("File table has %d rows, want 2: %q", len(files), files)
	}

	components := msiTable(t, p.msi, "Component")
	wantRow(t, "Component", components, "Program", "{5E7A9C1D-2B3F-4D6E-8A0B-C1D2E3F4A5B6}", "INSTALLDIR", "256", "", "ProgramExe")
	// No ComponentId: never removed, so configs in ProgramData survive.
	wantRow(t, "Component", components, "ExampleConfig", "", "DATADIR", "256", "", "ExampleConfigFile")
	dirs := msiTable(t, p.msi, "Directory")
	wantRow(t, "Directory", dirs, "INSTALLDIR", "ProgramFiles64Folder", "DataFileDownloadDirectory")
	wantRow(t, "Directory", dirs, "DATADIR", "CommonAppDataFolder", "DataFileDownloadDirectory")

	wantRow(t, "ServiceInstall", msiTable(t, p.msi, "ServiceInstall"),
		"Service", "[SERVICE_NAME]", "DataFileDownloadDirectory [SERVICE_NAME]", "16", "2", "1", "", "", "LocalSystem", "",
		`run "[OUTPUT_DIR]" --config "[CONFIG]" --topic_name "[TOPIC]" --service_name "[SERVICE_NAME]" [OPTIONS]`,
		"Program", "Rebuilds in [OUTPUT_DIR] the files uploaded to the Kafka topic [TOPIC] by OpenMSIStream.")
	// 163 = start at install (1), stop at install (2) and uninstall (32),
	// delete at uninstall (128); Wait 1 = wait for each.
	wantRow(t, "ServiceControl", msiTable(t, p.msi, "ServiceControl"), "ServiceControl", "[SERVICE_NAME]", "163", "", "1", "Program")

	props := msiTable(t, p.msi, "Property")
	wantRow(t, "Property", props, "ProductVersion", p.version)
	wantRow(t, "Property", props, "ProductCode", "{"+productCode(p.version)+"}")
	wantRow(t, "Property", props, "UpgradeCode", "{"+strings.ToUpper(upgradeCode.String())+"}")
	wantRow(t, "Property", props, "ALLUSERS", "1")
	wantRow(t, "Property", props, "SecureCustomProperties", "WIX_DOWNGRADE_DETECTED;WIX_UPGRADE_DETECTED;OUTPUT_DIR;CONFIG;TOPIC;SERVICE_NAME;OPTIONS")
	for _, name := range []string{"OUTPUT_DIR", "CONFIG", "TOPIC", "SERVICE_NAME", "OPTIONS"} {
		if v, ok := props[name]; ok {
			t.Errorf("property %s has a default %q; it must come from the command line or the registry only", name, v)
		}
	}

	wantRow(t, "Environment", msiTable(t, p.msi, "Environment"), "SystemPath", "=-*PATH", "[~];[INSTALLDIR]", "Program")

	// The remembered arguments: written by the program's component, read
	// back by AppSearch.
	regs := msiTable(t, p.msi, "Registry")
	locators := msiTable(t, p.msi, "RegLocator")
	search := msiTable(t, p.msi, "AppSearch")
	for prop, name := range map[string]string{"OUTPUT_DIR": "OutputDir", "CONFIG": "Config", "TOPIC": "Topic", "SERVICE_NAME": "ServiceName", "OPTIONS": "Options"} {
		found := false
		for _, r := range regs {
			if slices.Equal(r[1:], []string{"2", `SOFTWARE\DataFileDownloadDirectory\Service`, name, "[" + prop + "]", "Program"}) {
				found = true
			}
		}
		if !found {
			t.Errorf("no Registry row writes [%s] to %s", prop, name)
		}
		sig := search[prop]
		if len(sig) != 2 {
			t.Errorf("AppSearch has no row for %s", prop)
			continue
		}
		// 18 = raw value (2) from the 64-bit view (16).
		wantRow(t, "RegLocator", locators, sig[1], `2`, `SOFTWARE\DataFileDownloadDirectory\Service`, name, "18")
	}

	seq := msiTable(t, p.msi, "InstallExecuteSequence")
	for _, a := range []string{"StopServices", "DeleteServices", "InstallServices", "StartServices"} {
		if r := seq[a]; len(r) != 3 || r[1] != "VersionNT AND SERVICE_NAME" {
			t.Errorf("%s must run only with a service name: %q", a, r)
		}
	}
	for _, a := range []string{"WriteEnvironmentStrings", "RemoveEnvironmentStrings", "RemoveExistingProducts", "AppSearch", "LaunchConditions"} {
		if _, ok := seq[a]; !ok {
			t.Errorf("InstallExecuteSequence lacks %s", a)
		}
	}
	// Saved before AppSearch, restored after it, all before the launch
	// conditions check them.
	seqOf := func(a string) int {
		r := seq[a]
		if len(r) != 3 {
			t.Errorf("InstallExecuteSequence lacks %s", a)
			return -1
		}
		n, _ := strconv.Atoi(r[2])
		return n
	}
	for _, prop := range []string{"OutputDir", "Config", "Topic", "ServiceName", "Options"} {
		save, restore := seqOf("SaveCmd"+prop), seqOf("RestoreCmd"+prop)
		if !(seqOf("FindRelatedProducts") < save && save < seqOf("AppSearch") && seqOf("AppSearch") < restore && restore < seqOf("LaunchConditions")) {
			t.Errorf("SaveCmd%s (%d) and RestoreCmd%s (%d) are not around AppSearch", prop, save, prop, restore)
		}
	}
	// Type 51: set a property, immediately.
	actions := msiTable(t, p.msi, "CustomAction")
	for prop, name := range map[string]string{"OUTPUT_DIR": "OutputDir", "CONFIG": "Config", "TOPIC": "Topic", "SERVICE_NAME": "ServiceName", "OPTIONS": "Options"} {
		wantRow(t, "CustomAction", actions, "SaveCmd"+name, "51", "CMDLINE_"+prop, "["+prop+"]", "")
		wantRow(t, "CustomAction", actions, "RestoreCmd"+name, "51", prop, "[CMDLINE_"+prop+"]", "")
		if r := seq["SaveCmd"+name]; len(r) != 3 || r[1] != prop {
			t.Errorf("SaveCmd%s must run only when %s is given: %q", name, prop, r)
		}
		if r := seq["RestoreCmd"+name]; len(r) != 3 || r[1] != "CMDLINE_"+prop {
			t.Errorf("RestoreCmd%s must run only when %s was given: %q", name, prop, r)
		}
	}
	if len(actions) != 10 {
		t.Errorf("CustomAction has %d rows, want the 10 property actions: %q", len(actions), actions)
	}

	conds := msiTable(t, p.msi, "LaunchCondition")
	for _, c := range []string{
		"VersionNT64",
		"NOT WIX_DOWNGRADE_DETECTED",
		`Installed OR REMOVE~="ALL" OR (OUTPUT_DIR AND CONFIG AND TOPIC AND SERVICE_NAME) OR NOT (OUTPUT_DIR OR CONFIG OR TOPIC OR SERVICE_NAME)`,
	} {
		if _, ok := conds[c]; !ok {
			t.Errorf("no launch condition %q", c)
		}
	}

	// The program in the installer: the one make built, signed; stamped
	// with the version; needing no DLL but Windows' own.
	if got, err := StampedString(exe, appPkg+".Version"); err != nil || got != p.version {
		t.Errorf("the .exe in the .msi is version %q (%v), want %s", got, err, p.version)
	}
	if got, err := StampedString(exe, appPkg+".Commit"); err != nil || got == "" || got == "unknown" {
		t.Errorf("the .exe in the .msi has commit %q (%v)", got, err)
	}
	f, err := pe.Open(exe)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// debug/pe's ImportedLibraries is a stub; the DLLs are in the symbols.
	syms, err := f.ImportedSymbols()
	if err != nil {
		t.Fatal(err)
	}
	var libs []string
	for _, s := range syms {
		if _, dll, ok := strings.Cut(s, ":"); ok && !slices.Contains(libs, strings.ToLower(dll)) {
			libs = append(libs, strings.ToLower(dll))
		}
	}
	for _, l := range libs {
		if strings.HasPrefix(l, "lib") {
			t.Errorf("the .exe needs %s, a MinGW DLL that Windows does not have (imports: %q)", l, libs)
		}
	}
	if !slices.Contains(libs, "kernel32.dll") {
		t.Errorf("the .exe's imports %q lack kernel32.dll: not a Windows program?", libs)
	}
}

func (p *builtPackages) testSignatures(t *testing.T) {
	ex := t.TempDir()
	if out, err := exec.Command("msiextract", "-C", ex, p.msi).CombinedOutput(); err != nil {
		t.Fatalf("msiextract: %v\n%s", err, out)
	}
	exe := filepath.Join(ex, "DataFileDownloadDirectory", "DataFileDownloadDirectory.exe")
	for _, f := range []string{p.msi, exe} {
		out, err := exec.Command("osslsigncode", "verify", "-CAfile", p.cert, "-in", f).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "Signature verification: ok") {
			t.Errorf("osslsigncode verify %s: %v\n%s", filepath.Base(f), err, out)
		}
	}
	// The check can fail: a changed byte in the signed program must be
	// caught.
	b, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0xff
	tampered := filepath.Join(ex, "tampered.exe")
	if err := os.WriteFile(tampered, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("osslsigncode", "verify", "-CAfile", p.cert, "-in", tampered).CombinedOutput(); err == nil {
		t.Errorf("osslsigncode accepted a changed program:\n%s", out)
	}
}

// stageRoot is a root folder for systemd-analyze and systemctl --root: the
// package's files plus the distribution's own units (without them
// systemd-analyze fails on "Unit sysinit.target not found").
func (p *builtPackages) stageRoot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	output(t, "dpkg-deb", "-x", p.deb, root)
	hostUnits, err := filepath.EvalSymlinks("/lib/systemd/system")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "lib/systemd"), 0o755); err != nil {
		t.Fatal(err)
	}
	output(t, "cp", "-a", hostUnits, filepath.Join(root, "lib/systemd/system"))
	return root
}

// verifyUnit runs systemd-analyze verify, which reports most mistakes only
// as warnings on stderr with exit status 0, so any output fails.
func verifyUnit(t *testing.T, args ...string) {
	t.Helper()
	out, err := exec.Command("systemd-analyze", append([]string{"verify"}, args...)...).CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze verify %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func (p *builtPackages) testUnit(t *testing.T) {
	unit, err := os.ReadFile(filepath.Join(p.packagingFolder, "linux", "datafiledownloaddirectory@.service"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"\nExecStart=/usr/bin/DataFileDownloadDirectory run ${OUTPUT_DIR} --config /etc/datafiledownloaddirectory/%i.config --topic_name ${TOPIC} --service_name %i $OPTIONS\n",
		"\nEnvironmentFile=/etc/datafiledownloaddirectory/%i.env\n",
		"\nUser=datafiledownloaddirectory\n",
		"\nRestart=always\n",
		"\nRestartPreventExitStatus=2\n",
		"\nTimeoutStopSec=45s\n",
		"\nStandardInput=null\n",
		"\nWants=network-online.target\n",
		"\nAfter=network-online.target\n",
	} {
		if !bytes.Contains(unit, []byte(want)) {
			t.Errorf("the unit lacks %q", strings.TrimSpace(want))
		}
	}
	// StartLimit* belong in [Unit]; in [Service] systemd ignores them.
	unitSection := string(unit[:bytes.Index(unit, []byte("[Service]"))])
	if !strings.Contains(unitSection, "StartLimitIntervalSec=") || !strings.Contains(unitSection, "StartLimitBurst=") {
		t.Error("StartLimitIntervalSec and StartLimitBurst are not in [Unit]")
	}

	root := p.stageRoot(t)
	// The man page is checked after the real install (systemd-analyze looks
	// for it outside --root).
	verifyUnit(t, "--man=no", "--root="+root, "datafiledownloaddirectory@lab.service")
	// [Install] works: enabling an instance links it into multi-user.target.
	output(t, "systemctl", "--root="+root, "enable", "datafiledownloaddirectory@lab.service")
	link := filepath.Join(root, "etc/systemd/system/multi-user.target.wants/datafiledownloaddirectory@lab.service")
	if target, err := os.Readlink(link); err != nil || target != "/usr/lib/systemd/system/datafiledownloaddirectory@.service" {
		t.Errorf("systemctl enable made %s -> %q (%v)", link, target, err)
	}

	// The check can fail: a wrong value is reported.
	bad := filepath.Join(root, "usr/lib/systemd/system/datafiledownloaddirectory@.service")
	if err := os.WriteFile(bad, bytes.Replace(unit, []byte("RestartSec=10s"), []byte("RestartSec=ten"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, _ := exec.Command("systemd-analyze", "verify", "--man=no", "--root="+root, "datafiledownloaddirectory@lab.service").CombinedOutput(); !strings.Contains(string(out), "ten") {
		t.Errorf("systemd-analyze verify did not report a bad RestartSec: %s", out)
	}
}

var versionLine = regexp.MustCompile(`^DataFileDownloadDirectory (\S+) \(commit (\S+)\)\n`)

// The system paths the .deb owns or makes.
const (
	etcDir = "/etc/datafiledownloaddirectory"
	libDir = "/var/lib/datafiledownloaddirectory"
	logDir = "/var/log/datafiledownloaddirectory"
	user   = "datafiledownloaddirectory"
)

func (p *builtPackages) testInstallAndPurge(t *testing.T) {
	if os.Geteuid() != 0 {
		testkit.Need(t, "installing the .deb needs root")
	}
	if _, err := exec.LookPath("dpkg"); err != nil {
		testkit.Need(t, "not a Debian system: no dpkg")
	}
	claimSystem(t)

	dpkg(t, "-i", p.deb)

	// The program is on the PATH and is this version.
	sh := exec.Command("sh", "-c", "command -v DataFileDownloadDirectory && DataFileDownloadDirectory --version")
	sh.Env = append(os.Environ(), "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
	out, err := sh.CombinedOutput()
	if err != nil {
		t.Fatalf("DataFileDownloadDirectory --version from the PATH: %v\n%s", err, out)
	}
	where, version, _ := strings.Cut(string(out), "\n")
	if where != "/usr/bin/DataFileDownloadDirectory" {
		t.Errorf("the PATH finds %s, want /usr/bin/DataFileDownloadDirectory", where)
	}
	if m := versionLine.FindStringSubmatch(version); m == nil || m[1] != p.version || m[2] == "unknown" || !strings.Contains(version, "\nlibrdkafka ") {
		t.Errorf("--version printed %q, want version %s, a commit and the librdkafka version", version, p.version)
	}

	// The system user, and the files it may read.
	pw := strings.Split(strings.TrimSpace(output(t, "getent", "passwd", user)), ":")
	if len(pw) != 7 || pw[5] != libDir || !strings.HasSuffix(pw[6], "nologin") {
		t.Errorf("user %s is %q, want home %s and a nologin shell", user, pw, libDir)
	}
	if uid, _ := strconv.Atoi(pw[2]); uid >= 1000 || uid == 0 {
		t.Errorf("user %s has uid %s, want a system uid", user, pw[2])
	}
	for path, want := range wantFiles {
		got := strings.TrimSpace(output(t, "stat", "-c", "%A %U/%G", path))
		if got != want.mode+" "+want.owner {
			t.Errorf("installed %s is %s, want %s %s", path, got, want.mode, want.owner)
		}
	}

	// `man DataFileDownloadDirectory` shows the page made from --help.
	manCmd := exec.Command("man", "DataFileDownloadDirectory")
	manCmd.Env = append(os.Environ(), "MANPAGER=cat", "MANWIDTH=100")
	page, err := manCmd.Output()
	if err != nil || !bytes.Contains(page, []byte("--topic_name TOPIC")) || !bytes.Contains(page, []byte("datafiledownloaddirectory@NAME")) {
		t.Errorf("man DataFileDownloadDirectory: %v\n%s", err, page)
	}
	// The installed unit, now with its Documentation= man page found.
	verifyUnit(t, "datafiledownloaddirectory@lab.service")

	// What an administrator and a running service leave: an edited example,
	// a service's config and secrets, downloaded files and a log.
	appendFile(t, filepath.Join(etcDir, "example.config"), "# edited by the administrator\n", 0)
	appendFile(t, filepath.Join(etcDir, "lab.config"), "[broker]\nbootstrap.servers = $KAFKA_BOOTSTRAP_SERVERS\n", 0o644)
	appendFile(t, filepath.Join(etcDir, "lab.env"), "OUTPUT_DIR="+libDir+"/lab\nTOPIC=lab\nKAFKA_BOOTSTRAP_SERVERS=localhost:9092\n", 0o600)
	if err := os.MkdirAll(filepath.Join(libDir, "lab", "sub"), 0o750); err != nil {
		t.Fatal(err)
	}
	appendFile(t, filepath.Join(libDir, "lab", "sub", "scan.dat"), "downloaded data\n", 0o644)
	appendFile(t, filepath.Join(logDir, "lab.log"), "a log line\n", 0o640)
	outside := t.TempDir()
	appendFile(t, filepath.Join(outside, "file.dat"), "data elsewhere\n", 0o644)

	// Installing again (dpkg's upgrade path) keeps the edited conffile, and
	// the scripts run twice without complaint.
	dpkg(t, "-i", p.deb)
	if b, err := os.ReadFile(filepath.Join(etcDir, "example.config")); err != nil || !bytes.Contains(b, []byte("# edited by the administrator")) {
		t.Errorf("reinstalling replaced the edited example.config (%v)", err)
	}

	dpkg(t, "--purge", "datafiledownloaddirectory")
	if status := dpkgStatus(t); status != "" {
		t.Errorf("after purge dpkg still knows the package: %q", status)
	}
	// No file of the package is left...
	for path, e := range debContents(t, p.deb) {
		if strings.HasPrefix(e.mode, "d") {
			continue
		}
		if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s is still there after purge (%v)", path, err)
		}
	}
	if _, err := os.Lstat(logDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s is still there after purge (%v)", logDir, err)
	}
	// ...and nothing else is gone.
	wantTree(t, etcDir, "lab.config", "lab.env")
	wantTree(t, libDir, "lab", "lab/sub", "lab/sub/scan.dat")
	wantTree(t, outside, "file.dat")
	if b, err := os.ReadFile(filepath.Join(libDir, "lab", "sub", "scan.dat")); err != nil || string(b) != "downloaded data\n" {
		t.Errorf("downloaded file changed by purge: %q, %v", b, err)
	}
}

// wantTree checks the names under dir (relative, sorted).
func wantTree(t *testing.T, dir string, want ...string) {
	t.Helper()
	var got []string
	err := filepath.WalkDir(dir, func(path string, _ os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if path != dir {
			rel, _ := filepath.Rel(dir, path)
			got = append(got, rel)
		}
		return nil
	})
	if err != nil {
		t.Errorf("after purge: %v", err)
		return
	}
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Errorf("after purge %s holds %q, want %q", dir, got, want)
	}
}

func appendFile(t *testing.T, path, text string, mode os.FileMode) {
	t.Helper()
	if mode == 0 {
		mode = 0o644
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, mode)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}
