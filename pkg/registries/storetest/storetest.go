// Package storetest is the behaviour every registries.Store must pass
// (STYLE: one body, every implementation). The vault store runs it today;
// a shared database store runs the same body.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/anchored/anchored/pkg/registries"
)

// Open returns a new handle on one storage: two handles are two processes
// (two daemons, or a daemon and the helper) sharing it.
type Open func() registries.Store

// Run runs the body. newStorage makes a fresh, empty storage and returns
// how to open handles on it.
func Run(t *testing.T, newStorage func(t *testing.T) Open) {
	ctx := context.Background()
	t0 := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	entry := func(key, user string) registries.Entry {
		return registries.Entry{Registry: key, Name: key, Type: registries.TypeDockerV2, User: user, Pass: "secret-" + user,
			Verify: true, CreatedAt: t0, LastUpdated: t0}
	}
	put := func(t *testing.T, s registries.Store, account string, e registries.Entry) {
		t.Helper()
		if err := s.ChangeRegistry(ctx, account, e.Registry, func(*registries.Entry) (*registries.Entry, error) { return &e, nil }); err != nil {
			t.Fatalf("put %s: %v", e.Registry, err)
		}
	}

	t.Run("empty", func(t *testing.T) {
		s := newStorage(t)()
		list, err := s.ListRegistries(ctx, "admin")
		if err != nil || list == nil || len(list) != 0 {
			t.Errorf("ListRegistries = %#v, %v; want an empty list", list, err)
		}
		if _, err := s.GetRegistry(ctx, "admin", "reg.example.com"); !errors.Is(err, registries.ErrRegistryNotFound) {
			t.Errorf("GetRegistry = %v, want ErrRegistryNotFound", err)
		}
	})

	t.Run("round trip, sorted, per account", func(t *testing.T) {
		s := newStorage(t)()
		want := []registries.Entry{entry("a.example.com", "a"), entry("b.example.com/team/*", "b"), entry("c.example.com:5000", "c")}
		want[1].ServerURL, want[1].Verify, want[1].Type = "https://b.example.com/v2/", false, registries.TypeAWSECR
		for _, i := range []int{2, 0, 1} {
			put(t, s, "admin", want[i])
		}
		put(t, s, "other", entry("a.example.com", "other-user"))
		got, err := s.ListRegistries(ctx, "admin")
		if err != nil || !equalEntries(got, want) {
			t.Errorf("ListRegistries = %+v, %v; want %+v", got, err, want)
		}
		e, err := s.GetRegistry(ctx, "other", "a.example.com")
		if err != nil || e.User != "other-user" {
			t.Errorf("GetRegistry(other) = %+v, %v", e, err)
		}
		if _, err := s.GetRegistry(ctx, "admin", "A.example.com"); !errors.Is(err, registries.ErrRegistryNotFound) {
			t.Errorf("keys are compared as given: %v", err)
		}
	})

	t.Run("change sees current, deletes, aborts", func(t *testing.T) {
		s := newStorage(t)()
		put(t, s, "admin", entry("a.example.com", "a"))
		// Neighbours every change below must leave as they are: another
		// key of the account, and the same key of another account.
		neighbours := map[string][]registries.Entry{
			"admin": {entry("b.example.com", "b")},
			"other": {entry("a.example.com", "other-user")},
		}
		for account, es := range neighbours {
			put(t, s, account, es[0])
		}
		untouched := func(after string) {
			t.Helper()
			for account, want := range neighbours {
				got, err := s.ListRegistries(ctx, account)
				if account == "admin" && len(got) > 0 && got[0].Registry == "a.example.com" {
					got = got[1:] // the entry being changed
				}
				if err != nil || !equalEntries(got, want) {
					t.Errorf("after %s, %s's other entries = %+v, %v; want %+v", after, account, got, err, want)
				}
			}
		}
		var saw *registries.Entry
		err := s.ChangeRegistry(ctx, "admin", "a.example.com", func(cur *registries.Entry) (*registries.Entry, error) {
			saw = cur
			next := *cur
			next.User = "changed"
			next.Registry = "ignored" // the key wins
			return &next, nil
		})
		if err != nil || saw == nil || saw.User != "a" {
			t.Fatalf("change: %v, saw %+v", err, saw)
		}
		wantChanged := entry("a.example.com", "a")
		wantChanged.User = "changed"
		if e, err := s.GetRegistry(ctx, "admin", "a.example.com"); err != nil || !equalEntries([]registries.Entry{e}, []registries.Entry{wantChanged}) {
			t.Errorf("after change: %+v, %v; want %+v", e, err, wantChanged)
		}
		untouched("a change")
		boom := errors.New("boom")
		for _, abort := range []error{registries.ErrNoChange, boom} {
			err := s.ChangeRegistry(ctx, "admin", "a.example.com", func(*registries.Entry) (*registries.Entry, error) { return nil, abort })
			if abort == registries.ErrNoChange && err != nil || abort == boom && !errors.Is(err, boom) {
				t.Errorf("abort with %v: returned %v", abort, err)
			}
		}
		if e, err := s.GetRegistry(ctx, "admin", "a.example.com"); err != nil || e.User != "changed" {
			t.Errorf("an aborted change changed %+v, %v", e, err)
		}
		err = s.ChangeRegistry(ctx, "admin", "absent.example.com", func(cur *registries.Entry) (*registries.Entry, error) {
			if cur != nil {
				t.Errorf("absent entry given as %+v", cur)
			}
			return nil, nil
		})
		if err != nil {
			t.Errorf("deleting what is not there: %v", err)
		}
		if err := s.ChangeRegistry(ctx, "admin", "a.example.com", func(*registries.Entry) (*registries.Entry, error) { return nil, nil }); err != nil {
			t.Errorf("delete: %v", err)
		}
		if _, err := s.GetRegistry(ctx, "admin", "a.example.com"); !errors.Is(err, registries.ErrRegistryNotFound) {
			t.Errorf("after delete: %v", err)
		}
		untouched("a delete")
	})

	t.Run("other handles see changes", func(t *testing.T) {
		open := newStorage(t)
		a, b := open(), open()
		put(t, a, "admin", entry("a.example.com", "a"))
		if e, err := b.GetRegistry(ctx, "admin", "a.example.com"); err != nil || e.User != "a" {
			t.Errorf("other handle: %+v, %v", e, err)
		}
		put(t, b, "admin", entry("a.example.com", "b"))
		if list, err := a.ListRegistries(ctx, "admin"); err != nil || len(list) != 1 || list[0].User != "b" {
			t.Errorf("first handle after the other's write: %+v, %v", list, err)
		}
	})

	t.Run("changes are atomic", func(t *testing.T) {
		open := newStorage(t)
		put(t, open(), "admin", entry("a.example.com", ""))
		const n = 8
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range n {
			s := open()
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- s.ChangeRegistry(ctx, "admin", "a.example.com", func(cur *registries.Entry) (*registries.Entry, error) {
					next := *cur
					next.User += fmt.Sprint(i % 10)
					return &next, nil
				})
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Errorf("change: %v", err)
			}
		}
		e, err := open().GetRegistry(ctx, "admin", "a.example.com")
		if err != nil || len(e.User) != n {
			t.Errorf("after %d concurrent appends: %q, %v (a lost update)", n, e.User, err)
		}
	})
}

func equalEntries(a, b []registries.Entry) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if !x.CreatedAt.Equal(y.CreatedAt) || !x.LastUpdated.Equal(y.LastUpdated) {
			return false
		}
		x.CreatedAt, x.LastUpdated, y.CreatedAt, y.LastUpdated = time.Time{}, time.Time{}, time.Time{}, time.Time{}
		if !reflect.DeepEqual(x, y) {
			return false
		}
	}
	return true
}
