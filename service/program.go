// Package service runs a long-running job as an operating-system service:
// under the Windows Service Control Manager (golang.org/x/sys/windows/svc),
// under systemd or any supervisor that stops it with SIGTERM
// (github.com/kardianos/service). The job itself (the downloader) knows
// nothing of this; it runs until its context is cancelled.
package service

import (
	"context"
	"errors"
	"sync"
	"time"

	kservice "github.com/kardianos/service"
	"github.com/sirupsen/logrus"
)

// RestartDelay is how long the Windows service manager waits before
// restarting a failed service, and FailureResetPeriod after how long
// without a failure it forgets earlier ones.
const (
	RestartDelay       = 10 * time.Second
	FailureResetPeriod = 24 * time.Hour
)

// ErrStopTimeout is returned by Stop when the job did not end within the
// stop bound.
var ErrStopTimeout = errors.New("the download did not stop in time")

// Program adapts a job to kardianos/service's Interface: Start launches it
// in a goroutine, Stop cancels its context and waits for it within a bound.
type Program struct {
	job         func(ctx context.Context) error
	stopTimeout time.Duration
	log         *logrus.Entry
	done        chan struct{}

	mu       sync.Mutex
	cancel   context.CancelFunc // nil until Start
	err      error
	stopping bool
	// alone is set when the job returned before any stop request.
	alone bool
}

// NewProgram returns a Program for job, which runs until its context is
// cancelled and returns nil after a clean stop. stopTimeout bounds Stop: it
// must be shorter than the time the service manager waits (systemd's
// TimeoutStopSec, the Windows SCM's patience at shutdown), so that a stuck
// shutdown is ours to report and not a SIGKILL.
func NewProgram(job func(ctx context.Context) error, stopTimeout time.Duration, log *logrus.Entry) *Program {
	return &Program{job: job, stopTimeout: stopTimeout, log: log, done: make(chan struct{})}
}

// Start launches the job and returns at once, as the service manager
// requires: the service counts as started only when Start returns.
func (p *Program) Start(kservice.Service) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cancel != nil {
		return errors.New("already started")
	}
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	go func() {
		err := p.job(ctx)
		p.mu.Lock()
		p.err = err
		p.alone = !p.stopping
		p.mu.Unlock()
		close(p.done)
	}()
	return nil
}

// Stop asks the job to stop and waits for it, at most StopTimeout. It may
// be called more than once and before Start.
func (p *Program) Stop(kservice.Service) error {
	p.mu.Lock()
	if p.cancel == nil {
		p.mu.Unlock()
		return nil
	}
	if !p.stopping {
		p.log.Info("Stop requested by the service manager: stopping")
	}
	p.stopping = true
	p.cancel()
	p.mu.Unlock()

	t := time.NewTimer(p.stopTimeout)
	defer t.Stop()
	select {
	case <-p.done:
		return p.Err()
	case <-t.C:
		p.log.Errorf("The download did not stop within %v of the stop request: exiting anyway. Offsets not yet committed will be read again at the next start.", p.stopTimeout)
		return ErrStopTimeout
	}
}

// Done is closed when the job has returned.
func (p *Program) Done() <-chan struct{} { return p.done }

// Err is the job's result once Done is closed.
func (p *Program) Err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// endedAlone tells, once Done is closed, whether the job ended without a
// stop request: a fatal error found after start. The service must then exit
// non-zero so that the service manager restarts it.
func (p *Program) endedAlone() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.alone
}

// Config names the service for kardianos/service.
type Config struct {
	// Name is the service name (the systemd unit without .service, the
	// Windows service name).
	Name        string
	DisplayName string
	Description string
}

// aloneErr is Run's error for a job that ended without a stop request.
func aloneErr(p *Program) error {
	if err := p.Err(); err != nil {
		return err
	}
	return errors.New("the download stopped without a stop request")
}
