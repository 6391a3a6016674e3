package authcache

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

func TestVerified(t *testing.T) {
	alice := Identity{UUID: "u-1", Generation: 1}
	for _, tc := range []struct {
		name     string
		user, pw string
		current  Identity
		after    time.Duration
		want     bool
	}{
		{"same pair within TTL", "alice", "pw", alice, 29 * time.Second, true},
		{"expired", "alice", "pw", alice, 30 * time.Second, false},
		{"wrong password", "alice", "pw2", alice, 0, false},
		{"other user, same password", "bob", "pw", alice, 0, false},
		{"ambiguous split of user and password", "alicep", "w", alice, 0, false},
		{"password changed", "alice", "pw", Identity{UUID: "u-1", Generation: 2}, 0, false},
		{"user re-created", "alice", "pw", Identity{UUID: "u-2", Generation: 1}, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := &clock{t: time.Unix(1000, 0)}
			c := &Cache{Now: clk.now}
			c.Remember("alice", "pw", alice)
			clk.advance(tc.after)
			if got := c.Verified(tc.user, tc.pw, tc.current); got != tc.want {
				t.Errorf("Verified(%q, %q, %+v) = %v, want %v", tc.user, tc.pw, tc.current, got, tc.want)
			}
		})
	}
}

func TestGenerationChangeDropsEntry(t *testing.T) {
	c := &Cache{}
	c.Remember("alice", "pw", Identity{"u", 1})
	if c.Verified("alice", "pw", Identity{"u", 2}) {
		t.Fatal("Verified with a new generation = true, want false")
	}
	// Even if the generation were to read the old value again (a stale
	// replica), the entry is gone: a fresh hash must run.
	if c.Verified("alice", "pw", Identity{"u", 1}) {
		t.Error("entry survived a generation mismatch")
	}
	if got := c.Len(); got != 0 {
		t.Errorf("Len = %d, want 0", got)
	}
}

func TestNoPasswordInMemory(t *testing.T) {
	c := &Cache{}
	c.Remember("alice", "hunter2-very-secret", Identity{"u", 1})
	// The map's keys are HMACs and its values hold no string but the uuid.
	s := fmt.Sprintf("%#v", c.m)
	for _, secret := range []string{"hunter2-very-secret", "alice"} {
		if strings.Contains(s, secret) {
			t.Errorf("cache memory holds %q", secret)
		}
	}
	if got := reflect.TypeOf(entry{}).NumField(); got != 2 {
		t.Errorf("entry has %d fields; review that none holds a secret", got)
	}
}

func TestBoundedMemory(t *testing.T) {
	clk := &clock{t: time.Unix(1000, 0)}
	c := &Cache{Now: clk.now, MaxEntries: 10}
	for i := range 25 {
		c.Remember(fmt.Sprint("user", i), "pw", Identity{"u", 1})
		if got := c.Len(); got > 10 {
			t.Fatalf("after %d inserts Len = %d, want <= 10", i+1, got)
		}
	}
	// The newest entry always survives eviction.
	if !c.Verified("user24", "pw", Identity{"u", 1}) {
		t.Error("newest entry was evicted")
	}
}

func TestKeyPerProcess(t *testing.T) {
	a, b := &Cache{}, &Cache{}
	a.Remember("x", "y", Identity{})
	b.Remember("x", "y", Identity{})
	if a.sum("x", "y") == b.sum("x", "y") {
		t.Error("two caches hash a pair equally: the HMAC key is not random")
	}
}
