package crashfs_test

import (
	"fmt"
	"os"

	"github.com/openmsi/datafiledownloaddirectory/download/storage"
	"github.com/openmsi/datafiledownloaddirectory/download/storage/crashfs"
)

// A workload that publishes one file and then promises it; the checker
// wants the promise kept and never a partial file under the final name.
// Dropping the h.Sync() or the SyncDir makes violations appear.
func ExampleCheck() {
	publish := func(fsys storage.FS, checkpoint func(any)) error {
		h, err := fsys.OpenFile("a.tmp", os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
		if err != nil {
			return err
		}
		if _, err := h.WriteAt([]byte("data"), 0); err != nil {
			return err
		}
		if err := h.Sync(); err != nil {
			return err
		}
		if err := h.Close(); err != nil {
			return err
		}
		if err := fsys.Rename("a.tmp", "a"); err != nil {
			return err
		}
		if err := fsys.SyncDir("."); err != nil {
			return err
		}
		checkpoint("a")
		return nil
	}
	check := func(state storage.FS, committed any) error {
		h, err := state.OpenFile("a", os.O_RDONLY, 0)
		if os.IsNotExist(err) && committed == nil {
			return nil
		}
		if err != nil {
			return err
		}
		defer h.Close()
		b := make([]byte, 5)
		n, _ := h.ReadAt(b, 0)
		if string(b[:n]) != "data" {
			return fmt.Errorf("a holds %q", b[:n])
		}
		return nil
	}
	rep, err := crashfs.Check(publish, check, crashfs.CheckOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(rep)
	// Output: 6 crash points checked, 0 violations (5 operations, 5 states checked, 9 duplicate states skipped)
}
