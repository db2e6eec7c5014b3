package download

import (
	"fmt"
	"os"

	"github.com/openmsi/datafiledownloaddirectory/download/storage"
)

// The files of ENCRYPTED_MESSAGES/ are written here, outside the storage
// engine, with its error kinds: trouble is retried, a failed fsync stops
// the program (storage.DurabilityError).

func storageErr(format string, args ...any) error {
	return &storage.TroubleError{Err: fmt.Errorf(format, args...)}
}

func syncDir(root *os.Root, dir string) error {
	if err := (storage.RootFS{Root: root}).SyncDir(dir); err != nil {
		return &storage.DurabilityError{Err: err}
	}
	return nil
}
