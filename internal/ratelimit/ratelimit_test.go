package ratelimit

import (
	"testing"
	"time"
)

func TestLimiter(t *testing.T) {
	l := Limiter{Every: time.Hour}
	if _, ok := l.Allow("x"); !ok {
		t.Fatal("first report held back")
	}
	for range 3 {
		if _, ok := l.Allow("x"); ok {
			t.Fatal("repeat within the interval let through")
		}
	}
	if _, ok := l.Allow("y"); !ok {
		t.Fatal("another kind held back")
	}
	l.last["x"] = time.Now().Add(-2 * time.Hour)
	if held, ok := l.Allow("x"); !ok || held != 3 {
		t.Fatalf("after the interval: %d held, %v", held, ok)
	}
}

func TestLimiterForget(t *testing.T) {
	l := Limiter{Every: time.Hour}
	l.Allow("x")
	l.Allow("x")
	l.Forget("x")
	if held, ok := l.Allow("x"); !ok || held != 0 {
		t.Fatalf("after Forget: %d held, %v; want the next report out at once", held, ok)
	}
	if _, ok := l.Allow("x"); ok {
		t.Fatal("a repeat after that was let through")
	}
}
