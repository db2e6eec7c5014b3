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
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/openmsi/datafiledownloaddirectory/console"
	"github.com/openmsi/datafiledownloaddirectory/download"
	"github.com/openmsi/datafiledownloaddirectory/internal/about"
	"github.com/openmsi/datafiledownloaddirectory/options"
	"github.com/openmsi/datafiledownloaddirectory/session"
)

// RunEnv holds what tests replace: the session's Env and how the job runs
// under the service manager.
type RunEnv struct {
	Session    session.Env
	RunService func(Config, *Program) error
}

// RealRunEnv is the process's own RunEnv.
func RealRunEnv() RunEnv {
	return RunEnv{Session: session.RealEnv(), RunService: Run}
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
// file and to stdout (the journal under systemd; nowhere under the Windows
// service manager, where a service has no standard output, but to the
// console when the run verb is typed in one). On Windows, warnings and
// errors also go to the Event Log.
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
	stream := &untilLogger{out: stdout}
	var eventLog logrus.Hook
	if w, h, err := EventLog(opts.ServiceName); err == nil && w != nil {
		// What goes wrong before the logger exists (the config, the log
		// file) is written by Prepare to stream: to the Event Log too.
		stream.early, eventLog = w, h
	}
	s, code := session.Prepare(opts, stream, e.Session)
	if s == nil {
		return code
	}
	defer s.Close()
	stream.ready()
	if eventLog != nil {
		s.Log.Logger.AddHook(eventLog)
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

// untilLogger writes to out, and to early as well until ready is called:
// the run verb's messages from before its logger exists reach the Windows
// Event Log, where a service's only other record would be missing; the
// logger sends its warnings and errors there itself.
type untilLogger struct {
	out io.Writer
	mu  sync.Mutex
	// early is nil once the logger exists.
	early io.Writer
}

// Write never fails: stdout of a Windows service is no handle at all, and
// the Event Log must still get the message.
func (u *untilLogger) Write(p []byte) (int, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.out.Write(p)
	if u.early != nil {
		u.early.Write(p)
	}
	return len(p), nil
}

func (u *untilLogger) ready() {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.early = nil
}
