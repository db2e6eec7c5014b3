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
	// Encrypted topics (encrypted.go).
	messagesDecrypted     atomic.Int64
	messagesUndecryptable atomic.Int64 // saved to ENCRYPTED_MESSAGES/
	messagesRecovered     atomic.Int64 // decrypted later from there
}
