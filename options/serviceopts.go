package options

import (
	"fmt"
	"regexp"
	"slices"

	"github.com/openmsi/datafiledownloaddirectory/internal/about"
)

// DefaultServiceName is the service name when --service_name is not given,
// as in OpenMSIStream's InstallService.
const DefaultServiceName = about.Name

var validServiceName = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,79}$`)

// CheckServiceName rejects service names that systemd or the Windows
// service manager would refuse or misread (systemd gives '@' and '\' a
// meaning).
func CheckServiceName(name string) error {
	if !validServiceName.MatchString(name) {
		return fmt.Errorf("service name %q is not valid: use up to 80 letters, digits, '_', '.' and '-', starting with a letter, digit or '_'", name)
	}
	return nil
}

// ServiceArgs is the command line a service runs: the run verb with the
// options that were given, paths made absolute. Options only the install
// verb knows are left out.
func (o *Options) ServiceArgs(outputDir, configPath, logFile string) []string {
	args := []string{"run", outputDir}
	for _, g := range o.given {
		switch g.name {
		case "service_user", "dry_run", "help", "version", "service_name", "update_seconds":
			continue
		case "config":
			g.value = configPath
		case "logger_file_path":
			g.value = logFile
		}
		args = append(args, "--"+g.name, g.value)
	}
	return append(args, "--service_name", o.ServiceName)
}

// WasGiven tells whether the option name (canonical form, underscores) was
// on the command line.
func (o *Options) WasGiven(name string) bool {
	return slices.ContainsFunc(o.given, func(g givenOption) bool { return g.name == name })
}

// VerbHelp is the part of --help about the service verbs.
const VerbHelp = `Service verbs (the service name defaults to ` + DefaultServiceName + `):
  install OUTPUT_DIR [options] [--service_name NAME] [--service_user USER] [--dry_run]
                 register a service that runs the download the options
                 describe (the console mode's options); it starts at boot
                 and restarts after a failure. --dry_run prints the service
                 definition without installing anything.
  start, stop, restart, status --service_name NAME
  uninstall (or remove), stop_and_remove --service_name NAME [--remove_install_args]
                 the arguments of the install are kept for reinstall unless
                 --remove_install_args is given; downloaded files and the
                 output folder are never touched
  reinstall, stop_and_reinstall, stop_and_restart --service_name NAME
                 install again with the arguments of the last install
                 (and, for stop_and_restart, start it)
  run OUTPUT_DIR [options] --service_name NAME
                 what the service manager runs: no console, stopped by
                 SIGTERM or the Windows service manager`
