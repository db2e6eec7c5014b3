package download

import (
	"fmt"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/sirupsen/logrus"
)

// Client health: errors of the Kafka clients, broker outages (outage.go),
// refused credentials (auth.go) and librdkafka's own log lines, reported
// once for all consumers in the program's words.

// onError reports a client error once per repeat interval; only a fatal
// error ends the consumer.
func (c *consumer) onError(e kafka.Error) error {
	if e.IsFatal() {
		c.failed = true
		return c.h.clientFailed(c.index, e)
	}
	if c.h.credentialsError(e, c.log) {
		return nil
	}
	msg := e.Error()
	kind := "error " + e.Code().String()
	switch e.Code() {
	case kafka.ErrAllBrokersDown, kafka.ErrTransport:
		msg = fmt.Sprintf("cannot reach the Kafka broker (%v); retrying", e)
		kind = outageKey
		if !c.h.outages().begin() {
			c.log.Debug(msg)
			return nil
		}
	case kafka.ErrUnknownTopicOrPart, kafka.ErrUnknownTopic:
		msg = fmt.Sprintf("topic %q is not available on the broker (%v); waiting for it", c.topic, e)
	}
	// Every consumer sees the same outage, and librdkafka words each retry
	// differently: one warning per kind of error for the whole process.
	if _, ok := c.h.report(kind); ok {
		c.log.Warn(msg)
	} else {
		c.log.Debug(msg)
	}
	return nil
}

// checkReconnected asks the broker for the topic's metadata while an
// outage is on record; once it answers, the outage is over. Called at
// barrier time, so at most once a second per consumer, and only during an
// outage, when there is nothing to poll anyway.
func (c *consumer) checkReconnected() {
	if !c.h.outages().active() {
		return
	}
	if _, err := c.kc.GetMetadata(&c.topic, false, 1000); err != nil {
		return
	}
	since, ok := c.h.outages().end()
	if !ok {
		return
	}
	c.h.forget(outageKey)
	c.log.Infof("the Kafka broker can be reached again (it could not be for %s); consumption continues",
		time.Since(since).Round(time.Second))
}

// forwardLogs routes librdkafka's own log lines to the log file at debug
// level, never to the terminal: what they mean is reported in the
// program's own words (one warning per broker outage, one error for
// refused credentials), and librdkafka repeats itself every few seconds
// while a broker is down. Only its warnings about the config file's
// settings (CONFWARN), which nothing else reports, are shown, once per
// repeat interval. An expired group session is noted for the consumer
// whose client said so.
func (d *Downloader) forwardLogs(logs <-chan kafka.LogEvent) {
	for ev := range logs {
		if ev.Tag == "SESSTMOUT" {
			d.noteSessionLost(ev.Name)
		}
		entry := d.log.WithFields(logrus.Fields{"client": ev.Name, "tag": ev.Tag})
		if ev.Tag == configWarningTag && ev.Level <= 4 {
			if _, ok := d.limiter.Allow("librdkafka " + ev.Tag); ok {
				entry.Warn("librdkafka: " + ev.Message)
				continue
			}
		}
		entry.Debug("librdkafka: " + ev.Message)
	}
}

// configWarningTag marks librdkafka's warnings about its configuration.
const configWarningTag = "CONFWARN"

// The Downloader's side of host (consumer.go).

func (d *Downloader) makeDurable() error                     { return d.store.Barrier() }
func (d *Downloader) report(kind string) (held int, ok bool) { return d.limiter.Allow(kind) }
func (d *Downloader) forget(kind string)                     { d.limiter.Forget(kind) }
func (d *Downloader) outages() *outage                       { return &d.outage }
