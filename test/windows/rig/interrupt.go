//go:build unix

package rig

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/openmsi/datafiledownloaddirectory/test/terminate"
)

// InterruptHandler is the Linux side of terminate.Ask under wine: wine 8
// cannot deliver CTRL_BREAK_EVENT, so a test asks the rig, at
// $DFDD_WINE_INTERRUPT_URL, to send SIGINT to the wine process it
// started, which wine delivers as CTRL_C_EVENT. The process is found by
// its command line, which wine shows in /proc as the Windows one.
type InterruptHandler struct {
	// ProcDir is /proc, or a stand-in in tests.
	ProcDir string
	// Signal sends the signal; syscall.Kill when nil.
	Signal func(pid int, sig syscall.Signal) error
}

func (h InterruptHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST a terminate.WineInterrupt", http.StatusMethodNotAllowed)
		return
	}
	var req terminate.WineInterrupt
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil || req.Exe == "" {
		http.Error(w, fmt.Sprintf("bad request: %v", err), http.StatusBadRequest)
		return
	}
	pids, err := FindWineProcesses(h.ProcDir, req.Exe, req.Args)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	// Exactly one: the test's arguments (its temporary folders) make the
	// command line unique; more would mean the match is not precise.
	if len(pids) != 1 {
		http.Error(w, fmt.Sprintf("%d wine processes run %s with arguments %q, want exactly 1", len(pids), req.Exe, req.Args), http.StatusConflict)
		return
	}
	kill := h.Signal
	if kill == nil {
		kill = syscall.Kill
	}
	if err := kill(pids[0], syscall.SIGINT); err != nil {
		http.Error(w, fmt.Sprintf("SIGINT to process %d: %v", pids[0], err), http.StatusInternalServerError)
		return
	}
	fmt.Fprintf(w, "sent SIGINT to process %d\n", pids[0])
}

// FindWineProcesses returns the Linux PIDs of the wine processes running
// exe (a base name, compared without regard to case, as Windows does) with
// exactly args.
func FindWineProcesses(procDir, exe string, args []string) ([]int, error) {
	entries, err := os.ReadDir(procDir)
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		raw, err := os.ReadFile(filepath.Join(procDir, e.Name(), "cmdline"))
		if err != nil || len(raw) == 0 {
			continue // gone meanwhile, or a kernel thread
		}
		argv := strings.Split(string(bytes.TrimRight(raw, "\x00")), "\x00")
		// Wine pads the command line it shows with empty arguments.
		for len(argv) > 1 && argv[len(argv)-1] == "" {
			argv = argv[:len(argv)-1]
		}
		if !strings.EqualFold(windowsBase(argv[0]), exe) || !slices.Equal(argv[1:], args) {
			continue
		}
		pids = append(pids, pid)
	}
	return pids, nil
}

func windowsBase(p string) string {
	if i := strings.LastIndexAny(p, `\/`); i >= 0 {
		return p[i+1:]
	}
	return p
}
