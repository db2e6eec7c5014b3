// Package ratelimit keeps repeated reports (a broker that is down, a topic
// that cannot be written) from flooding the log: one report of each kind
// per interval, with a count of those held back.
package ratelimit

import (
	"sync"
	"time"
)

// Limiter is safe for concurrent use; its zero value needs Every set.
type Limiter struct {
	Every time.Duration

	mu   sync.Mutex
	last map[string]time.Time
	held map[string]int
}

// Allow says whether a report of this kind may go out now and, if so, how
// many were held back since the last one that did.
func (l *Limiter) Allow(kind string) (held int, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if t, seen := l.last[kind]; seen && now.Sub(t) < l.Every {
		l.held[kind]++
		return 0, false
	}
	if l.last == nil {
		l.last, l.held = map[string]time.Time{}, map[string]int{}
	}
	l.last[kind] = now
	held = l.held[kind]
	l.held[kind] = 0
	return held, true
}

// Forget lets the next report of this kind out at once: the condition it
// reports has ended, and a new occurrence is news.
func (l *Limiter) Forget(kind string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.last, kind)
	delete(l.held, kind)
}
