package installer

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/pflag"

	"github.com/openmsi/datafiledownloaddirectory/internal/about"
	"github.com/openmsi/datafiledownloaddirectory/options"
)

// control is one of the verbs that act on an installed service.
type control func(c *controller) error

type controller struct {
	name string
	// forget: --remove_install_args, drop the saved install too.
	forget bool
	b      Backend
	out    io.Writer
	e      Env
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
	if st == NotInstalled {
		return fmt.Errorf("service %s: %w", c.name, ErrNotInstalled)
	}
	if st == Stopped {
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
	if st, _, err := c.b.State(c.name); err == nil && st != NotInstalled {
		if err := uninstall(c); err != nil {
			return err
		}
	}
	opts, err := options.Parse(append(saved.InstallArgs, "--service_name", c.name), options.InstallMode)
	if err != nil {
		return fmt.Errorf("the saved arguments of service %s no longer parse: %w", c.name, err)
	}
	e := c.e
	// Variables captured at the last install count when the current
	// environment lacks them: an administrator's shell rarely has a
	// service's broker password.
	lookup := e.LookupEnv
	e.LookupEnv = func(k string) (string, bool) {
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
	if err := install(c.b, *def, c.out); err != nil {
		return err
	}
	fmt.Fprintf(c.out, "Installed service %s again with: %s\n", c.name, commandLine(def.InstallArgs))
	tellAccount(c.out, def)
	tellCaptured(c.out, def, "were captured")
	return nil
}

// controlVerb parses --service_name and runs f.
func controlVerb(name string, f control) Verb {
	return func(args []string, stdout, stderr io.Writer, e Env) int {
		svcName, forget, code, done := parseServiceName(name, args, stdout, stderr)
		if done {
			return code
		}
		c := &controller{name: svcName, forget: forget, b: e.Backend(), out: stdout, e: e}
		if err := f(c); err != nil {
			fmt.Fprintf(stderr, "%s: error: %v\n", about.Name, err)
			if errors.Is(err, ErrNotInstalled) {
				fmt.Fprintf(stderr, "Install it with: %s install OUTPUT_DIR --config FILE --topic_name TOPIC --service_name %s\n", about.Name, svcName)
			}
			return options.ExitFailure
		}
		return options.ExitOK
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
	fs.StringVar(&name, "service_name", options.DefaultServiceName, "")
	help := fs.BoolP("help", "h", false, "")
	usage := fmt.Sprintf("usage: %s %s [--service_name NAME]\n", about.Name, verbName)
	switch verbName {
	case "uninstall", "remove", "stop_and_remove":
		fs.BoolVar(&forget, "remove_install_args", false, "")
		usage = fmt.Sprintf("usage: %s %s [--service_name NAME] [--remove_install_args]\n", about.Name, verbName)
	}
	if err := fs.Parse(args); err != nil {
		fmt.Fprintf(stderr, "%s%s %s: error: %v\n", usage, about.Name, verbName, err)
		return "", false, options.ExitUsage, true
	}
	if *help {
		fmt.Fprint(stdout, usage, "\n", options.VerbHelp, "\n")
		return "", false, options.ExitOK, true
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "%s%s %s: error: unexpected argument %q (give the service with --service_name)\n", usage, about.Name, verbName, fs.Arg(0))
		return "", false, options.ExitUsage, true
	}
	if err := options.CheckServiceName(name); err != nil {
		fmt.Fprintf(stderr, "%s %s: error: %v\n", about.Name, verbName, err)
		return "", false, options.ExitUsage, true
	}
	return name, forget, 0, false
}
