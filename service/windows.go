//go:build windows

package service

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
	"golang.org/x/sys/windows/svc/eventlog"
	"golang.org/x/sys/windows/svc/mgr"
)

// ConfigureSelf sets what an MSI cannot: restart on every failure, also
// when the service stops with an error instead of crashing, and delayed
// automatic start, so that a lab PC's network is up before the first
// connection. The service runs as LocalSystem or an administrator-chosen
// account; when it may not change its own configuration, the error says
// so and the service runs on unchanged.
func ConfigureSelf(name string) error {
	m, err := mgr.Connect()
	if err != nil {
		return fmt.Errorf("connect to the service manager: %w", err)
	}
	defer m.Disconnect()
	s, err := m.OpenService(name)
	if err != nil {
		return fmt.Errorf("open service %s: %w", name, err)
	}
	defer s.Close()
	actions := []mgr.RecoveryAction{
		{Type: mgr.ServiceRestart, Delay: RestartDelay},
		{Type: mgr.ServiceRestart, Delay: RestartDelay},
		{Type: mgr.ServiceRestart, Delay: 6 * RestartDelay},
	}
	if err := s.SetRecoveryActions(actions, uint32(FailureResetPeriod/time.Second)); err != nil {
		return fmt.Errorf("set the recovery actions of service %s: %w", name, err)
	}
	if err := s.SetRecoveryActionsOnNonCrashFailures(true); err != nil {
		return fmt.Errorf("set the recovery actions of service %s: %w", name, err)
	}
	c, err := s.Config()
	if err != nil {
		return fmt.Errorf("read the configuration of service %s: %w", name, err)
	}
	if c.StartType == mgr.StartAutomatic && !c.DelayedAutoStart {
		c.DelayedAutoStart = true
		if err := s.UpdateConfig(c); err != nil {
			return fmt.Errorf("set delayed automatic start of service %s: %w", name, err)
		}
	}
	return nil
}

// EventLog opens the Windows Event Log under the service's name, where lab
// IT looks first. Errors go through the returned writer, which takes the
// place of a console that a service does not have, so that even a failure
// before logging is set up (an unwritable log file) is recorded;
// warnings go through the hook. The event source is registered at install
// time (by the install verb or the MSI).
func EventLog(name string) (io.Writer, logrus.Hook, error) {
	l, err := eventlog.Open(name)
	if err != nil {
		return nil, nil, fmt.Errorf("open the event log for %s: %w", name, err)
	}
	return eventLogWriter{l}, &eventLogHook{l: l}, nil
}

// eventLogWriter records each write (one formatted log line) as an error
// event.
type eventLogWriter struct{ l *eventlog.Log }

func (w eventLogWriter) Write(p []byte) (int, error) {
	if err := w.l.Error(3, strings.TrimRight(string(p), "\r\n")); err != nil {
		return 0, err
	}
	return len(p), nil
}

type eventLogHook struct{ l *eventlog.Log }

func (h *eventLogHook) Levels() []logrus.Level { return []logrus.Level{logrus.WarnLevel} }

func (h *eventLogHook) Fire(e *logrus.Entry) error { return h.l.Warning(2, e.Message) }
