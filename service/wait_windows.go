//go:build windows

package service

import "os"

// waitForStop is not used on Windows: kardianos/service runs the SCM's
// handler there, which returns only on a stop request.
func waitForStop(*Program) {}

// whenFailedAlone makes the process exit with status 1 when the job ends
// without a stop request. The SCM handler cannot be ended from inside, and
// an exit without reporting SERVICE_STOPPED counts as a crash, which the
// service's recovery actions answer with a restart.
func whenFailedAlone(p *Program) {
	go func() {
		<-p.Done()
		if !p.endedAlone() {
			return
		}
		if err := p.Err(); err != nil {
			p.log.Errorf("Stopped because of an error: %v", err)
		} else {
			p.log.Error("The download stopped without a stop request")
		}
		os.Exit(1)
	}()
}
