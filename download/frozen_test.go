//go:build !windows

package download

// The broker stops answering (SIGSTOP, as a paused VM or a long garbage
// collection would) for longer than the group session timeout, and goes
// on. librdkafka's session expires; when the broker is back, its
// controller fences and unfences it, and a metadata response without it
// could leave the consumer knowing no broker at all, which librdkafka
// 2.11 repaired only after 5 minutes (metadata.recovery.rebootstrap
// .trigger.ms, now 15 s in consumerDefaults). The next file must arrive.

import (
	"syscall"
	"testing"
	"time"

	"github.com/openmsi/datafiledownloaddirectory/test/kafkatest"
	"github.com/openmsi/datafiledownloaddirectory/test/testkit"
)

func TestFrozenBroker(t *testing.T) {
	kafkatest.Require(t)
	broker := kafkatest.SharedBroker()
	if broker == nil || broker.PID() == 0 {
		testkit.Need(t, "freezing the broker needs the one the tests started, not $KAFKA_BOOTSTRAP")
	}
	r := startFencingRun(t)
	pid := broker.PID()
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	frozen := true
	thaw := func() {
		if frozen {
			frozen = false
			if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
				t.Error(err)
			}
		}
	}
	defer thaw()
	WaitFor(t, "the group session to expire", time.Minute, func() bool { return r.d.sessionLost[0].Load() })
	time.Sleep(2 * time.Second)
	thaw()
	thawed := time.Now()
	r.arrives("after.bin", 2)
	r.running(t)
	t.Logf("the next file arrived %s after the broker went on", time.Since(thawed).Round(100*time.Millisecond))
}
