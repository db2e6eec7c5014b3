package download

import "sync/atomic"

// counters are the running totals behind Status.
type counters struct {
	messagesRead      atomic.Int64
	messagesProcessed atomic.Int64
	messagesSkipped   atomic.Int64
	messagesInvalid   atomic.Int64
	bytesRead         atomic.Int64
	bytesProcessed    atomic.Int64
}
