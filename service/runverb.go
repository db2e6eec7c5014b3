package service

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	kservice "github.com/kardianos/service"
	"github.com/sirupsen/logrus"

	"github.com/openmsi/datafiledownloaddirectory/console"
	"github.com/openmsi/datafiledownloaddirectory/download"
	"github.com/openmsi/datafiledownloaddirectory/internal/about"
	"github.com/openmsi/datafiledownloaddirectory/options"
	"github.com/openmsi/datafiledownloaddirectory/session"
)

// RunEnv holds what tests replace: the session's Env, whether a person
// (not a service manager) started the program, and how the job runs under
// the service manager.
type RunEnv struct {
	Session     session.Env
	Interactive func() bool
	RunService  func(Config, *Program) error
}

// RealRunEnv is the process's own RunEnv.
func RealRunEnv() RunEnv {
	return RunEnv{Session: session.RealEnv(), Interactive: kservice.Interactive, RunService: Run}
}

// Description is a service's description in the service manager.
func Description(topic, outputDir string) string {
	return fmt.Sprintf("Rebuilds the files uploaded with OpenMSIStream to the Kafka topic %s in %s", topic, outputDir)
}

// defaultLogPath is the default log file of a service: where the
// platform keeps services' logs.
func defaultLogPath(name string) string {
	if runtime.GOOS == "windows" {
		pd := os.Getenv("ProgramData")
		if pd == "" {
			pd = `C:\ProgramData`
		}
		return filepath.Join(pd, about.Name, "logs", name+".log")
	}
	return filepath.Join("/var/log/datafiledownloaddirectory", name+".log")
}

// RunVerb is what a service manager runs (the run verb; args are the ones
// after it): the download without a console, stopped by the service
// manager (SCM stop, SIGTERM) like quit stops it. Log lines go to the log
// file and, except on Windows where a service has no standard output, to
// stdout for the journal; on Windows warnings and errors also go to the
// Event Log.
func RunVerb(args []string, stdout, stderr io.Writer, e RunEnv) int {
	opts, code, done := options.ParseReport(args, options.RunMode, stdout, stderr)
	if done {
		return code
	}
	if opts.LogFile == "" {
		opts.LogFile = defaultLogPath(opts.ServiceName)
	}
	if !opts.WasGiven("logger_file_level") {
		// The log file is a service's main record.
		opts.FileLevel = logrus.InfoLevel
	}
	stream := stdout
	var warnings logrus.Hook
	if runtime.GOOS == "windows" && !e.Interactive() {
		// A Windows service has no standard output: errors go to the
		// Event Log instead, warnings too through a hook.
		w, h, err := EventLog(opts.ServiceName)
		if err != nil {
			w = io.Discard
		}
		stream, warnings = w, h
		opts.StreamLevel = logrus.ErrorLevel
	}
	s, code := session.Prepare(opts, stream, e.Session)
	if s == nil {
		return code
	}
	defer s.Close()
	if warnings != nil {
		s.Log.Logger.AddHook(warnings)
	}
	if !e.Interactive() {
		if err := ConfigureSelf(opts.ServiceName); err != nil {
			s.Log.Warnf("Could not set the service's restart on failure and delayed start: %v", err)
		}
	}
	// A service's working folder is System32 on Windows and / under a
	// bare supervisor; every path is absolute by now, so move somewhere
	// harmless that exists.
	if err := os.Chdir(s.OutputDir); err != nil {
		s.Log.Warnf("Cannot change to the output folder: %v", err)
	}
	statusPath := filepath.Join(s.OutputDir, download.StateDirName, StatusFileName)
	if err := os.MkdirAll(filepath.Dir(statusPath), 0o755); err != nil {
		s.Log.Warnf("Cannot create the state folder: %v", err)
	}
	s.Beside = append(s.Beside, func(ctx context.Context) {
		KeepStatusFile(ctx, statusPath, opts.ServiceName, StatusInterval, s.Status, func(err error) {
			if err != nil {
				s.Log.Warnf("The status file for \"status\" cannot be written: %v", err)
			} else {
				s.Log.Infof("The status file %s can be written again", statusPath)
			}
		})
	})
	s.Log.Infof("Running as service %s (process %d)", opts.ServiceName, os.Getpid())

	prog := NewProgram(func(ctx context.Context) error {
		runErr, finish := s.Launch(ctx)
		err := <-runErr
		finish()
		s.Log.Info(strings.TrimRight(console.FormatSummary(s.Status(), time.Now()), "\n"))
		return err
	}, e.Session.ShutdownTimeout, s.Log)
	err := e.RunService(Config{
		Name:        opts.ServiceName,
		DisplayName: about.Name + " " + opts.ServiceName,
		Description: Description(opts.Topic, s.OutputDir),
	}, prog)
	switch {
	case errors.Is(err, ErrStopTimeout):
		return options.ExitFailure
	case err != nil:
		s.Log.Errorf("Stopped because of an error: %v", err)
		return options.ExitFailure
	}
	return options.ExitOK
}
