package daemon

import (
	"testing"
	"time"
)

// TestRefusalLogRateLimit: refused connections are logged at most once per
// peer uid per minute, and the next warning counts those left out.
func TestRefusalLogRateLimit(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	r := refusalLog{now: func() time.Time { return now }}
	type step struct {
		advance   time.Duration
		uid       int
		wantLog   bool
		wantCount int
	}
	for i, s := range []step{
		{0, 1000, true, 0},
		{time.Second, 1000, false, 0},
		{time.Second, 1000, false, 0},
		{0, 1001, true, 0}, // another uid has its own budget
		{0, -1, true, 0},   // credentials unavailable: a budget of its own
		{time.Minute, 1000, true, 2},
		{time.Second, 1000, false, 0},
		{time.Second, 1001, true, 0},
	} {
		now = now.Add(s.advance)
		gotLog, gotCount := r.allow(s.uid)
		if gotLog != s.wantLog || gotCount != s.wantCount {
			t.Errorf("step %d (uid %d): allow = %v, %d; want %v, %d", i, s.uid, gotLog, gotCount, s.wantLog, s.wantCount)
		}
	}

	// A flood of distinct uids does not grow the map without bound.
	for uid := range 3 * maxRefusalUIDs {
		r.allow(10000 + uid)
	}
	if n := len(r.last); n > maxRefusalUIDs {
		t.Errorf("%d uids remembered, want at most %d", n, maxRefusalUIDs)
	}
}
