package installer

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/openmsi/datafiledownloaddirectory/console"
	"github.com/openmsi/datafiledownloaddirectory/download"
	"github.com/openmsi/datafiledownloaddirectory/internal/about"
	"github.com/openmsi/datafiledownloaddirectory/options"
	"github.com/openmsi/datafiledownloaddirectory/service"
)

// statusVerb tells whether the service is installed and running and, from
// the status file the running service keeps, what it is doing.
func statusVerb(args []string, stdout, stderr io.Writer, e Env) int {
	name, _, code, done := parseServiceName("status", args, stdout, stderr)
	if done {
		return code
	}
	b := e.Backend()
	st, word, stateErr := b.State(name)
	if st == NotInstalled {
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
		fmt.Fprintf(stderr, "%s: error: %v\n", about.Name, err)
		return options.ExitFailure
	}
	fmt.Fprintf(stdout, "It runs: %s\n", commandLine(append([]string{saved.Executable}, saved.Args...)))
	if _, err := os.Stat(saved.Executable); err != nil {
		fmt.Fprintf(stdout, "WARNING: %s no longer exists (moved or removed since the install): run \"%s reinstall --service_name %s\" with the program where it is now.\n", saved.Executable, about.Name, name)
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
		case st == Running && age > 3*service.StatusInterval:
			fmt.Fprintf(stdout, "WARNING: the progress below is %v old; the service may be stuck (process %d).\n", age, report.PID)
		default:
			fmt.Fprintf(stdout, "Progress of process %d, %v ago:\n", report.PID, age)
		}
		_, _ = io.WriteString(stdout, console.FormatCheck(report.Status))
	}
	switch st {
	case Running, Starting:
		return options.ExitOK
	}
	return ExitStatusStopped
}
