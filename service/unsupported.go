package service

import (
	"fmt"
	"strings"
)

// Unsupported lists the optional settings of a Windows service that the
// service manager does not support (ConfigureSelf); nil when all were set.
type Unsupported []setting

type setting struct {
	what string // the setting
	then string // what the service does without it
	err  error  // the service manager's answer
}

// Warning is the one line that says what the service does without them,
// or "" when nothing is missing.
func (u Unsupported) Warning(name string) string {
	if len(u) == 0 {
		return ""
	}
	var what, then []string
	for _, s := range u {
		what = append(what, s.what)
		then = append(then, s.then)
	}
	return fmt.Sprintf("This Windows service manager does not support %s (%v): service %s runs without, so it %s",
		strings.Join(what, " nor "), strings.TrimSuffix(u[0].err.Error(), "."), name, strings.Join(then, " and "))
}
