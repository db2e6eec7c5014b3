// Package session is one run of the download, from a checked command line
// to the summary: it sets up logging, reads the config file, builds the
// downloader and the optional heartbeat and log producers, and runs them,
// with the attached console (Console) or under a service manager (the
// service package drives Prepare and Launch).
package session

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/google/uuid"
	"github.com/sirupsen/logrus"

	"github.com/openmsi/datafiledownloaddirectory/config"
	"github.com/openmsi/datafiledownloaddirectory/console"
	"github.com/openmsi/datafiledownloaddirectory/download"
	"github.com/openmsi/datafiledownloaddirectory/internal/about"
	"github.com/openmsi/datafiledownloaddirectory/internal/folderlock"
	"github.com/openmsi/datafiledownloaddirectory/kafkacrypto"
	"github.com/openmsi/datafiledownloaddirectory/logsetup"
	"github.com/openmsi/datafiledownloaddirectory/options"
	"github.com/openmsi/datafiledownloaddirectory/telemetry"
)

// ShutdownTimeout bounds how long a stop request may take before the program
// gives up waiting and exits with options.ExitFailure. Committed offsets and the
// journal of files in progress make such an exit safe to resume from.
const ShutdownTimeout = 30 * time.Second

// Downloader is what a session needs of *download.Downloader; tests
// substitute their own.
type Downloader interface {
	Run(context.Context) error
	Status() download.Status
}

// Env holds what tests replace: the process's signals, the downloader, the
// environment variables and the shutdown bounds.
type Env struct {
	Notify          func() (sigs <-chan os.Signal, stop func())
	NewDownloader   func(download.Config, *logrus.Entry) (Downloader, error)
	LookupEnv       func(string) (string, bool)
	ShutdownTimeout time.Duration
	// TelemetryFlushTimeout bounds the wait for the last heartbeat and log
	// messages at shutdown, on top of the downloader's own shutdown.
	TelemetryFlushTimeout time.Duration
}

// RealEnv is the process's own Env.
func RealEnv() Env {
	return Env{
		Notify: func() (<-chan os.Signal, func()) {
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
		NewDownloader: func(cfg download.Config, log *logrus.Entry) (Downloader, error) {
			d, err := download.New(cfg, log)
			if err != nil {
				return nil, err
			}
			return d, nil
		},
		LookupEnv:             os.LookupEnv,
		ShutdownTimeout:       ShutdownTimeout,
		TelemetryFlushTimeout: telemetry.DefaultFlushTimeout,
	}
}

// Console runs the console mode with args (without the program name) and
// returns the exit status. It handles SIGINT, SIGTERM and SIGHUP itself:
// the first asks for a clean stop, the second makes it return options.ExitFailure
// at once.
func Console(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, e Env) int {
	opts, code, done := options.ParseReport(args, options.ConsoleMode, stdout, stderr)
	if done {
		return code
	}
	s, code := Prepare(opts, stderr, e)
	if s == nil {
		return code
	}
	defer s.Close()
	defer s.startDebugServer()()
	return s.serve(ctx, stdin, stdout, e)
}

// Session is one run, from a checked configuration to the summary.
type Session struct {
	opts *options.Options
	// OutputDir is the absolute output folder.
	OutputDir string
	// Log is the session's logger: the terminal (or the service's stream)
	// and the log file.
	Log     *logrus.Entry
	logFile io.Closer
	lock    *folderlock.Lock // the output folder's, held until Close
	cfg     download.Config
	dl      Downloader
	// tel sends the optional heartbeat and log messages; nil without
	// their topics. logs collects the lines for the log topic.
	tel        *telemetry.Telemetry
	logs       *telemetry.LogBuffer
	telStarted bool // Run owns the producers from then on
	// Beside are jobs that run beside the downloader and stop after it,
	// once its last counts are known (a service's status file).
	Beside []func(ctx context.Context)
}

// Prepare does everything that can fail because of the command line or the
// config file, before any connection is made, and reports failures itself.
// On failure it returns a nil session and the exit status.
func Prepare(opts *options.Options, stderr io.Writer, e Env) (*Session, int) {
	s := &Session{opts: opts}
	// The output folder comes first: the default log file lives inside it.
	out, err := filepath.Abs(opts.OutputDir)
	if err == nil {
		err = os.MkdirAll(out, 0o755)
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s: error: cannot create the output folder %s: %v%s\n", about.Name, opts.OutputDir, err, sandboxHint(err))
		return nil, options.ExitUsage
	}
	s.OutputDir = out
	// Before anything is written there: the log file may be the other
	// program's.
	if s.lock, err = folderlock.Acquire(filepath.Join(out, download.StateDirName), out); err != nil {
		fmt.Fprintf(stderr, "%s: error: %v%s\n", about.Name, err, sandboxHint(err))
		var inUse *folderlock.InUseError
		if errors.As(err, &inUse) {
			// A service retries, and gets the folder once the other
			// program has stopped.
			return nil, options.ExitFailure
		}
		return nil, options.ExitUsage
	}

	path, err := logsetup.FilePath(opts.LogFile, out)
	var lf io.WriteCloser
	if err == nil {
		lf, err = logsetup.OpenFile(path)
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s: error: cannot write the log file %s: %v\n", about.Name, path, err)
		s.Close() // the folder lock: Windows cannot remove a folder holding an open file
		return nil, options.ExitUsage
	}
	s.logFile = lf
	s.Log = logsetup.New(stderr, opts.StreamLevel, lf, opts.FileLevel)
	if opts.LogTopic != "" {
		// Installed before anything is logged, so that the first log
		// message tells how the run started, config problems included.
		// Added last: logrus stops at the first hook that fails, and this
		// one never fails.
		s.logs = telemetry.NewLogBuffer(telemetry.DefaultLogLines, logsetup.BareFormatter())
		s.Log.Logger.AddHook(s.logs)
	}

	fail := func(code int, format string, args ...any) (*Session, int) {
		s.Log.Errorf(format, args...)
		s.Close()
		return nil, code
	}

	cfgPath, err := config.ResolvePath(opts.Config)
	if err != nil {
		return fail(options.ExitUsage, "%v", err)
	}
	file, err := config.Load(cfgPath, e.LookupEnv)
	if err != nil {
		return fail(options.ExitUsage, "%v", err)
	}
	settings, err := file.Consumer()
	if err != nil {
		return fail(options.ExitUsage, "%v", err)
	}
	if err := config.ValidateConsumer(settings.Kafka); err != nil {
		// One line per bad setting, each naming the file, so that every
		// line of the log says what to fix and where.
		errs := []error{err}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			errs = j.Unwrap()
		}
		for _, e := range errs[:len(errs)-1] {
			s.Log.Errorf("config file %s: %v", file.Path(), e)
		}
		return fail(options.ExitUsage, "config file %s: %v", file.Path(), errs[len(errs)-1])
	}
	s.Log.Infof("Using config file %s", cfgPath)
	s.Log.Debugf("Kafka consumer settings from the config file: %s", formatSettings(config.Redacted(settings.Kafka)))
	if settings.AutoCommitRequested {
		s.Log.Info("enable.auto.commit in the config file was overridden: this program commits offsets itself, and only for messages whose data is on disk")
	}

	crypto, err := s.cryptoConfig(file, cfgPath)
	if err != nil {
		return fail(options.ExitUsage, "%v", err)
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
		Crypto:           crypto,
		ExpireAfter:      expiry(opts.ExpiryDays),
	}
	if s.freshGroup(settings.GroupID) && !fromEarliest(settings.Kafka) {
		s.Log.Warn("This new consumer group starts at the newest message: only files uploaded from now on will be downloaded. " +
			"To read the files already in the topic, set auto.offset.reset = earliest in the config file's [consumer] section")
	}
	if s.tel, err = s.newTelemetry(file, e.TelemetryFlushTimeout); err != nil {
		return fail(options.ExitUsage, "%v", err)
	}
	if s.dl, err = e.NewDownloader(s.cfg, s.Log); err != nil {
		return fail(options.ExitFailure, "cannot start: %v", err)
	}
	return s, options.ExitOK
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
func (s *Session) newTelemetry(file *config.File, flushTimeout time.Duration) (*telemetry.Telemetry, error) {
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
		s.Log.Infof("%s messages will be produced to the '%s' topic every %d seconds with the key %s_%s", kind, topic, seconds, d.ProgramID, section)
		s.Log.Debugf("Kafka producer settings for the %s topic: %s", section, formatSettings(config.Redacted(d.Kafka)))
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
	t, err := telemetry.New(cfg, s.Log)
	if err != nil {
		return nil, fmt.Errorf("config file %s: %w", file.Path(), err)
	}
	return t, nil
}

// Status is the downloader's status.
func (s *Session) Status() download.Status { return s.dl.Status() }

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
		host = about.Name
	}
	if serviceName != "" {
		return host + "_" + serviceName
	}
	return host
}

// groupID picks the consumer group: an explicit --consumer_group_id, else the
// config file's group.id (the original ignored it, re-reading the whole
// topic on every run), else a fresh one.
func (s *Session) groupID(fromConfig string) string {
	id := s.opts.GroupID
	if !s.opts.GroupIDSet && fromConfig != "" {
		id = fromConfig
	}
	if !strings.EqualFold(id, options.CreateNew) {
		s.Log.Infof("Consumer group id: %s", id)
		return id
	}
	id = about.Name + "_" + uuid.NewString()
	s.Log.Infof("Consumer group id: %s (pass --consumer_group_id %s to resume from this point)", id, id)
	return id
}

// fromEarliest says whether a group without committed offsets starts at
// the oldest message; librdkafka's default is the newest.
func fromEarliest(kafka map[string]string) bool {
	switch strings.ToLower(strings.TrimSpace(kafka["auto.offset.reset"])) {
	case "earliest", "smallest", "beginning":
		return true
	}
	return false
}

// freshGroup says whether groupID makes up a new group id.
func (s *Session) freshGroup(fromConfig string) bool {
	id := s.opts.GroupID
	if !s.opts.GroupIDSet && fromConfig != "" {
		id = fromConfig
	}
	return strings.EqualFold(id, options.CreateNew)
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

// Close releases the log file and telemetry that were not started.
func (s *Session) Close() {
	if s.tel != nil && !s.telStarted {
		s.tel.Close()
		s.tel = nil
	}
	if s.logFile != nil {
		_ = s.logFile.Close()
		s.logFile = nil
	}
	if s.lock != nil {
		_ = s.lock.Release()
		s.lock = nil
	}
}

// Launch starts the downloader, the telemetry and the Beside jobs. The
// downloader's result arrives on the returned channel;
// finish must then be called: it stops the telemetry once the downloader has
// stopped, so that the last heartbeat counts the last messages and the
// heartbeats of a run add up to its totals.
func (s *Session) Launch(ctx context.Context) (runErr <-chan error, finish func()) {
	s.Log.Infof("Listening for files to reconstruct in %s", s.OutputDir)
	threads := "threads"
	if s.cfg.Consumers == 1 {
		threads = "thread"
	}
	s.Log.Infof("Will reconstruct files from messages in the %s topic using %d %s", s.cfg.Topic, s.cfg.Consumers, threads)

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
	for _, job := range s.Beside {
		wg.Go(func() { job(afterCtx) })
	}
	return errc, func() {
		s.Log.Infof("File reconstructor writing to %s shut down", s.OutputDir)
		// Bounded by the telemetry's flush timeout.
		stopAfter()
		wg.Wait()
	}
}

// serve runs the downloader and the console until a stop request, then waits
// a bounded time for the downloader to finish and prints the summary.
func (s *Session) serve(ctx context.Context, stdin io.Reader, stdout io.Writer, e Env) int {
	sigs, stopSignals := e.Notify()
	defer stopSignals()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	runErr, finish := s.Launch(ctx)

	con := console.New(stdin, stdout, console.Options{
		Status: s.dl.Status,
		Quit: func() {
			if ctx.Err() == nil {
				s.Log.Info("Quit requested: shutting down")
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
				s.Log.Errorf("Stopped because of an error: %v", err)
				return options.ExitFailure
			}
			return options.ExitOK

		case sig := <-sigs:
			if ctx.Err() != nil {
				s.Log.Errorf("Received %s again: exiting at once. Offsets not yet committed will be read again at the next start.", signalName(sig))
				return options.ExitFailure
			}
			s.Log.Info(stoppingLine(sig))
			cancel()

		case <-stopping:
			// Only once: a closed Done channel is always ready.
			stopping = nil
			t := time.NewTimer(e.ShutdownTimeout)
			defer t.Stop()
			deadline = t.C

		case <-deadline:
			s.Log.Errorf("The download did not stop within %v of the shutdown request: exiting anyway. Offsets not yet committed will be read again at the next start.", e.ShutdownTimeout)
			return options.ExitFailure
		}
	}
}

// signalName names the stop signals as kill(1) and systemd do.
func signalName(sig os.Signal) string {
	switch sig {
	case os.Interrupt:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGHUP:
		return "SIGHUP"
	}
	return sig.String()
}

// stoppingLine is what the program says when a signal stops it. Only a
// person at the terminal can press Ctrl+C again; a supervisor's SIGTERM
// gets no such hint.
func stoppingLine(sig os.Signal) string {
	switch sig {
	case os.Interrupt:
		return "Received SIGINT (Ctrl+C): stopping (press Ctrl+C again to exit at once)"
	case syscall.SIGHUP:
		return "Received SIGHUP (the terminal was closed): stopping"
	}
	return "Received " + signalName(sig) + ": stopping"
}

// sandboxHint explains a read-only output folder under systemd, where the
// usual cause is the unit's sandbox, not the disk.
func sandboxHint(err error) string {
	if errors.Is(err, syscall.EROFS) && os.Getenv("INVOCATION_ID") != "" {
		return "; under systemd the unit must list the folder in ReadWritePaths= (systemctl edit the service; see docs/service.md)"
	}
	return ""
}

// cryptoConfig reads the KafkaCrypto node that the config file's
// [kafkacrypto] section names; nil when the topic is not encrypted.
func (s *Session) cryptoConfig(file *config.File, cfgPath string) (*download.CryptoConfig, error) {
	kc, err := file.KafkaCrypto()
	if err != nil || kc == nil {
		return nil, err
	}
	nodePath, err := kafkacrypto.FindNodeConfig(kc.NodeID, kc.ConfigFile, cfgPath, config.DefaultDir())
	if err != nil {
		return nil, fmt.Errorf("config file %s: %v", cfgPath, err)
	}
	node, err := kafkacrypto.LoadNode(nodePath, time.Now())
	if err != nil {
		return nil, err
	}
	broker, err := file.Section("broker")
	if err != nil {
		return nil, err
	}
	for _, k := range []string{"node_id", "group.id", "key.serializer", "value.serializer", "key.deserializer", "value.deserializer"} {
		delete(broker, k)
	}
	wait := time.Duration(s.opts.KeyWaitSeconds) * time.Second
	expires := "never"
	if e := node.ChainExpires(); !e.IsZero() {
		expires = e.Format("2006-01-02")
		if time.Until(e) < 30*24*time.Hour {
			s.Log.Warnf("The chain of trust of KafkaCrypto node %q expires on %s: provision the node again before then", node.ID, expires)
		}
	}
	s.Log.Infof("The topic is encrypted (KafkaCrypto): messages are decrypted as node %q (%s, signing key %s, chain of trust valid until %s); "+
		"keys are asked for on %s.subs and %s.reqs and received on %s.keys; a message waits up to %s for its key, then goes to %s/",
		node.ID, nodePath, node.PublicKey(), expires, node.Root(s.opts.Topic), node.Root(s.opts.Topic), node.Root(s.opts.Topic), wait, download.EncryptedDirName)
	return &download.CryptoConfig{Node: node, Kafka: broker, KeyWait: wait}, nil
}
