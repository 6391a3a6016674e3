package throttle

import (
	"fmt"
	"testing"
	"time"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

func TestBurstThenRetryAfter(t *testing.T) {
	clk := &clock{t: time.Unix(1000, 0)}
	l := &Limiter{Now: clk.now}
	for i := range DefaultUserBurst - 1 {
		l.Fail("alice", "10.0.0.1")
		if _, ok := l.Check("alice", "10.0.0.1"); !ok {
			t.Fatalf("blocked after %d failures, want a burst of %d", i+1, DefaultUserBurst)
		}
	}
	l.Fail("alice", "10.0.0.1")
	ra, ok := l.Check("alice", "10.0.0.1")
	if ok || ra != 1 {
		t.Fatalf("after the burst Check = %d, %v; want 1, false", ra, ok)
	}
	// Another user from the same address is not blocked by alice's count.
	if _, ok := l.Check("bob", "10.0.0.1"); !ok {
		t.Error("bob blocked by alice's failures")
	}
	// Each further failure doubles the delay.
	clk.advance(time.Second)
	l.Fail("alice", "10.0.0.1")
	if ra, _ := l.Check("alice", "10.0.0.1"); ra != 2 {
		t.Errorf("Retry-After after one more failure = %d, want 2", ra)
	}
	// After the wait, the right password goes through and resets.
	clk.advance(2 * time.Second)
	if _, ok := l.Check("alice", "10.0.0.1"); !ok {
		t.Fatal("still blocked after Retry-After")
	}
	l.Succeed("alice", "10.0.0.1")
	l.Fail("alice", "10.0.0.1")
	if _, ok := l.Check("alice", "10.0.0.1"); !ok {
		t.Error("one failure after a success blocks: the success did not reset")
	}
}

func TestPerAddress(t *testing.T) {
	clk := &clock{t: time.Unix(1000, 0)}
	l := &Limiter{Now: clk.now, AddrBurst: 3}
	// Spraying one password at many users from one address.
	for i := range 3 {
		l.Fail(fmt.Sprint("user", i), "10.0.0.9")
	}
	if ra, ok := l.Check("fresh-user", "10.0.0.9"); ok || ra < 1 {
		t.Errorf("Check from a spraying address = %d, %v; want blocked", ra, ok)
	}
	if _, ok := l.Check("fresh-user", "10.0.0.10"); !ok {
		t.Error("another address is blocked")
	}
	// A success does not clear the address.
	l.Succeed("user0", "10.0.0.9")
	if _, ok := l.Check("fresh-user", "10.0.0.9"); ok {
		t.Error("a success cleared the address counter")
	}
}

func TestDelayCapAndDecay(t *testing.T) {
	clk := &clock{t: time.Unix(1000, 0)}
	l := &Limiter{Now: clk.now, UserBurst: 1, Max: 8 * time.Second, Window: time.Minute}
	for range 50 {
		l.Fail("u", "")
	}
	if ra, _ := l.Check("u", ""); ra != 8 {
		t.Errorf("capped Retry-After = %d, want 8", ra)
	}
	clk.advance(time.Minute)
	if _, ok := l.Check("u", ""); !ok {
		t.Fatal("blocked after the cap and the window passed")
	}
	// A failure after the window starts a fresh count: one burst, 1 s.
	l.Fail("u", "")
	if ra, _ := l.Check("u", ""); ra != 1 {
		t.Errorf("Retry-After after decay = %d, want 1", ra)
	}
}

func TestBoundedMemory(t *testing.T) {
	clk := &clock{t: time.Unix(1000, 0)}
	l := &Limiter{Now: clk.now, MaxKeys: 100}
	for i := range 1000 {
		clk.advance(time.Millisecond)
		l.Fail(fmt.Sprint("user", i), fmt.Sprint("10.0.", i/256, ".", i%256))
		if got := l.Len(); got > 100 {
			t.Fatalf("after %d failures Len = %d, want <= 100", i+1, got)
		}
	}
}
