// Package app is the DataFileDownloadDirectory command: it parses the command
// line, sets up logging, reads the config file and runs the downloader with
// the attached console until the user or a signal stops it. main only calls
// Run, so all of this is tested here.
package app

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/google/uuid"
	kservice "github.com/kardianos/service"
	"github.com/sirupsen/logrus"

	"github.com/openmsi/datafiledownloaddirectory/console"
	"github.com/openmsi/datafiledownloaddirectory/download"
	"github.com/openmsi/datafiledownloaddirectory/download/config"
	"github.com/openmsi/datafiledownloaddirectory/download/telemetry"
	"github.com/openmsi/datafiledownloaddirectory/installer"
	"github.com/openmsi/datafiledownloaddirectory/service"
)

// Version and Commit are set at build time (see the Makefile) with
// -ldflags "-X github.com/openmsi/datafiledownloaddirectory/cmd/DataFileDownloadDirectory/app.Version=1.2.3".
var (
	Version = "dev"
	Commit  = "unknown"
)

// Exit statuses.
const (
	ExitOK      = 0
	ExitFailure = 1 // the download failed or did not stop in time
	ExitUsage   = 2 // wrong command line or config file
)

// ShutdownTimeout bounds how long a stop request may take before the program
// gives up waiting and exits with ExitFailure. Committed offsets and the
// journal of files in progress make such an exit safe to resume from.
const ShutdownTimeout = 30 * time.Second

// Run runs the program with args (without the program name) and returns its
// exit status. It handles SIGINT, SIGTERM and SIGHUP itself: the first asks
// for a clean stop, the second makes Run return ExitFailure at once.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return run(ctx, args, stdin, stdout, stderr, realEnv())
}

// downloader is what the command needs of *download.Downloader; tests
// substitute their own.
type downloader interface {
	Run(context.Context) error
	Status() download.Status
}

// env holds what tests replace: the process's signals, the downloader and
// the shutdown bound.
type env struct {
	notify          func() (sigs <-chan os.Signal, stop func())
	newDownloader   func(download.Config, *logrus.Entry) (downloader, error)
	lookupEnv       func(string) (string, bool)
	shutdownTimeout time.Duration
	// telemetryFlushTimeout bounds the wait for the last heartbeat and log
	// messages at shutdown, on top of the downloader's own shutdown.
	telemetryFlushTimeout time.Duration

	// For the service verbs: the service manager, this program's path,
	// whether a person (not a service manager) started it, and how the
	// run verb runs under the service manager.
	backend     func() installer.Backend
	executable  func() (string, error)
	interactive func() bool
	runService  func(service.Config, *service.Program) error
}

func realEnv() env {
	return env{
		notify: func() (<-chan os.Signal, func()) {
			// A channel instead of signal.NotifyContext, because the second
			// signal must be seen too: NotifyContext would restore the
			// default action, which kills without a status of our choosing.
			ch := make(chan os.Signal, 2)
			sigs := []os.Signal{os.Interrupt, syscall.SIGTERM}
			// A closed terminal window sends SIGHUP: stop cleanly then too,
			// unless nohup asked for it to be ignored, which Notify would
			// undo.
			if !signal.Ignored(syscall.SIGHUP) {
				sigs = append(sigs, syscall.SIGHUP)
			}
			signal.Notify(ch, sigs...)
			return ch, func() { signal.Stop(ch) }
		},
		newDownloader: func(cfg download.Config, log *logrus.Entry) (downloader, error) {
			d, err := download.New(cfg, log)
			if err != nil {
				return nil, err
			}
			return d, nil
		},
		lookupEnv:             os.LookupEnv,
		shutdownTimeout:       ShutdownTimeout,
		telemetryFlushTimeout: telemetry.DefaultFlushTimeout,
		backend:               installer.NewBackend,
		executable: func() (string, error) {
			p, err := os.Executable()
			if err != nil {
				return "", err
			}
			// A service must keep working when a symlink that pointed at
			// the program is changed.
			return filepath.EvalSymlinks(p)
		},
		interactive: kservice.Interactive,
		runService:  service.Run,
	}
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, e env) int {
	if len(args) > 0 && args[0] == describeVerb {
		return runDescribe(ctx, args[1:], stdin, stdout, stderr, e)
	}
	if len(args) > 0 {
		if v := verbFor(args[0]); v != nil {
			return v(ctx, args[1:], stdout, stderr, e)
		}
	}
	opts, err := ParseArgs(args)
	switch {
	case err != nil:
		fmt.Fprintf(stderr, "%s%s: error: %v\nRun \"%s --help\" to see all options.\n", Usage, Name, err, Name)
		return ExitUsage
	case opts.Help:
		_, _ = io.WriteString(stdout, HelpText())
		return ExitOK
	case opts.Version:
		_, _ = io.WriteString(stdout, VersionText())
		return ExitOK
	}
	s, code := prepare(opts, stderr, e)
	if s == nil {
		return code
	}
	defer s.close()
	defer s.startDebugServer()()
	return s.serve(ctx, stdin, stdout, e)
}

// VersionText is the output of --version: this program's version and those
// of the Go runtime and librdkafka it was built with, which are what a bug
// report needs.
func VersionText() string {
	_, rdkafka := kafka.LibraryVersion()
	return fmt.Sprintf("%s %s (commit %s)\nGo %s %s/%s\nlibrdkafka %s\n",
		Name, Version, Commit, strings.TrimPrefix(runtime.Version(), "go"), runtime.GOOS, runtime.GOARCH, rdkafka)
}

// session is one console-mode run, from a checked configuration to the
// summary.
type session struct {
	opts      *Options
	outputDir string
	log       *logrus.Entry
	logFile   io.Closer
	cfg       download.Config
	dl        downloader
	// tel sends the optional heartbeat and log messages; nil without
	// their topics. logs collects the lines for the log topic.
	tel        *telemetry.Telemetry
	logs       *telemetry.LogBuffer
	telStarted bool // Run owns the producers from then on
	// statusPath is the status file a service keeps for the status verb;
	// "" in console mode.
	statusPath string
}

// prepare does everything that can fail because of the command line or the
// config file, before any connection is made, and reports failures itself.
// On failure it returns a nil session and the exit status.
func prepare(opts *Options, stderr io.Writer, e env) (*session, int) {
	s := &session{opts: opts}
	// The output folder comes first: the default log file lives inside it.
	out, err := filepath.Abs(opts.OutputDir)
	if err == nil {
		err = os.MkdirAll(out, 0o755)
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s: error: cannot create the output folder %s: %v\n", Name, opts.OutputDir, err)
		return nil, ExitUsage
	}
	s.outputDir = out

	path, err := logFilePath(opts.LogFile, out)
	var lf io.WriteCloser
	if err == nil {
		lf, err = openLogFile(path)
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s: error: cannot write the log file %s: %v\n", Name, path, err)
		return nil, ExitUsage
	}
	s.logFile = lf
	s.log = newLogger(stderr, opts.StreamLevel, lf, opts.FileLevel)
	if opts.LogTopic != "" {
		// Installed before anything is logged, so that the first log
		// message tells how the run started, config problems included.
		// Added last: logrus stops at the first hook that fails, and this
		// one never fails.
		s.logs = telemetry.NewLogBuffer(telemetry.DefaultLogLines, lineFormatter{bare: true})
		s.log.Logger.AddHook(s.logs)
	}

	fail := func(code int, format string, args ...any) (*session, int) {
		s.log.Errorf(format, args...)
		s.close()
		return nil, code
	}

	cfgPath, err := config.ResolvePath(opts.Config)
	if err != nil {
		return fail(ExitUsage, "%v", err)
	}
	file, err := config.Load(cfgPath, e.lookupEnv)
	if err != nil {
		return fail(ExitUsage, "%v", err)
	}
	settings, err := file.Consumer()
	if err != nil {
		return fail(ExitUsage, "%v", err)
	}
	if err := config.ValidateConsumer(settings.Kafka); err != nil {
		// One line per bad setting, each naming the file, so that every
		// line of the log says what to fix and where.
		errs := []error{err}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			errs = j.Unwrap()
		}
		for _, e := range errs[:len(errs)-1] {
			s.log.Errorf("config file %s: %v", file.Path(), e)
		}
		return fail(ExitUsage, "config file %s: %v", file.Path(), errs[len(errs)-1])
	}
	s.log.Infof("Using config file %s", cfgPath)
	s.log.Debugf("Kafka consumer settings from the config file: %s", formatSettings(config.Redacted(settings.Kafka)))
	if settings.AutoCommitRequested {
		s.log.Info("enable.auto.commit in the config file was overridden: this program commits offsets itself, and only for messages whose data is on disk")
	}

	s.cfg = download.Config{
		OutputDir: out,
		Topic:     opts.Topic,
		Consumers: opts.Threads,
		GroupID:   s.groupID(settings.GroupID),
		Kafka:     settings.Kafka,
		Regex:     opts.Regex,
		// A fresh group has nothing to get back after a restart.
		StaticMembership: !s.freshGroup(settings.GroupID),
		DescribeGroup:    selfDescriber(),
		ExpireAfter:      expiry(opts.ExpiryDays),
	}
	if s.tel, err = s.newTelemetry(file, e.telemetryFlushTimeout); err != nil {
		return fail(ExitUsage, "%v", err)
	}
	if s.dl, err = e.newDownloader(s.cfg, s.log); err != nil {
		return fail(ExitFailure, "cannot start: %v", err)
	}
	return s, ExitOK
}

// expiry turns --unfinished_expiry_days into the downloader's setting.
func expiry(days int) time.Duration {
	if days == 0 {
		return -1 // forever
	}
	return time.Duration(days) * 24 * time.Hour
}

// newTelemetry makes the producers of the heartbeat and log topics that
// the options ask for, with the [heartbeat] and [log] sections' settings;
// nil when neither topic is given.
func (s *session) newTelemetry(file *config.File, flushTimeout time.Duration) (*telemetry.Telemetry, error) {
	o := s.opts
	if o.HeartbeatTopic == "" && o.LogTopic == "" {
		return nil, nil
	}
	broker, err := file.Section("broker")
	if err != nil {
		return nil, err
	}
	dest := func(section, topic, programID string, seconds int) (*telemetry.Destination, error) {
		if topic == "" {
			return nil, nil
		}
		values := map[string]string{}
		if file.Has(section) {
			if values, err = file.Section(section); err != nil {
				return nil, err
			}
		}
		d := &telemetry.Destination{
			Topic:     topic,
			ProgramID: ProgramID(programID, o.ServiceName),
			Interval:  time.Duration(seconds) * time.Second,
			Kafka:     telemetry.ProducerSettings(values, broker),
		}
		kind := strings.ToUpper(section[:1]) + section[1:]
		s.log.Infof("%s messages will be produced to the '%s' topic every %d seconds with the key %s_%s", kind, topic, seconds, d.ProgramID, section)
		s.log.Debugf("Kafka producer settings for the %s topic: %s", section, formatSettings(config.Redacted(d.Kafka)))
		return d, nil
	}
	cfg := telemetry.Config{
		// s.dl does not exist yet; Run asks for the status only after it
		// does.
		Status:       func() download.Status { return s.dl.Status() },
		Logs:         s.logs,
		FlushTimeout: flushTimeout,
	}
	if cfg.Heartbeat, err = dest("heartbeat", o.HeartbeatTopic, o.HeartbeatProgramID, o.HeartbeatSeconds); err != nil {
		return nil, err
	}
	if cfg.Log, err = dest("log", o.LogTopic, o.LogProgramID, o.LogSeconds); err != nil {
		return nil, err
	}
	t, err := telemetry.New(cfg, s.log)
	if err != nil {
		return nil, fmt.Errorf("config file %s: %w", file.Path(), err)
	}
	return t, nil
}

// ProgramID is the id in the keys of heartbeat and log messages: the given
// one, else the host name, with the service name appended when there is
// one. The original used a memory address, which changed at every start
// and so split one downloader's history on a dashboard.
func ProgramID(given, serviceName string) string {
	if given != "" {
		return given
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = Name
	}
	if serviceName != "" {
		return host + "_" + serviceName
	}
	return host
}

// groupID picks the consumer group: an explicit --consumer_group_id, else the
// config file's group.id (the original ignored it, re-reading the whole
// topic on every run), else a fresh one.
func (s *session) groupID(fromConfig string) string {
	id := s.opts.GroupID
	if !s.opts.GroupIDSet && fromConfig != "" {
		id = fromConfig
	}
	if !strings.EqualFold(id, CreateNew) {
		s.log.Infof("Consumer group id: %s", id)
		return id
	}
	id = Name + "_" + uuid.NewString()
	s.log.Infof("Consumer group id: %s (pass --consumer_group_id %s to resume from this point)", id, id)
	return id
}

// freshGroup says whether groupID makes up a new group id.
func (s *session) freshGroup(fromConfig string) bool {
	id := s.opts.GroupID
	if !s.opts.GroupIDSet && fromConfig != "" {
		id = fromConfig
	}
	return strings.EqualFold(id, CreateNew)
}

func formatSettings(m map[string]string) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if b.Len() > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s=%s", k, m[k])
	}
	return b.String()
}

func (s *session) close() {
	if s.tel != nil && !s.telStarted {
		s.tel.Close()
		s.tel = nil
	}
	if s.logFile != nil {
		_ = s.logFile.Close()
		s.logFile = nil
	}
}

// launch starts the downloader, the telemetry and, for a service, the
// status file. The downloader's result arrives on the returned channel;
// finish must then be called: it stops the telemetry once the downloader has
// stopped, so that the last heartbeat counts the last messages and the
// heartbeats of a run add up to its totals.
func (s *session) launch(ctx context.Context) (runErr <-chan error, finish func()) {
	s.log.Infof("Listening for files to reconstruct in %s", s.outputDir)
	threads := "threads"
	if s.cfg.Consumers == 1 {
		threads = "thread"
	}
	s.log.Infof("Will reconstruct files from messages in the %s topic using %d %s", s.cfg.Topic, s.cfg.Consumers, threads)

	errc := make(chan error, 1)
	go func() { errc <- s.dl.Run(ctx) }()

	// WithoutCancel keeps ctx's values but not its end: these stop after
	// the downloader.
	afterCtx, stopAfter := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	if s.tel != nil {
		s.telStarted = true
		wg.Go(func() { s.tel.Run(afterCtx) })
	}
	if s.statusPath != "" {
		wg.Go(func() {
			service.KeepStatusFile(afterCtx, s.statusPath, s.opts.ServiceName, service.StatusInterval, s.dl.Status, func(err error) {
				if err != nil {
					s.log.Warnf("The status file for \"status\" cannot be written: %v", err)
				} else {
					s.log.Infof("The status file %s can be written again", s.statusPath)
				}
			})
		})
	}
	return errc, func() {
		s.log.Infof("File reconstructor writing to %s shut down", s.outputDir)
		// Bounded by the telemetry's flush timeout.
		stopAfter()
		wg.Wait()
	}
}

// serve runs the downloader and the console until a stop request, then waits
// a bounded time for the downloader to finish and prints the summary.
func (s *session) serve(ctx context.Context, stdin io.Reader, stdout io.Writer, e env) int {
	sigs, stopSignals := e.notify()
	defer stopSignals()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	runErr, finish := s.launch(ctx)

	con := console.New(stdin, stdout, console.Options{
		Status: s.dl.Status,
		Quit: func() {
			if ctx.Err() == nil {
				s.log.Info("Quit requested: shutting down")
			}
			cancel()
		},
		UpdateInterval: time.Duration(s.opts.UpdateSeconds) * time.Second,
	})
	conDone := make(chan struct{})
	go func() {
		defer close(conDone)
		con.Run(ctx)
	}()

	stopping := ctx.Done()
	var deadline <-chan time.Time
	for {
		select {
		case err := <-runErr:
			cancel()
			<-conDone
			finish()
			_, _ = io.WriteString(con.Writer(), console.FormatSummary(s.dl.Status(), time.Now()))
			if err != nil {
				s.log.Errorf("Stopped because of an error: %v", err)
				return ExitFailure
			}
			return ExitOK

		case sig := <-sigs:
			if ctx.Err() != nil {
				s.log.Errorf("Received %v again: exiting at once. Offsets not yet committed will be read again at the next start.", sig)
				return ExitFailure
			}
			s.log.Infof("Received %v: shutting down (press Ctrl+C again to exit at once)", sig)
			cancel()

		case <-stopping:
			// Only once: a closed Done channel is always ready.
			stopping = nil
			t := time.NewTimer(e.shutdownTimeout)
			defer t.Stop()
			deadline = t.C

		case <-deadline:
			s.log.Errorf("The download did not stop within %v of the shutdown request: exiting anyway. Offsets not yet committed will be read again at the next start.", e.shutdownTimeout)
			return ExitFailure
		}
	}
}
