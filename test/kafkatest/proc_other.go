//go:build !unix

package kafkatest

import "os/exec"

// broker.sh needs bash and Linux; elsewhere Start fails and the
// integration tests skip, but the package still compiles for GOOS=windows
// vet runs.
func ownProcessGroup(*exec.Cmd) {}
