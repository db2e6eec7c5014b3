// Package telemetry sends OpenMSIStream's optional heartbeat and log
// messages to Kafka topics, in the original's format, so that dashboards
// that watch many unattended downloaders keep working. It knows nothing of
// consoles or services: Run sends until its context is cancelled, then sends
// the last messages and waits a bounded time for their delivery.
//
// Nothing here may slow or stop the download: messages are produced
// asynchronously into a small bounded queue, a message that does not fit is
// dropped, and delivery failures are logged at most once per interval.
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/sirupsen/logrus"

	"github.com/openmsi/datafiledownloaddirectory/config"
	"github.com/openmsi/datafiledownloaddirectory/download"
	"github.com/openmsi/datafiledownloaddirectory/internal/plural"
	"github.com/openmsi/datafiledownloaddirectory/internal/ratelimit"
)

// DefaultFlushTimeout bounds the wait for the last messages at shutdown: a
// broker that is down must not hold up the program's exit.
const DefaultFlushTimeout = 5 * time.Second

// Destination is one optional topic.
type Destination struct {
	Topic     string
	ProgramID string        // the key is ProgramID + "_heartbeat" or "_log"
	Interval  time.Duration // between messages; the first goes out at start
	// Kafka is the producer's librdkafka settings, see ProducerSettings.
	Kafka map[string]string
}

// Config says what to send where.
type Config struct {
	Heartbeat *Destination // nil: no heartbeats
	Log       *Destination // nil: no log messages
	// Status gives the downloader's cumulative counters.
	Status func() download.Status
	// Logs collects the log lines; it must be installed on the logger and
	// is needed only with Log.
	Logs *LogBuffer
	// FlushTimeout bounds the wait for the last messages; 0 means
	// DefaultFlushTimeout.
	FlushTimeout time.Duration
}

// openMSIStreamKeys are settings of [heartbeat] and [log] sections that
// OpenMSIStream reads itself and librdkafka would reject.
var openMSIStreamKeys = []string{
	"key.serializer", "value.serializer", "key.deserializer", "value.deserializer", "node_id",
	"prefer.separate.producer", "max.logs.per.message", "log.level",
}

// ProducerSettings returns the librdkafka settings of a [heartbeat] or [log]
// section: a section with its own bootstrap.servers names another broker and
// is used alone, with its own authentication settings; otherwise it is
// merged over [broker]. OpenMSIStream's own keys are removed.
func ProducerSettings(section, broker map[string]string) map[string]string {
	out := map[string]string{}
	if strings.TrimSpace(section["bootstrap.servers"]) == "" && strings.TrimSpace(section["metadata.broker.list"]) == "" {
		maps.Copy(out, broker)
	}
	maps.Copy(out, section)
	for _, k := range openMSIStreamKeys {
		delete(out, k)
	}
	return out
}

// Telemetry sends heartbeats and log messages. Make it with New and call
// Run once.
type Telemetry struct {
	cfg   Config
	log   *logrus.Entry
	sends []*sender
}

// New checks the settings by creating the producers; it does not wait for a
// connection. Its errors name the destination and never hold a secret.
func New(cfg Config, log *logrus.Entry) (*Telemetry, error) {
	if cfg.FlushTimeout <= 0 {
		cfg.FlushTimeout = DefaultFlushTimeout
	}
	t := &Telemetry{cfg: cfg, log: log}
	if d := cfg.Heartbeat; d != nil {
		if cfg.Status == nil {
			return nil, errors.New("heartbeats need the downloader's status")
		}
		s, err := newSender("heartbeat", d, log)
		if err != nil {
			return nil, err
		}
		var last Counts
		s.next = func(now time.Time) ([]byte, any) {
			cur := CountsOf(cfg.Status())
			delta := cur.Sub(last)
			last = cur
			return HeartbeatValue(now, delta), nil
		}
		t.sends = append(t.sends, s)
	}
	if d := cfg.Log; d != nil {
		if cfg.Logs == nil {
			t.Close()
			return nil, errors.New("log messages need a log buffer")
		}
		s, err := newSender("log", d, log)
		if err != nil {
			t.Close()
			return nil, err
		}
		s.next = func(now time.Time) ([]byte, any) {
			lines, dropped := cfg.Logs.Take()
			batch := &logBatch{lines: lines, dropped: dropped}
			if dropped > 0 {
				lines = append([]string{droppedLine(dropped)}, lines...)
			}
			return LogValue(now, lines), batch
		}
		s.failed = func(opaque any) {
			if b, ok := opaque.(*logBatch); ok {
				cfg.Logs.putBack(b.lines, b.dropped)
			}
		}
		t.sends = append(t.sends, s)
	}
	return t, nil
}

// logBatch travels with a log message, so that the lines of a message that
// was not delivered go back into the buffer.
type logBatch struct {
	lines   []string
	dropped int
}

// Run sends a first message to each topic at once, then one every interval
// until ctx is cancelled, then the last ones; it returns when they are
// delivered or the flush timeout has passed, with the producers closed.
func (t *Telemetry) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, s := range t.sends {
		wg.Go(func() { s.loop(ctx) })
	}
	wg.Wait()
	deadline := time.Now().Add(t.cfg.FlushTimeout)
	for _, s := range t.sends {
		s.flush(deadline)
	}
	t.Close()
}

// Close closes the producers without sending anything more. Run calls it;
// call it only when Run is never called.
func (t *Telemetry) Close() {
	for _, s := range t.sends {
		s.close()
	}
}

// sender is one destination's producer and timer.
type sender struct {
	what   string // "heartbeat" or "log"
	dest   Destination
	key    []byte
	log    *logrus.Entry
	p      *kafka.Producer
	secret map[string]string // for hiding secrets in librdkafka's messages

	next   func(now time.Time) (value []byte, opaque any)
	failed func(opaque any) // nil: nothing to do when a message is lost

	events, logs chan struct{} // closed when their drains end
	logCh        chan kafka.LogEvent
	closeOnce    sync.Once
	// failures limits the reports of lost messages to one per interval;
	// noise limits librdkafka's own complaints, which it repeats every few
	// seconds while a broker is down, to one per noiseInterval.
	failures, noise ratelimit.Limiter
}

// noiseInterval is the least time between two reports of the same client
// trouble, as for the download's own consumers.
const noiseInterval = time.Minute

// queueMessages bounds librdkafka's queue: a broker that is down for days
// must not make the program grow. A few intervals' worth is plenty.
const queueMessages = "100"

func newSender(what string, d *Destination, log *logrus.Entry) (*sender, error) {
	s := &sender{what: what, dest: *d, key: []byte(d.ProgramID + "_" + what), secret: d.Kafka,
		log: log.WithField("topic", d.Topic), logCh: make(chan kafka.LogEvent, 100),
		events: make(chan struct{}), logs: make(chan struct{})}
	s.failures.Every = d.Interval
	s.noise.Every = max(d.Interval, noiseInterval)
	cm := kafka.ConfigMap{
		"queue.buffering.max.messages": queueMessages,
		// A heartbeat that is a minute late is still worth sending; one
		// that is older only blocks the queue.
		"message.timeout.ms": "60000",
		"linger.ms":          "100",
		"metadata.recovery.rebootstrap.trigger.ms": download.RebootstrapTriggerMS,
	}
	for k, v := range d.Kafka {
		if strings.HasPrefix(k, "go.") {
			return nil, fmt.Errorf("[%s] producer setting %s: settings starting with \"go.\" belong to the Go Kafka client that this program configures itself; remove it from the config file", what, k)
		}
		cm[k] = v
	}
	cm["go.logs.channel.enable"] = true
	cm["go.logs.channel"] = s.logCh
	// Delivery reports and errors are read by a goroutine that never
	// blocks for long; the channel only smooths bursts.
	cm["go.events.channel.size"] = 1000
	if _, ok := d.Kafka["client.id"]; !ok {
		cm["client.id"] = "DataFileDownloadDirectory-" + what
	}
	p, err := kafka.NewProducer(&cm)
	if err != nil {
		return nil, fmt.Errorf("cannot create the producer of the %s topic %s: %s", what, d.Topic, redact(err.Error(), d.Kafka))
	}
	s.p = p
	go s.drainLogs()
	go s.drainEvents()
	return s, nil
}

func (s *sender) loop(ctx context.Context) {
	s.send()
	tick := time.NewTicker(s.dest.Interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			s.send()
			return
		case <-tick.C:
			s.send()
		}
	}
}

// send produces one message without waiting for anything: a full queue
// means the broker has been unreachable for a while, and the message is
// dropped (and, for logs, its lines kept for the next one).
func (s *sender) send() {
	value, opaque := s.next(time.Now())
	topic := s.dest.Topic
	err := s.p.Produce(&kafka.Message{
		TopicPartition: kafka.TopicPartition{Topic: &topic, Partition: kafka.PartitionAny},
		Key:            s.key,
		Value:          value,
		Opaque:         opaque,
	}, nil)
	if err != nil {
		s.lost(opaque, err)
	}
}

func (s *sender) lost(opaque any, err error) {
	if s.failed != nil {
		s.failed(opaque)
	}
	var kerr kafka.Error
	if errors.As(err, &kerr) && (kerr.Code() == kafka.ErrPurgeQueue || kerr.Code() == kafka.ErrPurgeInflight) {
		return // given up at shutdown, which flush has reported
	}
	if n, ok := s.failures.Allow("delivery"); ok {
		more := ""
		if n > 0 {
			more = fmt.Sprintf(" (%d more since the last report)", n)
		}
		s.log.Warnf("could not send a %s message to the %s topic: %s%s; the download goes on, and this is reported at most every %v",
			s.what, s.dest.Topic, redact(err.Error(), s.secret), more, s.dest.Interval)
	}
}

func (s *sender) drainEvents() {
	defer close(s.events)
	for ev := range s.p.Events() {
		switch e := ev.(type) {
		case *kafka.Message:
			if e.TopicPartition.Error != nil {
				s.lost(e.Opaque, e.TopicPartition.Error)
			}
		case kafka.Error:
			// Connection trouble is repeated by librdkafka every few
			// seconds; the failed deliveries say what matters.
			if _, ok := s.noise.Allow("client " + e.Code().String()); ok {
				s.log.Warnf("%s topic's producer: %s", s.what, redact(e.Error(), s.secret))
			}
		}
	}
}

// drainLogs routes librdkafka's log lines to the log file at debug level,
// never to the terminal or raw stderr: the delivery failures and error
// events say what matters in the program's words. Its warnings about the
// settings (CONFWARN) are shown, rate-limited.
func (s *sender) drainLogs() {
	defer close(s.logs)
	for ev := range s.logCh {
		msg := redact(ev.Message, s.secret)
		entry := s.log.WithFields(logrus.Fields{"client": ev.Name, "tag": ev.Tag})
		if ev.Tag == "CONFWARN" && ev.Level <= 4 {
			if _, ok := s.noise.Allow("librdkafka " + ev.Tag); ok {
				entry.Warn("librdkafka: " + msg)
				continue
			}
		}
		entry.Debug("librdkafka: " + msg)
	}
}

func (s *sender) flush(deadline time.Time) {
	if left := time.Until(deadline); left > 0 {
		if n := s.p.Flush(int(left.Milliseconds())); n > 0 {
			s.log.Warnf("%s to the %s topic not delivered at shutdown", plural.Count(n, s.what+" message", s.what+" messages"), s.dest.Topic)
		}
	}
}

func (s *sender) close() {
	s.closeOnce.Do(func() {
		// Whatever is still queued is given up: Close would otherwise
		// wait for it.
		_ = s.p.Purge(kafka.PurgeQueue | kafka.PurgeInFlight | kafka.PurgeNonBlocking)
		s.p.Close() // closes Events(), ending drainEvents
		<-s.events
		close(s.logCh)
		<-s.logs
	})
}

// redact hides the secret values of settings in text: librdkafka's messages
// may quote them.
func redact(text string, settings map[string]string) string {
	var secrets []string
	for k, v := range settings {
		if config.IsSecret(k) && v != "" {
			secrets = append(secrets, v)
		}
	}
	slices.SortFunc(secrets, func(a, b string) int { return len(b) - len(a) })
	for _, v := range secrets {
		text = strings.ReplaceAll(text, v, "[redacted]")
	}
	return text
}
