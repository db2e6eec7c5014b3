package download

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

// fatalCloseTimeout bounds closing a consumer after a fatal error. After
// one (a static member fenced by a second instance, for example),
// librdkafka's consumer close can wait forever for a group leave that never
// completes (seen with librdkafka 2.11.1), and the program would hang
// instead of exiting so that a service manager restarts it.
const fatalCloseTimeout = 5 * time.Second

// fencedError is a consumer's static membership taken over: by a second
// instance with the same group.instance.id, or by the consumer's own
// earlier membership (see runConsumer).
type fencedError struct{ err kafka.Error }

func (e *fencedError) Error() string { return e.err.Error() }
func (e *fencedError) Unwrap() error { return e.err }

// clientFailed explains a consumer's fatal client error. A fenced static
// member is left to runConsumer, which may replace it.
func (d *Downloader) clientFailed(_ int, e kafka.Error) error {
	if e.Code() == kafka.ErrFencedInstanceID && d.members.instanceIDs != nil {
		return &fencedError{e}
	}
	d.fatalSeen.Store(true)
	return d.members.fatal(e)
}

// fencedAfterOutage is how long after a broker outage a fenced consumer
// is taken to have been fenced by its own earlier membership.
const fencedAfterOutage = 2 * time.Minute

// runConsumer runs consumer c until ctx is cancelled or it fails for good.
//
// With librdkafka 2.11, a static member whose session expired, or whose
// member id the broker no longer knew, while the broker could not be
// reached can be fenced by its own earlier membership when the broker is
// back (membership.mayReplaceFenced): a fatal error for that client,
// though nothing else is wrong (found by the broker restart test). Such a
// consumer is replaced by a new client with the same group.instance.id.
func (d *Downloader) runConsumer(ctx context.Context, c *consumer, logs chan kafka.LogEvent) error {
	for {
		err := c.run(ctx)
		d.closeConsumer(c)
		var fenced *fencedError
		if !errors.As(err, &fenced) {
			return err
		}
		// A fence is a fatal error of the client, replaced or not: after
		// one, a later close hung forever at the stop in the broker
		// restart test (inside rd_kafka_rebalance_protocol, while the
		// fenced client was still left closing), so every close from now
		// on is bounded.
		d.fatalSeen.Store(true)
		troubled := d.sessionLost[c.index].Load() || d.outage.recent(fencedAfterOutage)
		if ctx.Err() != nil {
			// Stopping anyway (closing a fenced client can take seconds,
			// and a stop request may come meanwhile): a fence that trouble
			// explains is no failure, since nothing past the last barrier
			// was committed; another process holding the id still is.
			if troubled {
				c.log.Debugf("fenced while stopping after broker trouble: %v", fenced.err)
				return nil
			}
			return d.members.fatal(fenced.err)
		}
		if !d.members.mayReplaceFenced(c.index, troubled) {
			return d.members.fatal(fenced.err)
		}
		if c, err = newConsumer(d, c.index, logs); err != nil {
			return err
		}
	}
}

// noteSessionLost records an expired group session for the consumers whose
// client has the librdkafka name client ("<client.id>#consumer-<n>"); all
// of them when they share a client.id.
func (d *Downloader) noteSessionLost(client string) {
	for i, id := range d.members.clientIDs {
		if strings.HasPrefix(client, id+"#") {
			d.sessionLost[i].Store(true)
		}
	}
}

// closeConsumer closes a consumer's client; after a fatal error in it or
// in any of the Downloader's consumers, for a bounded time only. A client
// left unclosed may still write to the log channel, which Run then leaves
// open.
func (d *Downloader) closeConsumer(c *consumer) {
	if !c.failed && !d.fatalSeen.Load() {
		c.kc.Close()
		return
	}
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		c.kc.Close()
	}()
	select {
	case <-closed:
	case <-time.After(fatalCloseTimeout):
		d.clientLeft.Store(true)
		c.log.Warnf("the Kafka consumer did not close within %v of a fatal error; leaving it", fatalCloseTimeout)
	}
}
