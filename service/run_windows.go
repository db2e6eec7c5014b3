//go:build windows

package service

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

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
// never answer it). Only when the dispatcher reports that no service
// controller started the process (ERROR_FAILED_SERVICE_CONTROLLER_CONNECT:
// the run verb typed in a console, or run by another supervisor) does it
// run until Ctrl+C, Ctrl+Break or the console closes instead.
func Run(cfg Config, p *Program) error {
	h := &handler{cfg: cfg, p: p}
	err := svc.Run(cfg.Name, h)
	if errors.Is(err, windows.ERROR_FAILED_SERVICE_CONTROLLER_CONNECT) {
		p.log.Infof("Not started by the Windows service manager: running until Ctrl+C or Ctrl+Break")
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

// runInConsole runs p until Ctrl+C, Ctrl+Break or the closing of the
// console (which Go delivers as SIGTERM), or until the job ends by itself.
func runInConsole(p *Program) error {
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
