//go:build windows

package service

import (
	"fmt"
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

// EventLogHook sends warnings and errors to the Windows Event Log under the
// service's name, where lab IT looks first. The event source is registered
// at install time (by the install verb or the MSI).
func EventLogHook(name string) (logrus.Hook, error) {
	l, err := eventlog.Open(name)
	if err != nil {
		return nil, fmt.Errorf("open the event log for %s: %w", name, err)
	}
	return &eventLogHook{l: l}, nil
}

type eventLogHook struct{ l *eventlog.Log }

func (h *eventLogHook) Levels() []logrus.Level {
	return []logrus.Level{logrus.PanicLevel, logrus.FatalLevel, logrus.ErrorLevel, logrus.WarnLevel}
}

func (h *eventLogHook) Fire(e *logrus.Entry) error {
	msg, err := e.String()
	if err != nil {
		msg = e.Message
	}
	if e.Level == logrus.WarnLevel {
		return h.l.Warning(2, msg)
	}
	return h.l.Error(3, msg)
}
