//go:build !unix

package terminate

import "os"

var stopSignals = []os.Signal{os.Interrupt}
