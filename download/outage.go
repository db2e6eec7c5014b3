package download

import (
	"sync"
	"time"
)

// outageKey is the rate limiter's kind for every client error that means
// the broker cannot be reached: librdkafka words one outage several ways
// (a refused connection, all brokers down, the group coordinator lost).
const outageKey = "broker outage"

// outageQuiet is how long after the end of an outage further outage errors
// are taken for stale ones: librdkafka queues errors for each consumer
// during the outage and delivers them after it. A real new outage keeps
// producing errors (every reconnect attempt, at most 10 s apart) and is
// reported after this.
const outageQuiet = 5 * time.Second

// outage remembers that the consumers reported the broker unreachable, so
// that its end is reported as well, and so that the next outage is
// reported at once instead of being held back by the repeat interval of
// the previous one (a broker restarted twice within a minute).
type outage struct {
	mu    sync.Mutex
	since time.Time // zero: no outage on record
	ended time.Time
}

// begin records an outage error and says whether it counts: not when it
// comes right after the end of an outage.
func (o *outage) begin() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.since.IsZero() {
		if time.Since(o.ended) < outageQuiet {
			return false
		}
		o.since = time.Now()
	}
	return true
}

// recent says whether an outage is on record or ended less than within ago.
func (o *outage) recent(within time.Duration) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return !o.since.IsZero() || (!o.ended.IsZero() && time.Since(o.ended) < within)
}

func (o *outage) active() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return !o.since.IsZero()
}

// end returns when the outage began, or false when another consumer has
// already ended it.
func (o *outage) end() (time.Time, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	since := o.since
	if !since.IsZero() {
		o.since, o.ended = time.Time{}, time.Now()
	}
	return since, !since.IsZero()
}
