package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/spf13/pflag"

	"github.com/openmsi/datafiledownloaddirectory/config"
	"github.com/openmsi/datafiledownloaddirectory/console"
	"github.com/openmsi/datafiledownloaddirectory/download"
	"github.com/openmsi/datafiledownloaddirectory/installer"
	"github.com/openmsi/datafiledownloaddirectory/service"
)

// DefaultServiceName is the service name when --service_name is not given,
// as in OpenMSIStream's InstallService.
const DefaultServiceName = Name

// Exit statuses of the status verb, as LSB init scripts use them, so that
// scripts can tell the cases apart.
const (
	ExitStatusStopped      = 3
	ExitStatusNotInstalled = 4
)

// verb is a sub-command given as the first argument.
type verb func(ctx context.Context, args []string, stdout, stderr io.Writer, e env) int

// verbFor returns the sub-command named by a first argument, or nil for the
// console mode. An output folder named like a verb must be given as
// ./install.
func verbFor(name string) verb {
	switch name {
	case "run":
		return runVerb
	case "install":
		return installVerb
	case "reinstall":
		return controlVerb(name, reinstall)
	case "start", "stop", "restart", "uninstall", "remove",
		"stop_and_remove", "stop_and_reinstall", "stop_and_restart":
		return controlVerb(name, controls[name])
	case "status":
		return statusVerb
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

// serviceLogPath is the default log file of a service: where the
// platform keeps services' logs.
func serviceLogPath(name string) string {
	if runtime.GOOS == "windows" {
		pd := os.Getenv("ProgramData")
		if pd == "" {
			pd = `C:\ProgramData`
		}
		return filepath.Join(pd, Name, "logs", name+".log")
	}
	return filepath.Join("/var/log/datafiledownloaddirectory", name+".log")
}

// runVerb is what a service manager runs: the download without a console,
// stopped by the service manager (SCM stop, SIGTERM) like quit stops it.
// Log lines go to the log file and, except on Windows where a service has
// no standard output, to stdout for the journal; on Windows warnings and
// errors also go to the Event Log.
func runVerb(_ context.Context, args []string, stdout, stderr io.Writer, e env) int {
	opts, code, done := parseVerbArgs(args, runMode, stdout, stderr)
	if done {
		return code
	}
	if opts.LogFile == "" {
		opts.LogFile = serviceLogPath(opts.ServiceName)
	}
	if !opts.wasGiven("logger_file_level") {
		// The log file is a service's main record.
		opts.FileLevel = logrus.InfoLevel
	}
	stream := stdout
	var warnings logrus.Hook
	if runtime.GOOS == "windows" && !e.interactive() {
		// A Windows service has no standard output: errors go to the
		// Event Log instead, warnings too through a hook.
		w, h, err := service.EventLog(opts.ServiceName)
		if err != nil {
			w = io.Discard
		}
		stream, warnings = w, h
		opts.StreamLevel = logrus.ErrorLevel
	}
	s, code := prepare(opts, stream, e)
	if s == nil {
		return code
	}
	defer s.close()
	if warnings != nil {
		s.log.Logger.AddHook(warnings)
	}
	if !e.interactive() {
		if err := service.ConfigureSelf(opts.ServiceName); err != nil {
			s.log.Warnf("Could not set the service's restart on failure and delayed start: %v", err)
		}
	}
	// A service's working folder is System32 on Windows and / under a
	// bare supervisor; every path is absolute by now, so move somewhere
	// harmless that exists.
	if err := os.Chdir(s.outputDir); err != nil {
		s.log.Warnf("Cannot change to the output folder: %v", err)
	}
	s.statusPath = filepath.Join(s.outputDir, download.StateDirName, service.StatusFileName)
	if err := os.MkdirAll(filepath.Dir(s.statusPath), 0o755); err != nil {
		s.log.Warnf("Cannot create the state folder: %v", err)
	}
	s.log.Infof("Running as service %s (process %d)", opts.ServiceName, os.Getpid())

	prog := service.NewProgram(func(ctx context.Context) error {
		runErr, finish := s.launch(ctx)
		err := <-runErr
		finish()
		s.log.Info(strings.TrimRight(console.FormatSummary(s.dl.Status(), time.Now()), "\n"))
		return err
	}, e.shutdownTimeout, s.log)
	err := e.runService(service.Config{
		Name:        opts.ServiceName,
		DisplayName: Name + " " + opts.ServiceName,
		Description: serviceDescription(opts.Topic, s.outputDir),
	}, prog)
	switch {
	case errors.Is(err, service.ErrStopTimeout):
		return ExitFailure
	case err != nil:
		s.log.Errorf("Stopped because of an error: %v", err)
		return ExitFailure
	}
	return ExitOK
}

func serviceDescription(topic, outputDir string) string {
	return fmt.Sprintf("Rebuilds the files uploaded with OpenMSIStream to the Kafka topic %s in %s", topic, outputDir)
}

// parseVerbArgs parses a run or install command line; done means the
// caller returns code at once (help, usage error).
func parseVerbArgs(args []string, mode parseMode, stdout, stderr io.Writer) (*Options, int, bool) {
	opts, err := parseArgs(args, mode)
	switch {
	case err != nil:
		fmt.Fprintf(stderr, "%s%s: error: %v\nRun \"%s --help\" to see all options.\n", Usage, Name, err, Name)
		return nil, ExitUsage, true
	case opts.Help:
		_, _ = io.WriteString(stdout, HelpText())
		return nil, ExitOK, true
	case opts.Version:
		_, _ = io.WriteString(stdout, VersionText())
		return nil, ExitOK, true
	}
	return opts, 0, false
}

func (o *Options) wasGiven(name string) bool {
	return slices.ContainsFunc(o.given, func(g givenOption) bool { return g.name == name })
}

// installVerb registers a service that runs the download the rest of the
// command line describes, after the same checks console mode makes.
func installVerb(_ context.Context, args []string, stdout, stderr io.Writer, e env) int {
	opts, code, done := parseVerbArgs(args, installMode, stdout, stderr)
	if done {
		return code
	}
	def, err := definition(opts, e)
	if err != nil {
		fmt.Fprintf(stderr, "%s: error: %v\n", Name, err)
		return ExitUsage
	}
	b := e.backend()
	if opts.DryRun {
		text, err := b.Render(*def)
		if err != nil {
			fmt.Fprintf(stderr, "%s: error: %v\n", Name, err)
			return ExitFailure
		}
		fmt.Fprintf(stdout, "Would install service %s (nothing was changed):\n\n%s", def.Name, text)
		tellCaptured(stdout, def, "would be captured")
		return ExitOK
	}
	if err := b.Install(*def); err != nil {
		fmt.Fprintf(stderr, "%s: error: %v\n", Name, err)
		return ExitFailure
	}
	fmt.Fprintf(stdout, "Installed service %s: it starts at boot and restarts after a failure.\n", def.Name)
	tellCaptured(stdout, def, "were captured")
	fmt.Fprintf(stdout, "Start it now with: %s start --service_name %s\n", Name, def.Name)
	return ExitOK
}

func tellCaptured(w io.Writer, d *installer.Definition, verb string) {
	names := d.EnvNames()
	if len(names) == 0 {
		return
	}
	where := "the service's environment, readable by administrators only"
	if runtime.GOOS != "windows" {
		where = "a file only root can read (" + filepath.Join(installer.StateDir, d.Name+".env") + ")"
	}
	fmt.Fprintf(w, "The environment variables the config file refers to %s into %s: %s\n", verb, where, strings.Join(names, ", "))
}

// definition checks an install command line as console mode would check it
// at start (output folder, config file, consumer settings) and turns it
// into a service definition.
func definition(opts *Options, e env) (*installer.Definition, error) {
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
	file, err := config.Load(cfgPath, e.lookupEnv)
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
	logFile := ""
	if opts.LogFile != "" {
		if logFile, err = logFilePath(opts.LogFile, out); err != nil {
			return nil, err
		}
	}
	exe, err := e.executable()
	if err != nil {
		return nil, fmt.Errorf("cannot tell where this program is: %w", err)
	}
	env := map[string]string{}
	for _, name := range file.EnvVars() {
		// Load succeeded, so every referenced variable is set.
		env[name], _ = e.lookupEnv(name)
	}
	args := opts.ServiceArgs(out, cfgPath, logFile)
	// The install's own arguments are the service's without the run verb.
	installArgs := slices.Clone(args[1:])
	if opts.ServiceUser != "" {
		installArgs = append(installArgs, "--service_user", opts.ServiceUser)
	}
	return &installer.Definition{
		Name:        opts.ServiceName,
		Description: serviceDescription(opts.Topic, out),
		Executable:  exe,
		Args:        args,
		User:        opts.ServiceUser,
		Env:         env,
		OutputDir:   out,
		InstallArgs: installArgs,
	}, nil
}

// control is one of the verbs that act on an installed service.
type control func(c *controller) error

type controller struct {
	name string
	// forget: --remove_install_args, drop the saved install too.
	forget bool
	b      installer.Backend
	out    io.Writer
	e      env
}

var controls = map[string]control{
	"start":              start,
	"stop":               stop,
	"restart":            func(c *controller) error { return c.do("Restarted", c.b.Restart) },
	"uninstall":          uninstall,
	"remove":             uninstall,
	"stop_and_remove":    func(c *controller) error { return c.sequence(stopIfRunning, uninstall) },
	"stop_and_reinstall": func(c *controller) error { return c.sequence(stopIfRunning, reinstall) },
	"stop_and_restart":   func(c *controller) error { return c.sequence(stopIfRunning, reinstall, start) },
}

func (c *controller) do(what string, f func(string) error) error {
	if err := f(c.name); err != nil {
		return err
	}
	fmt.Fprintf(c.out, "%s service %s\n", what, c.name)
	return nil
}

func (c *controller) sequence(steps ...control) error {
	for _, step := range steps {
		if err := step(c); err != nil {
			return err
		}
	}
	return nil
}

func start(c *controller) error { return c.do("Started", c.b.Start) }
func stop(c *controller) error  { return c.do("Stopped", c.b.Stop) }

func uninstall(c *controller) error {
	if err := c.do("Removed", c.b.Uninstall); err != nil {
		return err
	}
	if c.forget {
		return c.b.Forget(c.name)
	}
	return nil
}

func stopIfRunning(c *controller) error {
	st, _, err := c.b.State(c.name)
	if err != nil {
		return err
	}
	if st == installer.NotInstalled {
		return fmt.Errorf("service %s: %w", c.name, installer.ErrNotInstalled)
	}
	if st == installer.Stopped {
		return nil
	}
	return stop(c)
}

// reinstall installs the service again with the arguments of its last
// install, checked anew, with this program's current path: the way to pick
// up a moved or updated program. An installed service is removed first
// (it must be stopped).
func reinstall(c *controller) error {
	saved, err := c.b.Saved(c.name)
	if err != nil {
		return err
	}
	if st, _, err := c.b.State(c.name); err == nil && st != installer.NotInstalled {
		if err := uninstall(c); err != nil {
			return err
		}
	}
	opts, err := parseArgs(append(saved.InstallArgs, "--service_name", c.name), installMode)
	if err != nil {
		return fmt.Errorf("the saved arguments of service %s no longer parse: %w", c.name, err)
	}
	e := c.e
	// Variables captured at the last install count when the current
	// environment lacks them: an administrator's shell rarely has a
	// service's broker password.
	lookup := e.lookupEnv
	e.lookupEnv = func(k string) (string, bool) {
		if v, ok := lookup(k); ok {
			return v, true
		}
		v, ok := saved.Env[k]
		return v, ok
	}
	def, err := definition(opts, e)
	if err != nil {
		return err
	}
	if err := c.b.Install(*def); err != nil {
		return err
	}
	fmt.Fprintf(c.out, "Installed service %s again with: %s\n", c.name, strings.Join(quoteAll(def.InstallArgs), " "))
	tellCaptured(c.out, def, "were captured")
	return nil
}

// controlVerb parses --service_name and runs f.
func controlVerb(name string, f control) verb {
	return func(_ context.Context, args []string, stdout, stderr io.Writer, e env) int {
		svcName, forget, code, done := parseServiceName(name, args, stdout, stderr)
		if done {
			return code
		}
		c := &controller{name: svcName, forget: forget, b: e.backend(), out: stdout, e: e}
		if err := f(c); err != nil {
			fmt.Fprintf(stderr, "%s: error: %v\n", Name, err)
			if errors.Is(err, installer.ErrNotInstalled) {
				fmt.Fprintf(stderr, "Install it with: %s install OUTPUT_DIR --config FILE --topic_name TOPIC --service_name %s\n", Name, svcName)
			}
			return ExitFailure
		}
		return ExitOK
	}
}

// parseServiceName parses the command line of a verb that takes only
// --service_name (and, to uninstall, --remove_install_args).
func parseServiceName(verbName string, args []string, stdout, stderr io.Writer) (name string, forget bool, code int, done bool) {
	fs := pflag.NewFlagSet(verbName, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.SetNormalizeFunc(func(_ *pflag.FlagSet, n string) pflag.NormalizedName {
		return pflag.NormalizedName(strings.ReplaceAll(n, "-", "_"))
	})
	fs.StringVar(&name, "service_name", DefaultServiceName, "")
	help := fs.BoolP("help", "h", false, "")
	usage := fmt.Sprintf("usage: %s %s [--service_name NAME]\n", Name, verbName)
	switch verbName {
	case "uninstall", "remove", "stop_and_remove":
		fs.BoolVar(&forget, "remove_install_args", false, "")
		usage = fmt.Sprintf("usage: %s %s [--service_name NAME] [--remove_install_args]\n", Name, verbName)
	}
	if err := fs.Parse(args); err != nil {
		fmt.Fprintf(stderr, "%s%s %s: error: %v\n", usage, Name, verbName, err)
		return "", false, ExitUsage, true
	}
	if *help {
		fmt.Fprint(stdout, usage, "\n", verbHelp, "\n")
		return "", false, ExitOK, true
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "%s%s %s: error: unexpected argument %q (give the service with --service_name)\n", usage, Name, verbName, fs.Arg(0))
		return "", false, ExitUsage, true
	}
	if err := installer.CheckName(name); err != nil {
		fmt.Fprintf(stderr, "%s %s: error: %v\n", Name, verbName, err)
		return "", false, ExitUsage, true
	}
	return name, forget, 0, false
}

// statusVerb tells whether the service is installed and running and, from
// the status file the running service keeps, what it is doing.
func statusVerb(_ context.Context, args []string, stdout, stderr io.Writer, e env) int {
	name, _, code, done := parseServiceName("status", args, stdout, stderr)
	if done {
		return code
	}
	b := e.backend()
	st, word, stateErr := b.State(name)
	if st == installer.NotInstalled {
		fmt.Fprintf(stdout, "Service %s is not installed.\n", name)
		return ExitStatusNotInstalled
	}
	detail := ""
	if word != "" && word != st.String() {
		detail = " (" + word + ")"
	}
	fmt.Fprintf(stdout, "Service %s is installed and %s%s.\n", name, st, detail)
	if stateErr != nil {
		fmt.Fprintf(stdout, "  %v\n", stateErr)
	}
	saved, err := b.Saved(name)
	if err != nil {
		fmt.Fprintf(stderr, "%s: error: %v\n", Name, err)
		return ExitFailure
	}
	fmt.Fprintf(stdout, "It runs: %s\n", strings.Join(quoteAll(append([]string{saved.Executable}, saved.Args...)), " "))
	if _, err := os.Stat(saved.Executable); err != nil {
		fmt.Fprintf(stdout, "WARNING: %s no longer exists (moved or removed since the install): run \"%s reinstall --service_name %s\" with the program where it is now.\n", saved.Executable, Name, name)
	}
	path := filepath.Join(saved.OutputDir, download.StateDirName, service.StatusFileName)
	report, err := service.ReadStatusFile(path)
	switch {
	case service.IsNotExist(err):
		fmt.Fprintf(stdout, "No progress yet: %s does not exist (the service has not run since it was installed).\n", path)
	case err != nil:
		fmt.Fprintf(stdout, "No progress: %v\n", err)
	default:
		age := time.Since(report.Updated).Round(time.Second)
		switch {
		case report.Stopped:
			fmt.Fprintf(stdout, "Last run (process %d) stopped %v ago; its final counts:\n", report.PID, age)
		case st == installer.Running && age > 3*service.StatusInterval:
			fmt.Fprintf(stdout, "WARNING: the progress below is %v old; the service may be stuck (process %d).\n", age, report.PID)
		default:
			fmt.Fprintf(stdout, "Progress of process %d, %v ago:\n", report.PID, age)
		}
		_, _ = io.WriteString(stdout, console.FormatCheck(report.Status))
	}
	switch st {
	case installer.Running, installer.Starting:
		return ExitOK
	}
	return ExitStatusStopped
}

const verbHelp = `Service verbs (the service name defaults to ` + DefaultServiceName + `):
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
