// Command DataFileDownloadDirectory rebuilds the data files that
// OpenMSIStream uploads to a Kafka topic in a local folder. main only picks
// the mode from the first argument and exits with its status: the console
// mode is package session, the service verbs package installer, the run
// verb (what a service manager starts) package service.
package main

import (
	"context"
	"io"
	"os"

	"github.com/openmsi/datafiledownloaddirectory/installer"
	"github.com/openmsi/datafiledownloaddirectory/service"
	"github.com/openmsi/datafiledownloaddirectory/session"
)

func main() {
	stopProfiles := func() {}
	if len(os.Args) < 2 || os.Args[1] != session.DescribeVerb {
		// The child that describes the consumer group would overwrite
		// the program's own profiles.
		stopProfiles = startProfiles()
	}
	code := run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stopProfiles()
	os.Exit(code)
}

// run runs the program with args (without the program name) and returns
// its exit status.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case session.DescribeVerb:
			return session.RunDescribe(ctx, stdin, stdout)
		case "run":
			return service.RunVerb(args[1:], stdout, stderr, service.RealRunEnv())
		}
		if v := installer.VerbFor(args[0]); v != nil {
			return v(args[1:], stdout, stderr, installer.RealEnv())
		}
	}
	return session.Console(ctx, args, stdin, stdout, stderr, session.RealEnv())
}
