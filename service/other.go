//go:build !windows

package service

import (
	"io"

	"github.com/sirupsen/logrus"
)

// ConfigureSelf has nothing to do outside Windows: the systemd unit says
// how to restart and when to start.
func ConfigureSelf(string) (Unsupported, error) { return nil, nil }

// EventLog returns nothing outside Windows: under systemd the lines written
// to stdout reach the journal.
func EventLog(string) (io.Writer, logrus.Hook, error) { return nil, nil, nil }
