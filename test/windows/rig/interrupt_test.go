//go:build unix

package rig

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/openmsi/datafiledownloaddirectory/test/terminate"
)

// fakeProc makes a /proc with the command lines wine shows: the Windows
// argv, NUL-separated and padded with empty arguments.
func fakeProc(t *testing.T, cmdlines map[string]string) string {
	dir := t.TempDir()
	for pid, cl := range cmdlines {
		os.MkdirAll(filepath.Join(dir, pid), 0o755)
		os.WriteFile(filepath.Join(dir, pid, "cmdline"), []byte(cl), 0o644)
	}
	os.MkdirAll(filepath.Join(dir, "self"), 0o755)
	return dir
}

func TestInterruptHandler(t *testing.T) {
	proc := fakeProc(t, map[string]string{
		"100": "Z:\\w\\DataFileDownloadDirectory.exe\x00C:\\t\\out1\x00--config\x00C:\\t\\a.config\x00\x00\x00\x00",
		"101": "Z:\\w\\DataFileDownloadDirectory.exe\x00C:\\t\\out2\x00--config\x00C:\\t\\a.config\x00",
		"102": "Z:\\w\\DataFileDownloadDirectory.exe\x00__describe_consumer_group\x00",
		"103": "/usr/bin/bash\x00C:\\t\\out1\x00--config\x00C:\\t\\a.config\x00",
		"104": "",
	})
	var sent []int
	h := InterruptHandler{ProcDir: proc, Signal: func(pid int, sig syscall.Signal) error {
		if sig != syscall.SIGINT {
			t.Errorf("signal %v, want SIGINT", sig)
		}
		sent = append(sent, pid)
		return nil
	}}
	post := func(req terminate.WineInterrupt) int {
		body, _ := json.Marshal(req)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/interrupt", bytes.NewReader(body)))
		return w.Code
	}
	if code := post(terminate.WineInterrupt{Exe: "datafiledownloaddirectory.EXE", Args: []string{`C:\t\out1`, "--config", `C:\t\a.config`}}); code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	if len(sent) != 1 || sent[0] != 100 {
		t.Fatalf("signalled %v, want [100]", sent)
	}
	// Not found, and not precise enough: nothing is signalled.
	if code := post(terminate.WineInterrupt{Exe: "DataFileDownloadDirectory.exe", Args: []string{`C:\t\out3`}}); code != http.StatusConflict {
		t.Errorf("no such process: status %d", code)
	}
	if code := post(terminate.WineInterrupt{Exe: "DataFileDownloadDirectory.exe", Args: []string{`C:\t\out1`}}); code != http.StatusConflict {
		t.Errorf("a prefix of the arguments: status %d", code)
	}
	if len(sent) != 1 {
		t.Errorf("signalled %v", sent)
	}
}
