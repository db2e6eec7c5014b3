//go:build windows

package service

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unsafe"

	"github.com/sirupsen/logrus"
	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/svc/eventlog"
	"golang.org/x/sys/windows/svc/mgr"
)

// ConfigureSelf sets what an MSI cannot: restart on every failure, also
// when the service stops with an error instead of crashing, and delayed
// automatic start, so that a lab PC's network is up before the first
// connection. The install verb calls it, and so does the service at every
// start (an MSI-installed service configures itself).
//
// The restart actions are required; the other two are not: a service
// manager that does not support them (wine's; ERROR_INVALID_LEVEL) leaves
// them out, and Unsupported, non-empty then, is what to warn about, once.
// When the service may not change its own configuration, the error says so
// and the service runs on unchanged.
func ConfigureSelf(name string) (unsupported Unsupported, err error) {
	m, err := mgr.Connect()
	if err != nil {
		return nil, fmt.Errorf("connect to the service manager: %w", err)
	}
	defer m.Disconnect()
	s, err := m.OpenService(name)
	if err != nil {
		return nil, fmt.Errorf("open service %s: %w", name, err)
	}
	defer s.Close()
	actions := []mgr.RecoveryAction{
		{Type: mgr.ServiceRestart, Delay: RestartDelay},
		{Type: mgr.ServiceRestart, Delay: RestartDelay},
		{Type: mgr.ServiceRestart, Delay: 6 * RestartDelay},
	}
	if err := s.SetRecoveryActions(actions, uint32(FailureResetPeriod/time.Second)); err != nil {
		return nil, fmt.Errorf("set the recovery actions of service %s: %w", name, err)
	}
	if err := s.SetRecoveryActionsOnNonCrashFailures(true); errors.Is(err, windows.ERROR_INVALID_LEVEL) {
		unsupported = append(unsupported, setting{"restarting a service that stopped with an error", "is restarted after a crash only", err})
	} else if err != nil {
		return nil, fmt.Errorf("set the recovery actions of service %s: %w", name, err)
	}
	// Not through mgr's Config and UpdateConfig: they read and write every
	// optional setting, so one that the service manager lacks would fail
	// them all.
	automatic, err := startsAutomatically(s.Handle)
	if err != nil {
		return nil, fmt.Errorf("read the configuration of service %s: %w", name, err)
	}
	if automatic {
		info := windows.SERVICE_DELAYED_AUTO_START_INFO{IsDelayedAutoStartUp: 1}
		err := windows.ChangeServiceConfig2(s.Handle, windows.SERVICE_CONFIG_DELAYED_AUTO_START_INFO, (*byte)(unsafe.Pointer(&info)))
		if errors.Is(err, windows.ERROR_INVALID_LEVEL) {
			unsupported = append(unsupported, setting{"delayed automatic start", "starts with Windows, perhaps before the network is up", err})
		} else if err != nil {
			return nil, fmt.Errorf("set delayed automatic start of service %s: %w", name, err)
		}
	}
	return unsupported, nil
}

// startsAutomatically tells whether the service starts with Windows.
func startsAutomatically(h windows.Handle) (bool, error) {
	var need uint32
	err := windows.QueryServiceConfig(h, nil, 0, &need)
	if err != windows.ERROR_INSUFFICIENT_BUFFER {
		return false, err
	}
	buf := make([]byte, need)
	c := (*windows.QUERY_SERVICE_CONFIG)(unsafe.Pointer(&buf[0]))
	if err := windows.QueryServiceConfig(h, c, need, &need); err != nil {
		return false, err
	}
	return c.StartType == windows.SERVICE_AUTO_START, nil
}

// EventLog opens the Windows Event Log under the service's name, where lab
// IT looks first. The writer records each write as an error event: it is
// for the messages written before the logger exists (an unwritable log
// file, a bad config). The hook records the logger's warnings and errors.
// The event source is registered at install time (by the install verb or
// the MSI).
func EventLog(name string) (io.Writer, logrus.Hook, error) {
	l, err := eventlog.Open(name)
	if err != nil {
		return nil, nil, fmt.Errorf("open the event log for %s: %w", name, err)
	}
	return eventLogWriter{l}, &eventLogHook{l: l}, nil
}

// eventLogWriter records each write (one formatted line) as an error
// event.
type eventLogWriter struct{ l *eventlog.Log }

func (w eventLogWriter) Write(p []byte) (int, error) {
	if err := w.l.Error(3, strings.TrimRight(string(p), "\r\n")); err != nil {
		return 0, err
	}
	return len(p), nil
}

type eventLogHook struct{ l *eventlog.Log }

func (h *eventLogHook) Levels() []logrus.Level {
	return []logrus.Level{logrus.PanicLevel, logrus.FatalLevel, logrus.ErrorLevel, logrus.WarnLevel}
}

func (h *eventLogHook) Fire(e *logrus.Entry) error {
	if e.Level == logrus.WarnLevel {
		return h.l.Warning(2, e.Message)
	}
	return h.l.Error(3, e.Message)
}
