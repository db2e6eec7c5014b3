//go:build windows

package service

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/svc"
)

// Run runs p as the Windows service named in cfg until the service
// manager stops it or the job ends by itself, and returns the job's error
// (a job that ends by itself without an error is an error too: a service
// is meant to run until stopped).
//
// Being started by the run verb is what makes this service mode, not a
// guess from the session (kardianos/service's session-0 test, which says
// "interactive" for services of wine's service manager, so that they
// never answer it). Only a process that the service manager did not start
// (the run verb typed in a console, or run by another supervisor) runs
// until Ctrl+C, Ctrl+Break or the console closes instead: one whose parent
// is not services.exe, or that the dispatcher tells so
// (ERROR_FAILED_SERVICE_CONTROLLER_CONNECT). The parent is looked at
// first because wine's dispatcher, instead of saying so, connects to the
// control pipe of the service started last and waits there for good.
func Run(cfg Config, p *Program) error {
	if !parentIsServiceManager() {
		return runInConsole(p)
	}
	h := &handler{cfg: cfg, p: p}
	err := svc.Run(cfg.Name, h)
	if errors.Is(err, windows.ERROR_FAILED_SERVICE_CONTROLLER_CONNECT) {
		return runInConsole(p)
	}
	if err != nil {
		return fmt.Errorf("service %s: %w", cfg.Name, err)
	}
	return h.err
}

// handler answers the service manager.
type handler struct {
	cfg Config
	p   *Program
	err error // what Run returns, set before Execute returns
}

// exitFailed is the service-specific exit code of a failed service: with
// the failure-actions flag set (ConfigureSelf), the service manager
// restarts a service that stopped with an error as it restarts one that
// crashed.
const exitFailed = 1

func (h *handler) Execute(_ []string, reqs <-chan svc.ChangeRequest, status chan<- svc.Status) (bool, uint32) {
	status <- svc.Status{State: svc.StartPending, WaitHint: 10000}
	if unsupported, err := ConfigureSelf(h.cfg.Name); err != nil {
		h.p.log.Warnf("Could not set the service's restart on failure and delayed start: %v", err)
	} else if w := unsupported.Warning(h.cfg.Name); w != "" {
		h.p.log.Warn(w)
	}
	if err := h.p.Start(nil); err != nil {
		h.err = err
		return true, exitFailed
	}
	status <- svc.Status{State: svc.Running, Accepts: svc.AcceptStop | svc.AcceptShutdown}
	for {
		select {
		case c := <-reqs:
			switch c.Cmd {
			case svc.Interrogate:
				status <- c.CurrentStatus
			case svc.Stop, svc.Shutdown:
				// The wait hint covers the program's own bound, so that the
				// service manager does not give up first.
				status <- svc.Status{State: svc.StopPending, WaitHint: uint32((h.p.stopTimeout + 5*time.Second) / time.Millisecond)}
				if err := h.p.Stop(nil); err != nil {
					h.err = err
					return true, exitFailed
				}
				return false, 0
			}
		case <-h.p.Done():
			h.err = aloneErr(h.p)
			return true, exitFailed
		}
	}
}

// parentIsServiceManager tells whether this process was started by
// services.exe, which starts every Windows service (and wine's too).
func parentIsServiceManager() bool {
	snap, err := windows.CreateToolhelp32Snapshot(windows.TH32CS_SNAPPROCESS, 0)
	if err != nil {
		return true // cannot tell: let the dispatcher decide
	}
	defer windows.CloseHandle(snap)
	names := map[uint32]string{}
	var parent uint32
	self := windows.GetCurrentProcessId()
	e := windows.ProcessEntry32{Size: uint32(unsafe.Sizeof(windows.ProcessEntry32{}))}
	for err = windows.Process32First(snap, &e); err == nil; err = windows.Process32Next(snap, &e) {
		names[e.ProcessID] = windows.UTF16ToString(e.ExeFile[:])
		if e.ProcessID == self {
			parent = e.ParentProcessID
		}
	}
	name, ok := names[parent]
	if !ok {
		return false // the parent is gone: services.exe never is
	}
	return strings.EqualFold(name, "services.exe")
}

// runInConsole runs p until Ctrl+C, Ctrl+Break or the closing of the
// console (which Go delivers as SIGTERM), or until the job ends by itself.
func runInConsole(p *Program) error {
	p.log.Infof("Not started by the Windows service manager: running until Ctrl+C or Ctrl+Break")
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	if err := p.Start(nil); err != nil {
		return err
	}
	select {
	case <-sigs:
		return p.Stop(nil)
	case <-p.Done():
		return aloneErr(p)
	}
}
