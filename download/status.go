package download

import "time"

// Status is a snapshot of the downloader's progress, safe to keep and print.
type Status struct {
	Start time.Time

	// MessagesRead counts every message polled from the topic, including
	// skipped and bad ones. MessagesProcessed counts chunk messages whose data
	// is on disk (or was already there: duplicates).
	MessagesRead      int64
	MessagesProcessed int64
	// MessagesSkipped counts chunks of files that --download_regex excludes;
	// MessagesInvalid counts messages that could not be used (bad encoding,
	// bad hash, bad path).
	MessagesSkipped int64
	MessagesInvalid int64
	// Bytes count chunk data bytes, not message sizes, as OpenMSIStream does.
	BytesRead      int64
	BytesProcessed int64

	// Encrypted topics: Encrypted says decryption is on; MessagesDecrypted
	// counts messages decrypted as read, MessagesUndecryptable those written
	// to ENCRYPTED_MESSAGES/ (not counted as processed), MessagesRecovered
	// those decrypted from there later.
	Encrypted             bool
	MessagesDecrypted     int64
	MessagesUndecryptable int64
	MessagesRecovered     int64

	FilesCompleted    int64
	FilesHashMismatch int64
	InProgress        []FileProgress
	RecentlyCompleted []string // forward-slash relative paths, oldest first, at most RecentLimit
}

// RecentLimit is how many recently completed files Status keeps, as the
// original program does.
const RecentLimit = 50

// FileProgress describes one file that is partly received.
type FileProgress struct {
	Path           string // forward-slash relative path as it will be written
	ChunksReceived int
	ChunksTotal    int
}
