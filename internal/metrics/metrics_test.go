package metrics

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/anchored/anchored/pkg/helper/ecr"
	"github.com/anchored/anchored/pkg/tokenserver"
)

type retry struct{}

func (retry) Error() string             { return "slow down" }
func (retry) RetryAfter() time.Duration { return time.Second }

// TestPasswordChecks: the wrapper tells hits (the guard answered without
// the inner check) from misses, and counts results by kind.
func TestPasswordChecks(t *testing.T) {
	m := New("test")
	inner := func(ctx context.Context, a tokenserver.PasswordAttempt) (tokenserver.User, error) {
		if a.Password == "good" {
			return tokenserver.User{Username: a.Username}, nil
		}
		return tokenserver.User{}, tokenserver.ErrBadCredentials
	}
	// A guard that answers "cached" pairs itself and throttles "mallory".
	guard := func(next tokenserver.PasswordCheck) tokenserver.PasswordCheck {
		return func(ctx context.Context, a tokenserver.PasswordAttempt) (tokenserver.User, error) {
			switch {
			case a.Username == "mallory":
				return tokenserver.User{}, retry{}
			case a.Username == "cached":
				return tokenserver.User{Username: "cached"}, nil
			}
			return next(ctx, a)
		}
	}
	check := m.WrapPasswordCheck(guard)(inner)
	for _, a := range []tokenserver.PasswordAttempt{
		{Username: "alice", Password: "good"}, {Username: "cached"}, {Username: "cached"},
		{Username: "alice", Password: "bad"}, {Username: "mallory"},
	} {
		check(context.Background(), a)
	}
	for _, c := range []struct {
		result string
		want   float64
	}{{"ok", 3}, {"failed", 1}, {"throttled", 1}, {"error", 0}} {
		if got := testutil.ToFloat64(m.logins.WithLabelValues(c.result)); got != c.want {
			t.Errorf("password checks %s = %v, want %v", c.result, got, c.want)
		}
	}
	if hit, miss := testutil.ToFloat64(m.authCache.WithLabelValues("hit")), testutil.ToFloat64(m.authCache.WithLabelValues("miss")); hit != 2 || miss != 2 {
		t.Errorf("cache hit %v miss %v, want 2 and 2", hit, miss)
	}
}

type fakeAWS struct{ fail bool }

func (fakeAWS) Parse(ctx context.Context, host string) (ecr.Registry, bool, error) {
	return ecr.Registry{}, true, nil
}

func (f fakeAWS) Fetch(ctx context.Context, host string, c ecr.Credentials) (ecr.Token, error) {
	if f.fail {
		return ecr.Token{}, errors.New("denied")
	}
	return ecr.Token{}, nil
}

// TestRoutesAndECR: per-route counts by code and latency samples; ECR
// fetches by result.
func TestRoutesAndECR(t *testing.T) {
	m := New("test")
	r := m.Route("GET", "/account")
	r.Observe(200, time.Millisecond)
	r.Observe(200, time.Millisecond)
	r.Observe(401, time.Millisecond)
	if got := testutil.ToFloat64(m.requests.WithLabelValues("GET", "/account", "200")); got != 2 {
		t.Errorf("200s = %v", got)
	}
	if got := testutil.ToFloat64(m.requests.WithLabelValues("GET", "/account", "401")); got != 1 {
		t.Errorf("401s = %v", got)
	}
	if n := testutil.CollectAndCount(m.latency); n != 1 {
		t.Errorf("%d latency series, want 1", n)
	}
	m.AWS(fakeAWS{}).Fetch(context.Background(), "h", ecr.Credentials{})
	m.AWS(fakeAWS{fail: true}).Fetch(context.Background(), "h", ecr.Credentials{})
	if ok, bad := testutil.ToFloat64(m.ecrFetches.WithLabelValues("ok")), testutil.ToFloat64(m.ecrFetches.WithLabelValues("error")); ok != 1 || bad != 1 {
		t.Errorf("ecr fetches ok %v error %v", ok, bad)
	}
}

// TestVaultReloads: each result is counted under its own label.
func TestVaultReloads(t *testing.T) {
	m := New("test")
	m.VaultReload(true)
	m.VaultReload(true)
	m.VaultReload(false)
	if ok, bad := testutil.ToFloat64(m.vaultReloads.WithLabelValues("ok")), testutil.ToFloat64(m.vaultReloads.WithLabelValues("error")); ok != 2 || bad != 1 {
		t.Errorf("vault reloads ok %v error %v, want 2 and 1", ok, bad)
	}
}
