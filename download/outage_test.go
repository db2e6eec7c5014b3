package download

import (
	"testing"
	"time"
)

func TestOutageQuietAfterEnd(t *testing.T) {
	var o outage
	if !o.begin() || !o.active() {
		t.Fatal("first outage error not taken")
	}
	if !o.begin() {
		t.Fatal("a repeat during the outage must count (the limiter thins it out)")
	}
	if _, ok := o.end(); !ok {
		t.Fatal("end of an outage not reported")
	}
	if _, ok := o.end(); ok {
		t.Fatal("one outage ended twice")
	}
	if o.begin() || o.active() {
		t.Fatal("a stale error right after the end started a new outage")
	}
	o.ended = time.Now().Add(-outageQuiet - time.Second)
	if !o.begin() || !o.active() {
		t.Fatal("an outage after the quiet period was not taken")
	}
}

func TestOutageRecent(t *testing.T) {
	var o outage
	if o.recent(time.Minute) {
		t.Fatal("no outage yet, but recent")
	}
	o.begin()
	if !o.recent(time.Minute) {
		t.Fatal("an outage in progress is not recent")
	}
	o.end()
	if !o.recent(time.Minute) {
		t.Fatal("an outage that just ended is not recent")
	}
	o.ended = time.Now().Add(-2 * time.Minute)
	if o.recent(time.Minute) {
		t.Fatal("an outage that ended two minutes ago is recent within one")
	}
}
