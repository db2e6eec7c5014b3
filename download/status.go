package download

import (
	"time"

	"github.com/openmsi/datafiledownloaddirectory/download/storage"
)

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
	// FilesRejected counts files given up as bad input (a path or size
	// this OS or filesystem refuses); VersionsDropped, versions whose
	// chunks came after a newer version of the same path; FilesExpired,
	// unfinished files given up after no chunk for the expiry time.
	FilesRejected   int64
	VersionsDropped int64
	FilesExpired    int64
	InProgress      []FileProgress
	// WaitingToPublish are complete, verified files that cannot be put in
	// place yet (on Windows: the old version open in another program).
	WaitingToPublish  []WaitingFile
	RecentlyCompleted []string // forward-slash relative paths, oldest first, at most RecentLimit
}

// RecentLimit is how many recently completed files Status keeps, as the
// original program does.
const RecentLimit = storage.RecentLimit

// FileProgress describes one file that is partly received.
type FileProgress = storage.FileProgress

// WaitingFile is a complete file waiting to be put in place.
type WaitingFile = storage.WaitingFile
