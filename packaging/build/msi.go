package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/google/uuid"
)

// upgradeCode is the MSI UpgradeCode in DataFileDownloadDirectory.wxs; it
// never changes, so that every version upgrades every earlier one.
var upgradeCode = uuid.MustParse("3B0E5C4A-7D21-4F6A-9C8B-1E2D3F4A5B6C")

// productCode is the MSI ProductCode of a version. It is derived from the
// version instead of being new at every build (Id="*"): two builds of the
// same version are then the same product, which msiexec refuses to install
// twice, where two product codes would install side by side with the same
// service (wixl 0.101 has no AllowSameVersionUpgrades).
func productCode(version string) string {
	return strings.ToUpper(uuid.NewSHA1(upgradeCode, []byte(Name+" "+version)).String())
}

// The MSI's PATH entry. wixl 0.101 has no Environment element, and a
// RegistryValue on the Environment key would replace the whole system PATH
// and delete it at uninstall. So the standard Environment table is added
// with msibuild after wixl: "=-*PATH" with "[~];[INSTALLDIR]" appends the
// folder to the system PATH ("*") and removes just that part at uninstall
// ("-"). The actions that read it (WriteEnvironmentStrings,
// RemoveEnvironmentStrings) are in the .wxs.
var msiPostQueries = []string{
	"CREATE TABLE `Environment` (`Environment` CHAR(72) NOT NULL, `Name` CHAR(255) NOT NULL LOCALIZABLE, `Value` CHAR(255) LOCALIZABLE, `Component_` CHAR(72) NOT NULL PRIMARY KEY `Environment`)",
	"INSERT INTO `Environment` (`Environment`, `Name`, `Value`, `Component_`) VALUES ('SystemPath', '=-*PATH', '[~];[INSTALLDIR]', 'Program')",
	// wixl lists only its upgrade properties as secure; the service's
	// properties must be too, or Windows Installer drops them on their way
	// to the elevated part of an install started by a non-administrator
	// (e.g. with AlwaysInstallElevated).
	"UPDATE `Property` SET `Value` = 'WIX_DOWNGRADE_DETECTED;WIX_UPGRADE_DETECTED;OUTPUT_DIR;CONFIG;TOPIC;SERVICE_NAME;OPTIONS' WHERE `Property` = 'SecureCustomProperties'",
}

// buildMSI signs the .exe (when a signer is given), builds the .msi with
// wixl, adds what wixl cannot (msiPostQueries) and signs the .msi.
func buildMSI(o options, s *signer, tmp, target string) error {
	stage := filepath.Join(tmp, "msi")
	if err := os.MkdirAll(stage, 0o755); err != nil {
		return err
	}
	// wixl resolves File sources relative to the .wxs only, so everything
	// goes into one folder.
	exe := filepath.Join(stage, Name+".exe")
	if s != nil {
		if err := s.sign(o.windowsExe, exe); err != nil {
			return err
		}
	} else if err := copyFile(o.windowsExe, exe); err != nil {
		return err
	}
	wxs := filepath.Join(stage, Name+".wxs")
	if err := copyFile(filepath.Join(o.pkgDir, "windows", Name+".wxs"), wxs); err != nil {
		return err
	}
	if err := copyFile(filepath.Join(o.pkgDir, "example.config"), filepath.Join(stage, "example.config")); err != nil {
		return err
	}
	unsigned := filepath.Join(stage, "unsigned.msi")
	err := quiet(stage, "wixl", "-a", "x64",
		"-D", "Version="+o.version,
		"-D", "ProductCode="+productCode(o.version),
		"-D", "ExeSource="+Name+".exe",
		"-D", "ExampleConfigSource=example.config",
		"-o", unsigned, wxs)
	if err != nil {
		return err
	}
	args := []string{unsigned}
	for _, q := range msiPostQueries {
		args = append(args, "-q", q)
	}
	if err := quiet(stage, "msibuild", args...); err != nil {
		return err
	}
	tmpTarget := target + ".tmp"
	if s != nil {
		err = s.sign(unsigned, tmpTarget)
	} else {
		err = copyFile(unsigned, tmpTarget)
	}
	if err != nil {
		os.Remove(tmpTarget)
		return err
	}
	return replaceFile(tmpTarget, target)
}

// quiet runs a tool that must succeed without a word on stderr: wixl
// reports unknown attributes and broken custom actions only as GLib
// warnings there and still exits 0 with a damaged .msi.
func quiet(dir, name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		return fmt.Errorf("%s failed: %w\n%s%s", name, err, stdout.Bytes(), stderr.Bytes())
	}
	if stderr.Len() > 0 {
		return fmt.Errorf("%s printed warnings, which mean a damaged package:\n%s", name, stderr.Bytes())
	}
	return nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
