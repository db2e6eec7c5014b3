package options

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"
)

// withRequired puts the required --config and --topic_name in front of
// args unless args give them, so that each case shows only what it is
// about.
func withRequired(args []string) []string {
	given := func(prefixes ...string) bool {
		return slices.ContainsFunc(args, func(a string) bool {
			return slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(a, p) })
		})
	}
	if !given("--topic", "--consumer_t", "--consumer-t") {
		args = append([]string{"--topic_name", "base_topic"}, args...)
	}
	if !given("--conf") {
		args = append([]string{"--config", "base.config"}, args...)
	}
	return args
}

func TestParseArgsDefaults(t *testing.T) {
	t.Parallel()
	o, err := ParseArgs([]string{"out", "--config", "c", "--topic_name", "t"})
	if err != nil {
		t.Fatal(err)
	}
	o.given = nil
	want := Options{
		OutputDir:     "out",
		Config:        "c",
		Topic:         "t",
		Threads:       2,
		GroupID:       "create_new",
		UpdateSeconds: 300,
		ExpiryDays:    7, // unfinished files wait a week for their next chunk
		StreamLevel:   logrus.InfoLevel,
		FileLevel:     logrus.WarnLevel,
		// Off unless their topics are given; the original's intervals.
		HeartbeatSeconds: 900,
		LogSeconds:       60,
		KeyWaitSeconds:   60,
	}
	if !reflect.DeepEqual(*o, want) {
		t.Errorf("got  %+v\nwant %+v", *o, want)
	}
}

func TestParseArgs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		args  []string
		check func(*Options) bool
	}{
		{"positional first", []string{"out", "--config", "c.config", "--topic_name", "t"},
			func(o *Options) bool { return o.OutputDir == "out" && o.Config == "c.config" && o.Topic == "t" }},
		{"positional last", []string{"--config", "c.config", "--topic_name", "t", "out"},
			func(o *Options) bool { return o.OutputDir == "out" && o.Config == "c.config" && o.Topic == "t" }},
		{"positional between", []string{"--config", "c", "out", "--n_threads", "5"},
			func(o *Options) bool { return o.OutputDir == "out" && o.Config == "c" && o.Threads == 5 }},
		{"equals form", []string{"--n_threads=3", "--topic_name=x", "out"},
			func(o *Options) bool { return o.Threads == 3 && o.Topic == "x" }},
		{"dashes", []string{"out", "--n-threads", "4", "--consumer-group-id", "g", "--download-regex", "a/", "--update-seconds", "7",
			"--logger-stream-level", "debug", "--logger-file-level", "error", "--logger-file-path", "l.log", "--topic-name", "tt"},
			func(o *Options) bool {
				return o.Threads == 4 && o.GroupID == "g" && o.GroupIDSet && o.DownloadRegex == "a/" && o.Regex != nil &&
					o.UpdateSeconds == 7 && o.StreamLevel == logrus.DebugLevel && o.FileLevel == logrus.ErrorLevel &&
					o.LogFile == "l.log" && o.Topic == "tt"
			}},
		{"mixed spelling", []string{"out", "--n_threads", "1", "--logger-file_level", "info"},
			func(o *Options) bool { return o.Threads == 1 && o.FileLevel == logrus.InfoLevel }},
		{"consumer_topic_name alias", []string{"out", "--consumer_topic_name", "ct"},
			func(o *Options) bool { return o.Topic == "ct" }},
		{"consumer-topic-name alias", []string{"out", "--consumer-topic-name", "ct"},
			func(o *Options) bool { return o.Topic == "ct" }},
		{"argparse prefix", []string{"out", "--topic", "p", "--n_thr", "6", "--conf", "x.config"},
			func(o *Options) bool { return o.Topic == "p" && o.Threads == 6 && o.Config == "x.config" }},
		{"alias prefix", []string{"out", "--consumer_t", "p"},
			func(o *Options) bool { return o.Topic == "p" }},
		{"group id not given", []string{"out"},
			func(o *Options) bool { return !o.GroupIDSet && o.GroupID == "create_new" }},
		{"group id given as default value", []string{"out", "--consumer_group_id", "create_new"},
			func(o *Options) bool { return o.GroupIDSet }},
		{"dots off", []string{"out", "--update_seconds", "-1"},
			func(o *Options) bool { return o.UpdateSeconds == -1 }},
		{"unfinished files kept forever", []string{"out", "--unfinished-expiry-days", "0"},
			func(o *Options) bool { return o.ExpiryDays == 0 }},
		{"level names any case", []string{"out", "--logger_stream_level", "WARNING", "--logger_file_level", "Critical"},
			func(o *Options) bool { return o.StreamLevel == logrus.WarnLevel && o.FileLevel == logrus.ErrorLevel }},
		{"level numbers", []string{"out", "--logger_stream_level", "10", "--logger_file_level", "40"},
			func(o *Options) bool { return o.StreamLevel == logrus.DebugLevel && o.FileLevel == logrus.ErrorLevel }},
		{"regex anchored at start only", []string{"out", "--download_regex", `sub/.*\.dat`},
			func(o *Options) bool {
				return o.Regex.MatchString("sub/a.dat") && o.Regex.MatchString("sub/a.dat.bak") && !o.Regex.MatchString("x/sub/a.dat")
			}},
		{"empty regex keeps all", []string{"out", "--download_regex", ""},
			func(o *Options) bool { return o.Regex == nil }},
		{"double dash ends options", []string{"--topic_name", "t", "--", "--weird-folder"},
			func(o *Options) bool { return o.OutputDir == "--weird-folder" }},
		{"telemetry", []string{"out", "--heartbeat_topic_name", "hb", "--heartbeat_program_id", "pc1", "--heartbeat_interval_secs", "5",
			"--log_topic_name", "lg", "--log_program_id", "pc2", "--log_interval_secs", "7"},
			func(o *Options) bool {
				return o.HeartbeatTopic == "hb" && o.HeartbeatProgramID == "pc1" && o.HeartbeatSeconds == 5 &&
					o.LogTopic == "lg" && o.LogProgramID == "pc2" && o.LogSeconds == 7
			}},
		{"telemetry dashes", []string{"out", "--heartbeat-topic-name", "hb", "--heartbeat-interval-secs", "1", "--log-topic-name", "lg", "--log-interval_secs", "2"},
			func(o *Options) bool {
				return o.HeartbeatTopic == "hb" && o.HeartbeatSeconds == 1 && o.LogTopic == "lg" && o.LogSeconds == 2
			}},
		{"help wins", []string{"--help", "--n_threads", "x"},
			func(o *Options) bool { return o.Help }},
		{"help short", []string{"-h"},
			func(o *Options) bool { return o.Help }},
		{"version without output folder", []string{"--version"},
			func(o *Options) bool { return o.Version }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := withRequired(tt.args)
			o, err := ParseArgs(args)
			if err != nil {
				t.Fatalf("ParseArgs(%q): %v", args, err)
			}
			if !tt.check(o) {
				t.Errorf("ParseArgs(%q) = %+v", args, *o)
			}
		})
	}
}

func TestParseArgsErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want string // part of the message
	}{
		{"no output folder", []string{"--config", "x"}, "OUTPUT_DIR"},
		{"nothing at all", nil, "OUTPUT_DIR"},
		{"two output folders", []string{"a", "b"}, `"a" "b"`},
		{"empty output folder", []string{""}, "OUTPUT_DIR"},
		{"unknown option", []string{"out", "--threads", "2"}, "--threads"},
		{"ambiguous prefix", []string{"out", "--con", "x"}, "--con"},
		{"unknown short option", []string{"out", "-x"}, "-x"},
		{"single dash long option", []string{"out", "-config", "x"}, "-config"},
		{"missing value", []string{"out", "--config"}, "--config"},
		{"threads zero", []string{"out", "--n_threads", "0"}, "at least 1"},
		{"threads negative", []string{"out", "--n_threads", "-2"}, "at least 1"},
		{"threads word", []string{"out", "--n_threads", "two"}, "at least 1"},
		{"threads float", []string{"out", "--n_threads", "2.5"}, "at least 1"},
		{"threads empty", []string{"out", "--n_threads="}, "at least 1"},
		{"update seconds word", []string{"out", "--update_seconds", "often"}, "whole number"},
		{"expiry negative", []string{"out", "--unfinished_expiry_days", "-1"}, "0 for never"},
		{"update seconds float", []string{"out", "--update_seconds", "0.5"}, "whole number"},
		{"stream level name", []string{"out", "--logger_stream_level", "verbose"}, "debug, info, warning"},
		{"file level negative", []string{"out", "--logger_file_level", "-10"}, "debug, info, warning"},
		{"empty config", []string{"out", "--config", ""}, "--config"},
		{"config not given", []string{"out", "--topic_name", "t"}, "--config FILE is required"},
		{"topic not given", []string{"out", "--config", "c"}, "--topic_name TOPIC is required"},
		{"empty topic", []string{"out", "--topic_name", ""}, "--topic_name"},
		{"bad topic", []string{"out", "--topic_name", "my topic"}, "not a valid Kafka topic"},
		{"topic dot", []string{"out", "--topic_name", "."}, "not a valid Kafka topic"},
		{"topic too long", []string{"out", "--topic_name", strings.Repeat("t", 250)}, "249"},
		{"empty group", []string{"out", "--consumer_group_id", ""}, "--consumer_group_id"},
		{"bad regex", []string{"out", "--download_regex", "a("}, "--download_regex"},
		{"unsupported regex", []string{"out", "--download_regex", "(?!x)"}, "--download_regex"},
		{"bool with value", []string{"out", "--version=maybe"}, "--version"},
		{"heartbeat interval zero", []string{"out", "--heartbeat_interval_secs", "0"}, "at least 1"},
		{"heartbeat interval negative", []string{"out", "--heartbeat_interval_secs", "-5"}, "at least 1"},
		{"log interval word", []string{"out", "--log_interval_secs", "often"}, "at least 1"},
		{"bad heartbeat topic", []string{"out", "--heartbeat_topic_name", "a b"}, "--heartbeat_topic_name"},
		{"bad log topic", []string{"out", "--log_topic_name", ".."}, "--log_topic_name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := tt.args
			if !strings.HasSuffix(tt.name, "not given") {
				args = withRequired(args)
			}
			o, err := ParseArgs(args)
			var ue *UsageError
			if !errors.As(err, &ue) {
				t.Fatalf("ParseArgs(%q) = %+v, %v; want a *UsageError", args, o, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q is not one line", err)
			}
		})
	}
}

func TestParseLevel(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want logrus.Level
		ok   bool
	}{
		{"debug", logrus.DebugLevel, true},
		{"DEBUG", logrus.DebugLevel, true},
		{" info ", logrus.InfoLevel, true},
		{"Warning", logrus.WarnLevel, true},
		{"warn", logrus.WarnLevel, true},
		{"error", logrus.ErrorLevel, true},
		{"critical", logrus.ErrorLevel, true},
		{"CRITICAL", logrus.ErrorLevel, true},
		{"notset", logrus.TraceLevel, true},
		{"trace", logrus.TraceLevel, true},
		{"0", logrus.TraceLevel, true},
		{"5", logrus.DebugLevel, true},
		{"10", logrus.DebugLevel, true},
		{"15", logrus.InfoLevel, true},
		{"20", logrus.InfoLevel, true},
		{"30", logrus.WarnLevel, true},
		{"40", logrus.ErrorLevel, true},
		{"50", logrus.ErrorLevel, true},
		{"100", logrus.ErrorLevel, true},
		{"-1", 0, false},
		{"", 0, false},
		{"loud", 0, false},
		{"20.0", 0, false},
	}
	for _, tt := range tests {
		got, err := ParseLevel(tt.in)
		if (err == nil) != tt.ok || (tt.ok && got != tt.want) {
			t.Errorf("ParseLevel(%q) = %v, %v; want %v, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestNormalizeName(t *testing.T) {
	t.Parallel()
	known := []string{"config", "topic_name", "consumer_group_id", "n_threads", "help", "version"}
	tests := []struct{ in, want string }{
		{"config", "config"},
		{"n-threads", "n_threads"},
		{"consumer-topic-name", "topic_name"},
		{"consumer_t", "topic_name"},
		{"consumer_g", "consumer_group_id"},
		{"consumer", "consumer"}, // ambiguous
		{"co", "co"},             // ambiguous
		{"v", "version"},
		{"nope", "nope"},
	}
	for _, tt := range tests {
		if got := normalizeName(tt.in, known); got != tt.want {
			t.Errorf("normalizeName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
