package download

import (
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

// fatalCloseTimeout bounds closing a consumer after a fatal error. After
// one (a static member fenced by a second instance, for example),
// librdkafka's consumer close can wait forever for a group leave that never
// completes (seen with librdkafka 2.11.1), and the program would hang
// instead of exiting so that a service manager restarts it.
const fatalCloseTimeout = 5 * time.Second

// fatal records a consumer's fatal error and explains it.
func (c *consumer) fatal(e kafka.Error) error {
	c.d.fatalSeen.Store(true)
	return c.d.members.fatal(e)
}

// closeConsumer closes a consumer's client; after a fatal error in any of
// the Downloader's consumers, for a bounded time only. A client left
// unclosed may still write to the log channel, which Run then leaves open.
func (d *Downloader) closeConsumer(c *consumer) {
	if !d.fatalSeen.Load() {
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
