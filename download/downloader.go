package download

import (
	"context"
	"regexp"
	"time"

	"github.com/sirupsen/logrus"
)

// Config is everything one download needs. The command line and the config
// file are turned into it by the caller.
type Config struct {
	OutputDir string
	Topic     string
	// Consumers is how many consumers of the group this process runs.
	Consumers int
	// GroupID is the real consumer group id (never "create_new").
	GroupID string
	// Kafka holds librdkafka settings from the config file's [broker] and
	// [consumer] sections; the downloader adds and overrides what it must.
	Kafka map[string]string
	// Regex selects files by their forward-slash relative path; nil keeps all.
	Regex *regexp.Regexp
	// CommitInterval is how often consumers make their progress durable and
	// commit offsets; 0 means the default.
	CommitInterval time.Duration
}

// Downloader rebuilds files from one topic into one folder.
type Downloader struct {
	cfg Config
	log *logrus.Entry
}

// New checks the configuration, opens the output folder and recovers the
// in-progress state a previous run left behind. It does not contact Kafka.
func New(cfg Config, log *logrus.Entry) (*Downloader, error) {
	panic("TODO")
}

// Run consumes until ctx is cancelled, then commits what is durable, leaves
// the group and returns. A nil error means a clean stop.
func (d *Downloader) Run(ctx context.Context) error {
	panic("TODO")
}

// Status returns a snapshot of the progress so far.
func (d *Downloader) Status() Status {
	panic("TODO")
}

// CompileRegex compiles a --download_regex with Python re.match semantics:
// anchored at the start of the relative path only.
func CompileRegex(expr string) (*regexp.Regexp, error) {
	panic("TODO")
}
