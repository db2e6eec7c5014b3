package download

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/sirupsen/logrus"

	"github.com/openmsi/datafiledownloaddirectory/download/storage"
	"github.com/openmsi/datafiledownloaddirectory/internal/ratelimit"
	"github.com/openmsi/datafiledownloaddirectory/kafkacrypto"
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
	// StaticMembership gives each consumer a group.instance.id derived from
	// the host, the group and its number (unless the Kafka settings'
	// group.instance.id is "none"), so that a restarted program gets its
	// partitions back at once instead of after the session timeout. For
	// groups that outlive a run; see membership.go.
	StaticMembership bool
	// ExpireAfter is how long an unfinished file waits for its next chunk
	// before its partial data is removed (0: storage.DefaultExpiry;
	// negative: forever).
	ExpireAfter time.Duration
	// DescribeGroup lists the group's members for the check that no other
	// program shares the group (membership.go). nil means DescribeGroup in
	// this process; a program should run it in a child process instead,
	// see DescribeGroup.
	DescribeGroup GroupDescriber
	// Crypto, when set, decrypts KafkaCrypto-encrypted messages
	// (encrypted.go).
	Crypto *CryptoConfig

	// wrapFS lets this package's tests put disk trouble under the storage
	// engine (storage.Faults).
	wrapFS func(storage.FS) storage.FS
}

// Downloader rebuilds files from one topic into one folder.
type Downloader struct {
	// outage tracks broker outages for reporting (outage.go).
	outage outage

	cfg    Config
	log    *logrus.Entry
	root   *os.Root
	rootFS storage.RootFS // keeps a folder of root open: closed with it
	store  *storage.Engine
	stats  counters
	start  time.Time
	// limiter keeps repeated client errors from flooding the log.
	limiter *ratelimit.Limiter
	members *membership
	// fatalSeen: a consumer had a fatal error; clientLeft: a client could
	// not be closed after it (supervisor.go).
	fatalSeen, clientLeft atomic.Bool
	// sessionLost, per consumer: librdkafka said its group session expired,
	// and it has not been assigned partitions since (supervisor.go).
	sessionLost []atomic.Bool
	// credentialsFailed: the broker refused our credentials or TLS
	// failed (auth.go).
	credentialsFailed atomic.Bool

	// crypto decrypts messages of encrypted topics; nil for plain ones.
	crypto *decrypter
	// keyClient is the key exchange crypto uses (nil in tests that give
	// their own key source).
	keyClient *kafkacrypto.Client
	// runCtx ends when Run stops; messages waiting for a key give up.
	runCtx context.Context
}

// New checks the configuration and opens the output folder and its state
// folder. It neither contacts Kafka nor resumes unfinished files: Run does,
// so that a service reports that it runs first.
func New(cfg Config, log *logrus.Entry) (*Downloader, error) {
	switch {
	case cfg.OutputDir == "":
		return nil, errors.New("no output folder given")
	case cfg.Topic == "":
		return nil, errors.New("no topic given")
	case cfg.GroupID == "":
		return nil, errors.New("no consumer group id given")
	case cfg.Consumers < 1:
		return nil, fmt.Errorf("need at least one consumer, not %d", cfg.Consumers)
	}
	tuneMalloc()
	if err := os.MkdirAll(cfg.OutputDir, 0o755); err != nil {
		return nil, fmt.Errorf("create output folder: %w", err)
	}
	root, err := os.OpenRoot(cfg.OutputDir)
	if err != nil {
		return nil, fmt.Errorf("open output folder: %w", err)
	}
	d := &Downloader{cfg: cfg, log: log, root: root, start: time.Now(), limiter: &ratelimit.Limiter{Every: errorRepeatInterval}}
	d.members = newMembership(cfg, log)
	d.sessionLost = make([]atomic.Bool, cfg.Consumers)
	d.rootFS = storage.NewRootFS(root)
	var fsys storage.FS = d.rootFS
	if cfg.wrapFS != nil {
		fsys = cfg.wrapFS(fsys)
	}
	d.store, err = storage.Open(fsys, storage.Options{
		Log: log, Windows: onWindows, ExpireAfter: cfg.ExpireAfter,
	})
	if err != nil {
		d.closeRoot()
		return nil, fmt.Errorf("in %s: %w", cfg.OutputDir, err)
	}
	if cfg.Crypto != nil {
		if d.keyClient, err = kafkacrypto.NewClient(cfg.Crypto.Node, cfg.Topic, cfg.Crypto.Kafka, log); err != nil {
			d.store.Close()
			d.closeRoot()
			return nil, err
		}
		d.useKeys(d.keyClient, cfg.Crypto.KeyWait)
	}
	return d, nil
}

// closeRoot closes the output folder, after the engine that used it.
func (d *Downloader) closeRoot() {
	d.rootFS.Close()
	d.root.Close()
}

// Run consumes until ctx is cancelled, then commits what is durable, leaves
// the group and returns. A nil error means a clean stop. Run may be called
// only once.
func (d *Downloader) Run(ctx context.Context) error {
	defer d.closeRoot()
	defer d.store.Close()
	if err := d.store.Recover(); err != nil {
		return fmt.Errorf("resume the files in progress in %s: %w; %s", d.cfg.OutputDir, err, storage.Hint(err))
	}
	d.store.StartRetries()

	logs := make(chan kafka.LogEvent, 1000)
	logsDone := make(chan struct{})
	go func() {
		defer close(logsDone)
		d.forwardLogs(logs)
	}()
	defer func() {
		if d.clientLeft.Load() {
			return // it may still log
		}
		close(logs)
		<-logsDone
	}()

	consumers := make([]*consumer, 0, d.cfg.Consumers)
	for i := range d.cfg.Consumers {
		c, err := newConsumer(d, i, logs)
		if err != nil {
			for _, c := range consumers {
				c.kc.Close()
			}
			return err
		}
		consumers = append(consumers, c)
	}

	// One consumer failing for good stops the others, so that a service
	// manager restarts the whole program.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	d.runCtx = ctx
	var cryptoDone sync.WaitGroup
	if d.crypto != nil {
		// The key exchange and the recovery of saved messages end with
		// the consumers; Run waits for them.
		defer cryptoDone.Wait()
		defer cancel()
		kick := make(chan struct{}, 1)
		if d.keyClient != nil {
			d.keyClient.OnKeys = func([]kafkacrypto.KeyIndex) {
				select {
				case kick <- struct{}{}:
				default:
				}
			}
			cryptoDone.Go(func() { d.keyClient.Run(ctx) })
		}
		cryptoDone.Go(func() { d.runRecovery(ctx, d.crypto.keys, kick) })
	}
	errs := make([]error, len(consumers))
	var wg sync.WaitGroup
	// The membership watcher ends with the consumers: a description in
	// flight takes at most its own timeout.
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		d.members.watch(ctx)
	}()
	for i, c := range consumers {
		wg.Go(func() {
			if errs[i] = d.runConsumer(ctx, c, logs); errs[i] != nil {
				cancel()
			}
		})
	}
	wg.Wait()
	cancel()
	<-watchDone
	// Complete files are put in place before the program stops, not at its
	// next start.
	d.store.WaitVerified()
	if err := d.store.Barrier(); err != nil && !storage.IsDurability(err) {
		d.log.Errorf("at shutdown: %v", err)
	}
	return errors.Join(errs...)
}

// Status returns a snapshot of the progress so far.
func (d *Downloader) Status() Status {
	files, waiting, recent := d.store.Status()
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	sort.Slice(waiting, func(i, j int) bool { return waiting[i].Path < waiting[j].Path })
	st := d.store.Stats()
	// A chunk found bad only when its file hash failed came in a message
	// counted as processed then: it was invalid, as checking it at once
	// would have said.
	corrupt, corruptBytes := st.ChunksCorrupt.Load(), st.BytesCorrupt.Load()
	// The message that completed a file found not to match its hash
	// after it was handled is not processed either, as when that is
	// found at once.
	lateMismatch, lateMismatchBytes := st.LateMismatchChunks.Load(), st.LateMismatchBytes.Load()
	return Status{
		Start:                 d.start,
		MessagesRead:          d.stats.messagesRead.Load(),
		MessagesProcessed:     d.stats.messagesProcessed.Load() - corrupt - lateMismatch,
		MessagesSkipped:       d.stats.messagesSkipped.Load(),
		MessagesInvalid:       d.stats.messagesInvalid.Load() + corrupt,
		BytesRead:             d.stats.bytesRead.Load(),
		BytesProcessed:        d.stats.bytesProcessed.Load() - corruptBytes - lateMismatchBytes,
		Encrypted:             d.crypto != nil,
		MessagesDecrypted:     d.stats.messagesDecrypted.Load(),
		MessagesUndecryptable: d.stats.messagesUndecryptable.Load(),
		MessagesRecovered:     d.stats.messagesRecovered.Load(),
		FilesCompleted:        st.FilesCompleted.Load(),
		FilesHashMismatch:     st.FilesMismatched.Load(),
		FilesRejected:         st.FilesRejected.Load(),
		VersionsDropped:       st.VersionsDropped.Load(),
		FilesExpired:          st.FilesExpired.Load(),
		InProgress:            files,
		WaitingToPublish:      waiting,
		RecentlyCompleted:     recent,
	}
}
