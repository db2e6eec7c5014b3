//go:build !windows

package service

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"

	kservice "github.com/kardianos/service"
)

// Run runs p as the service named in cfg until the service manager stops it
// (SIGTERM, SIGINT) or the job ends by itself, and returns the job's error.
// A job that ends by itself without an error is reported as an error too: a
// service is meant to run until stopped.
func Run(cfg Config, p *Program) error {
	opts := kservice.KeyValue{
		// POSIX backends call this instead of waiting for a signal only,
		// which lets a failed job end Run.
		"RunWait": func() { waitForStop(p) },
	}
	s, err := kservice.New(p, &kservice.Config{
		Name:        cfg.Name,
		DisplayName: cfg.DisplayName,
		Description: cfg.Description,
		Option:      opts,
	})
	if err != nil {
		return fmt.Errorf("service %s: %w", cfg.Name, err)
	}
	err = s.Run()
	if p.endedAlone() {
		return aloneErr(p)
	}
	return err
}

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
