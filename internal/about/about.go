// Package about says what this program is: its name, and the version and
// commit that the Makefile stamps into it. Every package that prints the
// program's name takes it from here.
package about

import (
	"fmt"
	"runtime"
	"strings"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

// Name is the program's name in usage, logs, service names and the default
// log file.
const Name = "DataFileDownloadDirectory"

// Version and Commit are set at build time (see the Makefile) with
// -ldflags "-X github.com/openmsi/datafiledownloaddirectory/internal/about.Version=1.2.3".
var (
	Version = "dev"
	Commit  = "unknown"
)

// VersionText is the output of --version: this program's version and those
// of the Go runtime and librdkafka it was built with, which are what a bug
// report needs.
func VersionText() string {
	_, rdkafka := kafka.LibraryVersion()
	return fmt.Sprintf("%s %s (commit %s)\nGo %s %s/%s\nlibrdkafka %s\n",
		Name, Version, Commit, strings.TrimPrefix(runtime.Version(), "go"), runtime.GOOS, runtime.GOARCH, rdkafka)
}
