package installer

import (
	"strings"
	"time"

	kservice "github.com/kardianos/service"

	dfservice "github.com/openmsi/datafiledownloaddirectory/service"
)

// windowsConfig is the kardianos/service definition of a Windows service.
// It is built on every system so that its tests run everywhere: the
// library silently ignores an option whose value has the wrong Go type
// (an int64 reset period, the string "true"), which only a test notices.
func windowsConfig(d Definition) *kservice.Config {
	user := d.User
	if user != "" && !strings.ContainsAny(user, `\@`) {
		// A bare local account name needs the .\ prefix
		// (kardianos/service#318).
		user = `.\` + user
	}
	return &kservice.Config{
		Name:        d.Name,
		DisplayName: "DataFileDownloadDirectory " + d.Name,
		Description: oneLine(d.Description),
		Executable:  d.Executable,
		Arguments:   d.Args,
		UserName:    user,
		EnvVars:     d.Env,
		Option: kservice.KeyValue{
			// Delayed start is set by ConfigureSelf, where a service
			// manager without it (wine's) only costs a warning: asked of
			// kardianos, it would make CreateService fail altogether.
			"StartType":              "automatic",
			"OnFailure":              "restart",
			"OnFailureDelayDuration": dfservice.RestartDelay.String(),
			"OnFailureResetPeriod":   int(dfservice.FailureResetPeriod / time.Second),
		},
	}
}
