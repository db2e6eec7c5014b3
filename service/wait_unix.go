//go:build !windows

package service

import (
	"os"
	"os/signal"
	"syscall"
)

// waitForStop returns on SIGTERM or SIGINT (systemd's stop, a supervisor's
// stop, Ctrl+C) or when the job ends by itself. SIGHUP is caught too:
// systemd sends it to no service, but a supervisor closing a terminal
// would, and an uncaught SIGHUP kills a Go program without a clean stop.
func waitForStop(p *Program) {
	sigs := make(chan os.Signal, 3)
	signal.Notify(sigs, syscall.SIGTERM, os.Interrupt, syscall.SIGHUP)
	defer signal.Stop(sigs)
	select {
	case <-sigs:
	case <-p.Done():
	}
}

// whenFailedAlone has nothing to do on POSIX systems: waitForStop already
// returns when the job ends by itself.
func whenFailedAlone(*Program) {}
