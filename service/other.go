//go:build !windows

package service

import "github.com/sirupsen/logrus"

// ConfigureSelf has nothing to do outside Windows: the systemd unit says
// how to restart and when to start.
func ConfigureSelf(string) error { return nil }

// EventLogHook returns nil outside Windows: under systemd the lines written
// to stdout reach the journal.
func EventLogHook(string) (logrus.Hook, error) { return nil, nil }
