package registries

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/anchored/anchored/pkg/helper"
	"github.com/anchored/anchored/pkg/helper/ecr"
	"github.com/anchored/anchored/pkg/helper/ecr/awsecr"
	"github.com/anchored/anchored/pkg/vault"
)

var t0 = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func TestGuessType(t *testing.T) {
	for _, tc := range []struct {
		reg     string
		want    string
		guessed bool
	}{
		{"123456789012.dkr.ecr.us-east-1.amazonaws.com", TypeAWSECR, true},
		{"123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/repo", TypeAWSECR, true},
		{"public.ecr.aws", TypeDockerV2, false},
		{"registry.example.com", TypeDockerV2, false},
	} {
		got, guessed, err := GuessType(context.Background(), awsecr.Client{}, tc.reg)
		if err != nil || got != tc.want || guessed != tc.guessed {
			t.Errorf("GuessType(%q) = %q, %v, %v; want %q, %v", tc.reg, got, guessed, err, tc.want, tc.guessed)
		}
	}
	// A parser that cannot answer is an error, never a silent docker_v2.
	if typ, _, err := GuessType(context.Background(), &fakeAWS{err: errNoAnchored}, "123456789012.dkr.ecr.us-east-1.amazonaws.com"); !errors.Is(err, errNoAnchored) || typ != "" {
		t.Errorf("GuessType with a failing parser = %q, %v; want an error", typ, err)
	}
}

type recorder struct{ events []string }

func (r *recorder) OnChange(_ context.Context, ev Event) {
	r.events = append(r.events, "change "+ev.Op+" "+ev.Account+" "+ev.Registry)
}
func (r *recorder) OnRead(_ context.Context, ev Event) {
	r.events = append(r.events, "read "+ev.Op+" "+ev.Account+" "+ev.Registry)
}

// Every change and every read that hands out a secret reaches the one
// Observer, once; refusals and no-ops do not.
func TestObserverSeesEveryChange(t *testing.T) {
	ctx := context.Background()
	v := newVault(t)
	rec := &recorder{}
	s := &Service{Store: &VaultStore{V: v}, Hosts: awsecr.Client{}, Now: func() time.Time { return t0 }, Observer: rec}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err := s.Add(ctx, "admin", AddInput{Registry: "reg.example.com", User: "u", Pass: "p"}, false)
	must(err)
	if _, err := s.Add(ctx, "admin", AddInput{Registry: "reg.example.com", User: "u", Pass: "p"}, false); !errors.Is(err, ErrExists) {
		t.Errorf("duplicate: %v", err)
	}
	user := "u2"
	_, err = s.Update(ctx, "admin", "reg.example.com", Patch{User: &user}, false)
	must(err)
	c := helper.Credentials{ServerURL: "https://hub.example.com/v1/", Username: "h", Secret: "hs"}
	must(s.StoreCredentials(ctx, "admin", c))
	must(s.StoreCredentials(ctx, "admin", c)) // unchanged: no event
	got, err := s.Resolve(ctx, "admin", "reg.example.com/team/app")
	if err != nil || got.Username != "u2" || got.Secret != "p" {
		t.Errorf("Resolve = %+v, %v", got, err)
	}
	if _, err := s.Resolve(ctx, "admin", "nothing.example.com"); !errors.Is(err, helper.ErrNotFound) {
		t.Errorf("Resolve of nothing: %v", err)
	}
	must(s.EraseCredentials(ctx, "admin", "hub.example.com"))
	must(s.EraseCredentials(ctx, "admin", "hub.example.com")) // not there: no event
	must(s.Delete(ctx, "admin", "reg.example.com"))
	must(s.Delete(ctx, "admin", "reg.example.com"))
	want := []string{
		"change add admin reg.example.com",
		"change update admin reg.example.com",
		"change store admin hub.example.com",
		"read get admin reg.example.com",
		"change erase admin hub.example.com",
		"change delete admin reg.example.com",
	}
	if !reflect.DeepEqual(rec.events, want) {
		t.Errorf("events:\n%s\nwant:\n%s", strings.Join(rec.events, "\n"), strings.Join(want, "\n"))
	}
}

// Validation runs only when asked, after every other check, and a failed
// one stores nothing; asked without a validator, the add is refused.
func TestAddValidation(t *testing.T) {
	ctx := context.Background()
	v := newVault(t)
	s := &Service{Store: &VaultStore{V: v}, Hosts: awsecr.Client{}}
	if _, err := s.Add(ctx, "admin", AddInput{Registry: "reg.example.com", User: "u", Pass: "p"}, true); !errors.Is(err, ErrNoValidator) {
		t.Errorf("no validator: %v", err)
	}
	refused := errors.New("refused by the registry")
	var checked []string
	s.Validate = func(_ context.Context, account string, e Entry) error {
		checked = append(checked, account+" "+e.Registry)
		return refused
	}
	if _, err := s.Add(ctx, "admin", AddInput{Registry: "reg.example.com/", User: "u", Pass: "p"}, true); !errors.Is(err, ErrTrailingSlash) {
		t.Errorf("bad name: %v", err)
	}
	if _, err := s.Add(ctx, "admin", AddInput{Registry: "Reg.Example.com", User: "u", Pass: "p"}, true); !errors.Is(err, refused) {
		t.Errorf("refused: %v", err)
	}
	if list, _ := s.List(ctx, "admin"); len(list) != 0 || !reflect.DeepEqual(checked, []string{"admin reg.example.com"}) {
		t.Errorf("stored %v, checked %v", list, checked)
	}
}

// Update runs Add's checks on the entry as it will be, and a refusal
// changes nothing.
func TestUpdateChecks(t *testing.T) {
	ctx := context.Background()
	v := newVault(t)
	const ecrHost = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
	s := &Service{Store: &VaultStore{V: v}, Hosts: awsecr.Client{}, Now: func() time.Time { return t0 }}
	for _, in := range []AddInput{
		{Registry: "reg.example.com", User: "u", Pass: "p"},
		{Registry: ecrHost, Type: TypeAWSECR, User: "AKIAEXAMPLE", Pass: "s"},
	} {
		if _, err := s.Add(ctx, "admin", in, false); err != nil {
			t.Fatal(err)
		}
	}
	str := func(s string) *string { return &s }
	for _, tc := range []struct {
		name, registry string
		p              Patch
		want           error
	}{
		{"awsecr on a non-ECR host", "reg.example.com", Patch{Type: str(TypeAWSECR)}, ErrNotECRHost},
		{"awsauto on a non-ECR host", "reg.example.com", Patch{User: str("awsauto")}, ErrNotECRHost},
		{"awsauto gated", ecrHost, Patch{User: str("awsauto"), Pass: str("awsauto")}, ecr.ErrIAMAutoDisabled},
		{"_iam_role gated", ecrHost, Patch{User: str("_iam_role")}, ecr.ErrIAMAutoDisabled},
		{"unknown type", "reg.example.com", Patch{Type: str("gcr")}, ErrUnknownType},
		{"missing", "absent.example.com", Patch{User: str("x")}, ErrRegistryNotFound},
		{"bad name", "reg.example.com/", Patch{User: str("x")}, ErrTrailingSlash},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, _ := s.List(ctx, "admin")
			if _, err := s.Update(ctx, "admin", tc.registry, tc.p, false); !errors.Is(err, tc.want) {
				t.Errorf("Update: %v, want %v", err, tc.want)
			}
			if after, _ := s.List(ctx, "admin"); !reflect.DeepEqual(after, before) {
				t.Errorf("a refused update changed the entries")
			}
		})
	}
}

// The writes change what they say and nothing else: an add stamps one
// time; an update only its fields and LastUpdated; a "store" over an
// added entry keeps its creation time, name and TLS setting; no write
// touches another entry or another account.
func TestWritesChangeNothingElse(t *testing.T) {
	ctx := context.Background()
	tick := t0
	s := &Service{Store: &VaultStore{V: newVault(t)}, Hosts: awsecr.Client{}, Now: func() time.Time {
		tick = tick.Add(time.Second)
		return tick
	}}
	add := func(account string, in AddInput) Entry {
		t.Helper()
		e, err := s.Add(ctx, account, in, false)
		if err != nil {
			t.Fatal(err)
		}
		if !e.CreatedAt.Equal(e.LastUpdated) {
			t.Errorf("add of %s: created %v, last updated %v; want one time", e.Registry, e.CreatedAt, e.LastUpdated)
		}
		return e
	}
	a := add("admin", AddInput{Registry: "a.example.com", Name: "A", User: "ua", Pass: "pa", Verify: false})
	b := add("admin", AddInput{Registry: "b.example.com", User: "ub", Pass: "pb", Verify: true})
	other := add("other", AddInput{Registry: "a.example.com", User: "uo", Pass: "po", Verify: true})
	list := func(account string) []Entry {
		t.Helper()
		es, err := s.List(ctx, account)
		if err != nil {
			t.Fatal(err)
		}
		return es
	}
	check := func(what string, want ...Entry) {
		t.Helper()
		if got := list("admin"); !reflect.DeepEqual(got, want) {
			t.Errorf("after %s: admin's entries\n%+v\nwant\n%+v", what, got, want)
		}
		if got := list("other"); !reflect.DeepEqual(got, []Entry{other}) {
			t.Errorf("after %s: other's entries changed: %+v", what, got)
		}
	}
	check("add", a, b)

	user := "ua2"
	got, err := s.Update(ctx, "admin", "a.example.com", Patch{User: &user}, false)
	if err != nil {
		t.Fatal(err)
	}
	wantA := a
	wantA.User, wantA.LastUpdated = user, got.LastUpdated
	if !got.LastUpdated.After(a.LastUpdated) || !reflect.DeepEqual(got, wantA) {
		t.Errorf("update = %+v, want %+v with a later LastUpdated", got, wantA)
	}
	check("update", wantA, b)

	c := helper.Credentials{ServerURL: "https://a.example.com", Username: "login", Secret: "token"}
	if err := s.StoreCredentials(ctx, "admin", c); err != nil {
		t.Fatal(err)
	}
	stored := list("admin")[0]
	wantA.User, wantA.Pass, wantA.ServerURL, wantA.LastUpdated = c.Username, c.Secret, c.ServerURL, stored.LastUpdated
	if !stored.LastUpdated.After(got.LastUpdated) {
		t.Errorf("store: LastUpdated %v not after %v", stored.LastUpdated, got.LastUpdated)
	}
	check("store", wantA, b)

	if err := s.EraseCredentials(ctx, "admin", "a.example.com"); err != nil {
		t.Fatal(err)
	}
	check("erase", b)
}

// newVault is a fresh vault at the lowest work factor.
func newVault(t *testing.T) *vault.Vault {
	t.Helper()
	path := filepath.Join(t.TempDir(), "state", "vault")
	v, err := vault.Create(context.Background(), path, "pass", nil, vault.WithWorkFactor(vault.MinWorkFactor))
	if err != nil {
		t.Fatal(err)
	}
	return v
}
