// Command DataFileDownloadDirectory rebuilds the data files that
// OpenMSIStream uploads to a Kafka topic in a local folder. See package app.
package main

import (
	"context"
	"os"

	"github.com/openmsi/datafiledownloaddirectory/cmd/DataFileDownloadDirectory/app"
)

func main() {
	stopProfiles := startProfiles()
	code := app.Run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stopProfiles()
	os.Exit(code)
}
