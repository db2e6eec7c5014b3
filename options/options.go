// Package options is the command line of DataFileDownloadDirectory: its
// options as the original program spells them, their checks, --help and
// --version, the service verbs' extra options, and the exit statuses.
package options

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/sirupsen/logrus"
	"github.com/spf13/pflag"

	"github.com/openmsi/datafiledownloaddirectory/config"
	"github.com/openmsi/datafiledownloaddirectory/download"
	"github.com/openmsi/datafiledownloaddirectory/internal/about"
	"github.com/openmsi/datafiledownloaddirectory/logsetup"
)

// CreateNew is the group id (on the command line or in a config file) that
// asks for a fresh consumer group on every run.
const CreateNew = "create_new"

// Options is a parsed console-mode command line.
type Options struct {
	OutputDir string // as given; made absolute when the program starts
	Config    string
	Topic     string
	Threads   int
	// GroupID is the --consumer_group_id value; GroupIDSet tells whether it
	// was given, because a config file's group.id yields only to an
	// explicit option, not to the default.
	GroupID       string
	GroupIDSet    bool
	DownloadRegex string
	Regex         *regexp.Regexp // nil: every file
	// UpdateSeconds is the interval of the alive dots; <= 0 switches them off.
	UpdateSeconds int
	// ExpiryDays is how long an unfinished file waits for its next chunk;
	// 0 means forever.
	ExpiryDays  int
	StreamLevel logrus.Level
	FileLevel   logrus.Level
	LogFile     string // "" means the default in the state folder

	// Heartbeat and log topics ("" switches them off). A program id of ""
	// means the default, see ProgramID.
	HeartbeatTopic     string
	HeartbeatProgramID string
	HeartbeatSeconds   int
	LogTopic           string
	LogProgramID       string
	LogSeconds         int
	// KeyWaitSeconds is how long messages of an encrypted topic wait for
	// their key (per key index) before they go to ENCRYPTED_MESSAGES/.
	KeyWaitSeconds int
	// ServiceName is appended to the default program id when the program
	// runs as a service, so that two services on one host stay apart. The
	// service verbs set it; the console mode leaves it empty.
	ServiceName string
	// ServiceUser and DryRun are options of the install verb.
	ServiceUser string
	DryRun      bool

	Help    bool
	Version bool

	// given holds the options given on the command line, in their
	// canonical form, for the service definition; see ServiceArgs.
	given []givenOption
}

type givenOption struct{ name, value string }

// Mode says which command line is parsed: the console mode's, or a
// service verb's with its extra options.
type Mode int

const (
	ConsoleMode Mode = iota
	RunMode          // the run verb: console options + --service_name
	InstallMode      // install: + --service_user, --dry_run
)

// UsageError is a wrong command line: the program prints it with the usage
// and exits with status 2.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

func usageErrorf(format string, args ...any) error {
	return &UsageError{Msg: fmt.Sprintf(format, args...)}
}

// ParseArgs parses a console-mode command line (without the program name).
// Options may come before or after OUTPUT_DIR, with underscores as in the
// original program or dashes, and as unique prefixes as Python's argparse
// allows. With -h or --version the other arguments are not checked. Every
// error is a *UsageError.
func ParseArgs(args []string) (*Options, error) {
	return Parse(args, ConsoleMode)
}

// Parse parses the command line of mode, as ParseArgs does.
func Parse(args []string, mode Mode) (*Options, error) {
	o := &Options{}
	fs := pflag.NewFlagSet(about.Name, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	fs.SortFlags = false
	fs.SetInterspersed(true)

	var known []string // filled once every flag is defined; see normalizeName
	fs.SetNormalizeFunc(func(_ *pflag.FlagSet, name string) pflag.NormalizedName {
		return pflag.NormalizedName(normalizeName(name, known))
	})

	fs.StringVar(&o.Config, "config", "", "")
	fs.StringVar(&o.Topic, "topic_name", "", "")
	fs.Var(&intValue{p: &o.Threads, min: 1, minText: "a whole number of at least 1"}, "n_threads", "")
	o.Threads = 2
	fs.StringVar(&o.GroupID, "consumer_group_id", CreateNew, "")
	fs.StringVar(&o.DownloadRegex, "download_regex", "", "")
	fs.Var(&intValue{p: &o.UpdateSeconds}, "update_seconds", "")
	o.UpdateSeconds = 300
	fs.Var(&intValue{p: &o.ExpiryDays, min: 0, minText: "a whole number of days, 0 for never"}, "unfinished_expiry_days", "")
	o.ExpiryDays = 7
	fs.Var(&levelValue{p: &o.StreamLevel}, "logger_stream_level", "")
	o.StreamLevel = logrus.InfoLevel
	fs.Var(&levelValue{p: &o.FileLevel}, "logger_file_level", "")
	o.FileLevel = logrus.WarnLevel
	fs.StringVar(&o.LogFile, "logger_file_path", "", "")
	fs.StringVar(&o.HeartbeatTopic, "heartbeat_topic_name", "", "")
	fs.StringVar(&o.HeartbeatProgramID, "heartbeat_program_id", "", "")
	fs.Var(&intValue{p: &o.HeartbeatSeconds, min: 1, minText: "a whole number of seconds, at least 1"}, "heartbeat_interval_secs", "")
	o.HeartbeatSeconds = 900
	fs.StringVar(&o.LogTopic, "log_topic_name", "", "")
	fs.StringVar(&o.LogProgramID, "log_program_id", "", "")
	fs.Var(&intValue{p: &o.LogSeconds, min: 1, minText: "a whole number of seconds, at least 1"}, "log_interval_secs", "")
	o.LogSeconds = 60
	fs.Var(&intValue{p: &o.KeyWaitSeconds, min: 1, minText: "a whole number of seconds, at least 1"}, "max_initial_wait_per_decrypt", "")
	o.KeyWaitSeconds = 60
	if mode != ConsoleMode {
		fs.StringVar(&o.ServiceName, "service_name", DefaultServiceName, "")
	}
	if mode == InstallMode {
		fs.StringVar(&o.ServiceUser, "service_user", "", "")
		fs.BoolVar(&o.DryRun, "dry_run", false, "")
	}
	fs.BoolVarP(&o.Help, "help", "h", false, "")
	fs.BoolVar(&o.Version, "version", false, "")
	fs.VisitAll(func(f *pflag.Flag) { known = append(known, f.Name) })

	err := fs.Parse(args)
	// Someone asking for help should get it even when the rest of the line
	// is wrong; pflag stops at the first mistake, so look at all of it.
	for _, a := range args {
		if a == "--" {
			break
		}
		switch a {
		case "-h", "--help":
			o.Help = true
		case "--version":
			o.Version = true
		}
	}
	if o.Help || o.Version {
		return o, nil
	}
	if err != nil {
		return nil, &UsageError{Msg: err.Error()}
	}
	o.GroupIDSet = fs.Changed("consumer_group_id")
	fs.Visit(func(f *pflag.Flag) {
		o.given = append(o.given, givenOption{f.Name, f.Value.String()})
	})

	switch pos := fs.Args(); {
	case len(pos) == 0:
		return nil, usageErrorf("the output folder (OUTPUT_DIR) is required")
	case len(pos) > 1:
		return nil, usageErrorf("only one OUTPUT_DIR may be given, not %d: %s", len(pos), strings.Join(QuoteAll(pos), " "))
	case pos[0] == "":
		return nil, usageErrorf("OUTPUT_DIR must not be empty")
	default:
		o.OutputDir = pos[0]
	}
	// The original's defaults named a config file shipped inside its
	// package and a topic called "test"; neither can work here.
	switch {
	case !fs.Changed("config"):
		return nil, usageErrorf("--config FILE is required: the OpenMSIStream config file that says how to reach the broker (an example: %s)", exampleConfig())
	case o.Config == "":
		return nil, usageErrorf("--config must not be empty")
	case !fs.Changed("topic_name"):
		return nil, usageErrorf("--topic_name TOPIC is required: the Kafka topic the files are uploaded to")
	case o.GroupID == "":
		return nil, usageErrorf("--consumer_group_id must not be empty")
	}
	if err := checkTopic("--topic_name", o.Topic); err != nil {
		return nil, err
	}
	if mode != ConsoleMode {
		if err := CheckServiceName(o.ServiceName); err != nil {
			return nil, &UsageError{Msg: "--service_name: " + err.Error()}
		}
	}
	// Given empty, these topics stay off, as when they are not given.
	for _, opt := range []struct{ flag, topic string }{{"--heartbeat_topic_name", o.HeartbeatTopic}, {"--log_topic_name", o.LogTopic}} {
		if opt.topic == "" {
			continue
		}
		if err := checkTopic(opt.flag, opt.topic); err != nil {
			return nil, err
		}
	}
	if o.DownloadRegex != "" {
		if o.Regex, err = download.CompileRegex(o.DownloadRegex); err != nil {
			return nil, &UsageError{Msg: err.Error()}
		}
	}
	return o, nil
}

// aliases maps option names of the original program that this one spells
// differently (after dashes became underscores) to their flag.
var aliases = map[string]string{
	"consumer_topic_name": "topic_name",
}

// normalizeName turns what the user typed into a flag name: dashes become
// underscores, aliases map to their flag, and a unique prefix of a name
// stands for it, as in argparse. known is empty while the flags are being
// defined, so that their own names pass through.
func normalizeName(name string, known []string) string {
	name = strings.ReplaceAll(name, "-", "_")
	if a, ok := aliases[name]; ok {
		return a
	}
	if len(known) == 0 || name == "" {
		return name
	}
	var match string
	for _, k := range known {
		if k == name {
			return name
		}
	}
	candidates := append([]string(nil), known...)
	for a := range aliases {
		candidates = append(candidates, a)
	}
	for _, k := range candidates {
		if !strings.HasPrefix(k, name) {
			continue
		}
		if a, ok := aliases[k]; ok {
			k = a
		}
		if match != "" && match != k {
			return name // ambiguous: reported as unknown
		}
		match = k
	}
	if match == "" {
		return name
	}
	return match
}

// QuoteAll quotes each of s as Go would, for messages that show arguments.
func QuoteAll(s []string) []string {
	q := make([]string, len(s))
	for i, v := range s {
		q[i] = strconv.Quote(v)
	}
	return q
}

// checkTopic applies Kafka's rules for topic names, so that a typo is
// reported now and not by the broker after connecting.
func checkTopic(flag, t string) error {
	switch {
	case t == "":
		return usageErrorf("%s must not be empty", flag)
	case len(t) > 249:
		return usageErrorf("%s is %d characters long; Kafka allows at most 249", flag, len(t))
	case t == "." || t == "..":
		return usageErrorf("%s %q is not a valid Kafka topic name", flag, t)
	}
	for _, r := range t {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return usageErrorf("%s %q is not a valid Kafka topic name: it may hold only letters, digits, '.', '_' and '-'", flag, t)
		}
	}
	return nil
}

// intValue is an integer option with an optional lower bound and an error
// message that says what is expected instead of quoting strconv.
type intValue struct {
	p       *int
	min     int
	minText string // "" means no lower bound
}

func (v *intValue) String() string {
	if v.p == nil {
		return "0"
	}
	return strconv.Itoa(*v.p)
}

func (v *intValue) Set(s string) error {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		if v.minText != "" {
			return errors.New("must be " + v.minText)
		}
		return errors.New("must be a whole number")
	}
	if v.minText != "" && n < v.min {
		return errors.New("must be " + v.minText)
	}
	*v.p = n
	return nil
}

func (v *intValue) Type() string { return "int" }

// levelValue is a log level given as the original accepted it: a Python
// level name in any case or a Python level number.
type levelValue struct{ p *logrus.Level }

func (v *levelValue) String() string {
	if v.p == nil {
		return ""
	}
	return v.p.String()
}

func (v *levelValue) Set(s string) error {
	l, err := ParseLevel(s)
	if err != nil {
		return err
	}
	*v.p = l
	return nil
}

func (v *levelValue) Type() string { return "level" }

// ParseLevel reads a log level as Python's logging does: names (notset,
// debug, info, warning, error, critical, and warn, trace) in any case, or a
// number, which shows messages at that Python level and above. This program
// logs nothing above error, so critical means the same as error.
func ParseLevel(s string) (logrus.Level, error) {
	s = strings.TrimSpace(s)
	switch strings.ToLower(s) {
	case "notset", "trace":
		return logrus.TraceLevel, nil
	case "debug":
		return logrus.DebugLevel, nil
	case "info":
		return logrus.InfoLevel, nil
	case "warning", "warn":
		return logrus.WarnLevel, nil
	case "error", "critical", "fatal":
		return logrus.ErrorLevel, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, errors.New("must be debug, info, warning, error or critical, or a Python level number such as 10, 20, 30, 40 or 50")
	}
	switch {
	case n == 0:
		return logrus.TraceLevel, nil
	case n <= 10:
		return logrus.DebugLevel, nil
	case n <= 20:
		return logrus.InfoLevel, nil
	case n <= 30:
		return logrus.WarnLevel, nil
	default:
		return logrus.ErrorLevel, nil
	}
}

// Usage is the short reminder printed with a command-line error.
const Usage = "usage: " + about.Name + " OUTPUT_DIR --config FILE --topic_name TOPIC [options]\n"

// HelpText is the text of -h/--help.
func HelpText() string {
	return Usage + `
Rebuilds, in OUTPUT_DIR, the data files that OpenMSIStream uploads to a Kafka
topic as chunk messages, keeping the uploader's subfolders. A file appears
under its name only once it is complete and its SHA-512 hash matches.
It runs until you type "quit" (or "q"), press Ctrl+C, or it gets SIGTERM.

Arguments:
  OUTPUT_DIR                folder for the reconstructed files; created if
                            it does not exist. Options may come before or
                            after it.

Options (dashes work as well as underscores: --n-threads = --n_threads):
  --config FILE             config file with at least [broker] and [consumer]
                            sections. A name that is not an existing file is
                            looked up in ` + config.DefaultDir() + `
                            (set OPENMSISTREAM_CONFIG_FILE_DIR to change it),
                            with ".config" appended when the name has no dot.
                            (required; an example config after installing:
                            ` + exampleConfig() + `)
  --topic_name TOPIC        topic to read the file chunks from. Also spelled
                            --consumer_topic_name. (required)
  --n_threads N             number of consumers this program runs in the
                            group, each in its own thread; more than the
                            topic has partitions leaves some idle.
                            (default = 2)
  --consumer_group_id ID    Kafka consumer group id. The group remembers which
                            messages were read, so giving the same id again
                            resumes where the last run stopped, including
                            files half received. "create_new" makes a fresh
                            id for this run and logs it. When this option is
                            not given, the config file's group.id is used if
                            it has one. With a fixed id the consumers are
                            static members of the group, so that a restarted
                            program gets its partitions back at once;
                            group.instance.id = none in the config file's
                            [consumer] section turns that off.
                            (default = create_new)
  --download_regex REGEX    rebuild only the files whose relative path matches
                            REGEX; messages of other files are read and
                            skipped. The path uses forward slashes on every
                            system (sub/dir/file.dat) and the match works like
                            Python's re.match: anchored at the start only, so
                            add $ to anchor the end. The syntax is Go's
                            (RE2): no lookarounds or backreferences.
  --update_seconds N        seconds between the "." lines that show the
                            program is alive; -1 switches them off.
                            (default = 300)
  --unfinished_expiry_days N
                            days an unfinished file waits for its next chunk
                            before its partial data is removed (one log line
                            each); 0 keeps unfinished files forever.
                            (default = 7)
  --logger_stream_level L   least severe messages shown on the terminal
                            (stderr): debug, info, warning, error or critical
                            (critical is the same as error here), in any case,
                            or a Python level number: 10, 20, 30, 40, 50.
                            (default = info)
  --logger_file_level L     least severe messages written to the log file;
                            same values. (default = warning)
  --logger_file_path PATH   log file, rotated at ` + strconv.Itoa(logsetup.MaxSizeMB) + ` MB with ` + strconv.Itoa(logsetup.MaxBackups) + ` old files
                            kept; an existing folder means the file
                            ` + about.Name + `.log in it. (default =
                            OUTPUT_DIR/` + download.StateDirName + `/` + about.Name + `.log)
  --heartbeat_topic_name T  send a heartbeat message to topic T at start,
                            every --heartbeat_interval_secs and at shutdown:
                            the messages read and processed and their bytes
                            since the previous one, as OpenMSIStream does.
                            A [heartbeat] config section may give producer
                            settings, or another broker with its own
                            bootstrap.servers. (default = none)
  --heartbeat_program_id ID heartbeat messages have the key ID_heartbeat.
                            (default = this computer's host name)
  --heartbeat_interval_secs N
                            seconds between heartbeats. (default = 900)
  --log_topic_name T        send the lines this program logs to topic T at
                            start, every --log_interval_secs and at shutdown.
                            A [log] config section works as [heartbeat].
                            (default = none)
  --log_program_id ID       log messages have the key ID_log.
                            (default = this computer's host name)
  --log_interval_secs N     seconds between log messages. (default = 60)
  --max_initial_wait_per_decrypt N
                            encrypted topics ([kafkacrypto] in the config
                            file): seconds the messages of one key wait for
                            it before they are written to
                            OUTPUT_DIR/ENCRYPTED_MESSAGES/, from where they
                            are decrypted when the key comes. (default = 60)
  --version                 print the versions of this program, Go and
                            librdkafka
  -h, --help                print this help

While it runs, type (then Enter):
  check, c                  messages read and processed so far, files in
                            progress with their chunk counts, and the files
                            completed most recently
  quit, q                   stop cleanly: offsets of everything on disk are
                            committed and the consumers leave the group

Offsets are committed by this program, only for data already on disk, so
enable.auto.commit in the config file is overridden. Half-received files are
kept in OUTPUT_DIR/` + download.StateDirName + `/ and finished after a restart with
the same --consumer_group_id.

Exit status: 0 after a clean stop, 2 for a command-line or config file error,
1 for any other failure.

` + VerbHelp + `
  An output folder named like a verb must be given as ./install.
`
}

// exampleConfig is where the packages install the example config file.
func exampleConfig() string { return filepath.Join(config.DefaultDir(), "example.config") }
