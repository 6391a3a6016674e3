package throttle

import (
	"context"
	"fmt"
	"testing"
	"time"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

func TestUserCountDelaysNeverRefuses(t *testing.T) {
	clk := &clock{t: time.Unix(1000, 0)}
	l := &Limiter{Now: clk.now}
	for i := range DefaultUserBurst - 1 {
		l.Fail("alice", fmt.Sprint("203.0.113.", i))
		if v := l.Check("alice", "198.51.100.7"); v != (Verdict{}) {
			t.Fatalf("after %d failures Check = %+v, want a free attempt (burst %d)", i+1, v, DefaultUserBurst)
		}
	}
	// Past the burst, each from its own address: alice's attempts from
	// anywhere wait, doubling up to the cap, and are never refused.
	want := []time.Duration{250 * time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second, 2 * time.Second}
	for i, w := range want {
		l.Fail("alice", fmt.Sprint("203.0.113.", 100+i))
		v := l.Check("alice", "198.51.100.7")
		if v.Refuse || v.Delay != w {
			t.Fatalf("failure %d past the burst: Check = %+v, want a delay of %v and no refusal", i+1, v, w)
		}
	}
	// The delay is paid by every attempt while the count is high, not only
	// right after a failure.
	clk.advance(time.Minute)
	if v := l.Check("alice", "198.51.100.7"); v.Delay != 2*time.Second {
		t.Errorf("a minute later Check = %+v, want still delayed 2s", v)
	}
	if v := l.Check("bob", "198.51.100.7"); v != (Verdict{}) {
		t.Errorf("bob Check = %+v, want free: alice's count is hers", v)
	}
	// The owner's success does not hand the guesser a fresh burst.
	l.Succeed("alice", "198.51.100.7")
	if v := l.Check("alice", "203.0.113.200"); v.Delay != 2*time.Second {
		t.Errorf("after the owner's success, the guesser's Check = %+v, want still delayed 2s", v)
	}
}

// The owner's own typos, all from one client group, are forgiven by the
// owner's success from that group.
func TestOwnTyposForgiven(t *testing.T) {
	l := &Limiter{}
	for range DefaultUserBurst + 2 {
		l.Fail("bob", "2001:db8:1:2::10")
	}
	l.Succeed("bob", "2001:db8:1:2::99") // same /64
	if v := l.Check("bob", "2001:db8:1:2::10"); v != (Verdict{}) {
		t.Errorf("after a success from the failing group: %+v, want free", v)
	}
	for range DefaultUserBurst + 2 {
		l.Fail("carol", "127.0.0.1")
	}
	l.Fail("carol", "203.0.113.1")
	l.Succeed("carol", "127.0.0.1")
	if v := l.Check("carol", "127.0.0.1"); v.Delay == 0 {
		t.Error("a success cleared a count that had failures from elsewhere too")
	}
}

func TestRemoteGroupRefused(t *testing.T) {
	clk := &clock{t: time.Unix(1000, 0)}
	l := &Limiter{Now: clk.now, AddrBurst: 3}
	// Spraying one password at many users from one address.
	for i := range 3 {
		l.Fail(fmt.Sprint("user", i), "10.0.0.9")
	}
	if v := l.Check("fresh-user", "10.0.0.9"); !v.Refuse || v.RetryAfter != time.Second {
		t.Errorf("Check from a spraying address = %+v; want refused for 1s", v)
	}
	if v := l.Check("fresh-user", "10.0.0.10"); v.Refuse {
		t.Error("another address is refused")
	}
	// A success does not clear the address.
	l.Succeed("user0", "10.0.0.9")
	if v := l.Check("fresh-user", "10.0.0.9"); !v.Refuse {
		t.Error("a success cleared the address counter")
	}
	clk.advance(time.Second)
	if v := l.Check("fresh-user", "10.0.0.9"); v.Refuse {
		t.Errorf("still refused after Retry-After: %+v", v)
	}
}

func TestGroups(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"203.0.113.5", "203.0.113.5"},
		{"10.1.2.3", "10.1.2.3"},
		{"192.168.0.7", "192.168.0.7"},
		{"127.0.0.1", "loopback"},
		{"127.5.0.9", "loopback"},
		{"::1", "loopback"},
		{"::ffff:203.0.113.5", "203.0.113.5"},
		{"2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"},
		{"2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"},
		{"2001:db8:1:3::1", "2001:db8:1:3::/64"},
		{"uid:1000", "uid:1000"},
		{"", ""},
	} {
		if got := Group(tc.in); got != tc.want {
			t.Errorf("Group(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestIPv6SlashSixtyFourCountsOnce(t *testing.T) {
	l := &Limiter{AddrBurst: 2}
	l.Fail("a", "2001:db8::1")
	l.Fail("b", "2001:db8::ffff:2")
	if v := l.Check("c", "2001:db8::abcd"); !v.Refuse {
		t.Errorf("a third address of the same /64: %+v, want refused", v)
	}
	if v := l.Check("c", "2001:db8:0:1::1"); v.Refuse {
		t.Errorf("the next /64: %+v, want free", v)
	}
}

// Loopback is every local user's, the owner's too: its count delays.
func TestLoopbackDelaysNeverRefuses(t *testing.T) {
	l := &Limiter{AddrBurst: 2}
	for i := range 50 {
		l.Fail(fmt.Sprint("user", i), fmt.Sprint("127.5.0.", i))
	}
	v := l.Check("owner", "127.0.0.1")
	if v.Refuse || v.Delay != DefaultUserMaxDelay {
		t.Errorf("owner on loopback after a local spray: %+v, want delayed %v, not refused", v, DefaultUserMaxDelay)
	}
}

// A socket peer is its uid: refusing it shuts out that uid alone.
func TestSocketUID(t *testing.T) {
	l := &Limiter{AddrBurst: 2, UserBurst: 100}
	l.Fail("admin", "uid:1001")
	l.Fail("admin", "uid:1001")
	if v := l.Check("admin", "uid:1001"); !v.Refuse {
		t.Errorf("uid 1001 after its burst: %+v, want refused", v)
	}
	if v := l.Check("admin", "uid:1000"); v != (Verdict{}) {
		t.Errorf("uid 1000: %+v, want free", v)
	}
}

func TestRefusalCapAndDecay(t *testing.T) {
	clk := &clock{t: time.Unix(1000, 0)}
	l := &Limiter{Now: clk.now, AddrBurst: 1, Max: 8 * time.Second, Window: time.Minute}
	for range 50 {
		l.Fail("u", "198.51.100.1")
	}
	if v := l.Check("u", "198.51.100.1"); v.RetryAfter != 8*time.Second {
		t.Errorf("capped Retry-After = %v, want 8s", v.RetryAfter)
	}
	clk.advance(time.Minute)
	if v := l.Check("u", "198.51.100.1"); v != (Verdict{}) {
		t.Fatalf("after the cap and the window: %+v, want free", v)
	}
	// A failure after the window starts a fresh count: one burst, 1 s.
	l.Fail("u", "198.51.100.1")
	if v := l.Check("u", "198.51.100.1"); v.RetryAfter != time.Second {
		t.Errorf("Retry-After after decay = %v, want 1s", v.RetryAfter)
	}
}

func TestWaitHonoursContext(t *testing.T) {
	l := &Limiter{}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := l.Wait(ctx, time.Hour); err != context.Canceled {
		t.Errorf("Wait with a cancelled context = %v, want context.Canceled", err)
	}
	if err := l.Wait(ctx, 0); err != nil {
		t.Errorf("Wait(0) = %v, want nil", err)
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
