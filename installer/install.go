package installer

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/openmsi/datafiledownloaddirectory/config"
	"github.com/openmsi/datafiledownloaddirectory/internal/about"
	"github.com/openmsi/datafiledownloaddirectory/logsetup"
	"github.com/openmsi/datafiledownloaddirectory/options"
	"github.com/openmsi/datafiledownloaddirectory/service"
)

// installVerb registers a service that runs the download the rest of the
// command line describes, after the same checks console mode makes.
func installVerb(args []string, stdout, stderr io.Writer, e Env) int {
	opts, code, done := options.ParseReport(args, options.InstallMode, stdout, stderr)
	if done {
		return code
	}
	def, err := definition(opts, e)
	if err != nil {
		fmt.Fprintf(stderr, "%s: error: %v\n", about.Name, err)
		return options.ExitUsage
	}
	b := e.Backend()
	if opts.DryRun {
		text, err := b.Render(*def)
		if err != nil {
			fmt.Fprintf(stderr, "%s: error: %v\n", about.Name, err)
			return options.ExitFailure
		}
		fmt.Fprintf(stdout, "Would install service %s (nothing was changed):\n\n%s", def.Name, text)
		tellAccount(stdout, def)
		tellCaptured(stdout, def, "would be captured")
		return options.ExitOK
	}
	if err := install(b, *def, stdout); err != nil {
		fmt.Fprintf(stderr, "%s: error: %v\n", about.Name, err)
		return options.ExitFailure
	}
	fmt.Fprintf(stdout, "Installed service %s: it starts at boot and restarts after a failure.\n", def.Name)
	tellAccount(stdout, def)
	tellCaptured(stdout, def, "were captured")
	fmt.Fprintf(stdout, "Start it now with: %s start --service_name %s\n", about.Name, def.Name)
	return options.ExitOK
}

func tellCaptured(w io.Writer, d *Definition, verb string) {
	names := d.EnvNames()
	if len(names) == 0 {
		return
	}
	fmt.Fprintf(w, "The Environment variables the config file refers to %s into %s: %s\n", verb, secretsPlace(d.Name), strings.Join(names, ", "))
}

// definition checks an install command line as console mode would check it
// at start (output folder, config file, consumer settings) and turns it
// into a service definition.
func definition(opts *options.Options, e Env) (*Definition, error) {
	out, err := filepath.Abs(opts.OutputDir)
	if err == nil {
		err = os.MkdirAll(out, 0o755)
	}
	if err != nil {
		return nil, fmt.Errorf("cannot create the output folder %s: %w", opts.OutputDir, err)
	}
	cfgPath, err := config.ResolvePath(opts.Config)
	if err != nil {
		return nil, err
	}
	if cfgPath, err = filepath.Abs(cfgPath); err != nil {
		return nil, err
	}
	file, err := config.Load(cfgPath, e.LookupEnv)
	if err != nil {
		return nil, err
	}
	settings, err := file.Consumer()
	if err != nil {
		return nil, err
	}
	if err := config.ValidateConsumer(settings.Kafka); err != nil {
		return nil, fmt.Errorf("config file %s: %w", file.Path(), err)
	}
	logFile, logDir := "", ""
	if opts.LogFile != "" {
		if logFile, err = logsetup.FilePath(opts.LogFile, out); err != nil {
			return nil, err
		}
		logDir = filepath.Dir(logFile)
	}
	exe, err := e.Executable()
	if err != nil {
		return nil, fmt.Errorf("cannot tell where this program is: %w", err)
	}
	env := map[string]string{}
	for _, name := range file.EnvVars() {
		// Load succeeded, so every referenced variable is set.
		env[name], _ = e.LookupEnv(name)
	}
	args := opts.ServiceArgs(out, cfgPath, logFile)
	// The install's own arguments are the service's without the run verb.
	installArgs := slices.Clone(args[1:])
	if opts.ServiceUser != "" {
		installArgs = append(installArgs, "--service_user", opts.ServiceUser)
	}
	return &Definition{
		Name:        opts.ServiceName,
		Description: service.Description(opts.Topic, out),
		Executable:  exe,
		Args:        args,
		User:        opts.ServiceUser,
		Env:         env,
		OutputDir:   out,
		ConfigFile:  cfgPath,
		LogDir:      logDir,
		InstallArgs: installArgs,
	}, nil
}
