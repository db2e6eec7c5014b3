package options

import (
	"fmt"
	"io"

	"github.com/openmsi/datafiledownloaddirectory/internal/about"
)

// Exit statuses.
const (
	ExitOK      = 0
	ExitFailure = 1 // the download failed or did not stop in time
	ExitUsage   = 2 // wrong command line or config file
)

// ParseReport parses a command line of mode and answers what needs no
// download: a usage error goes to stderr with the usage, --help and
// --version to stdout. done means the caller returns code at once.
func ParseReport(args []string, mode Mode, stdout, stderr io.Writer) (opts *Options, code int, done bool) {
	opts, err := Parse(args, mode)
	switch {
	case err != nil:
		fmt.Fprintf(stderr, "%s%s: error: %v\nRun \"%s --help\" to see all options.\n", Usage, about.Name, err, about.Name)
		return nil, ExitUsage, true
	case opts.Help:
		_, _ = io.WriteString(stdout, HelpText())
		return nil, ExitOK, true
	case opts.Version:
		_, _ = io.WriteString(stdout, about.VersionText())
		return nil, ExitOK, true
	}
	return opts, ExitOK, false
}
