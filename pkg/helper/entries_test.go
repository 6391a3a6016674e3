package helper

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/anchored/anchored/pkg/helper/ecr/awsecr"
	"github.com/anchored/anchored/pkg/vault"
)

var t0 = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func TestAddRegistry(t *testing.T) {
	d := vault.NewDocument()
	r, err := AddRegistry(d, "admin", Entry{Registry: "Registry.Example.com:5000", User: "u", Pass: "p", Verify: true}, t0)
	if err != nil {
		t.Fatal(err)
	}
	if r.Registry != "registry.example.com:5000" || r.Name != r.Registry || r.Type != TypeDockerV2 || !r.CreatedAt.Equal(t0) {
		t.Errorf("added %+v", r)
	}
	for _, tc := range []struct {
		name string
		e    Entry
		want error
		msg  string
	}{
		{"trailing slash", Entry{Registry: "registry.example.com/"}, ErrTrailingSlash, `input registry name cannot end with trailing '/' characters: "registry.example.com/"`},
		{"scheme", Entry{Registry: "https://registry.example.com"}, ErrScheme, `input registry name must start with a hostname/ip, without URI schema (http://, https://): "https://registry.example.com"`},
		{"duplicate", Entry{Registry: "registry.example.com:5000"}, ErrExists, `registry already exists in DB: "registry.example.com:5000"`},
		{"unknown type", Entry{Registry: "other.example.com", Type: "gcr"}, ErrUnknownType, `unknown registry type (want docker_v2 or awsecr): "gcr"`},
		{"empty", Entry{Registry: " "}, ErrNoRegistry, "registry name is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := AddRegistry(d, "admin", tc.e, t0)
			if !errors.Is(err, tc.want) || err.Error() != tc.msg {
				t.Errorf("got %v, want %q", err, tc.msg)
			}
		})
	}
	if n := len(d.Registries["admin"]); n != 1 {
		t.Errorf("%d entries after rejected adds, want 1", n)
	}
}

func TestUpdateKeepsType(t *testing.T) {
	d := vault.NewDocument()
	const host = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
	if _, err := AddRegistry(d, "admin", Entry{Registry: host, Type: TypeAWSECR, User: "AKIA1", Pass: "s1", Name: "prod"}, t0); err != nil {
		t.Fatal(err)
	}
	r, err := UpdateRegistry(d, "admin", Entry{Registry: host, User: "AKIA2", Pass: "s2"}, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if r.Type != TypeAWSECR || r.Name != "prod" || r.User != "AKIA2" || r.Pass != "s2" || !r.CreatedAt.Equal(t0) || !r.LastUpdated.Equal(t0.Add(time.Hour)) {
		t.Errorf("updated %+v", r)
	}
	if _, err := UpdateRegistry(d, "admin", Entry{Registry: "nope.example.com"}, t0); !errors.Is(err, ErrRegistryNotFound) {
		t.Errorf("update of a missing entry: %v, want ErrRegistryNotFound", err)
	}
	if !DeleteRegistry(d, "admin", host) || DeleteRegistry(d, "admin", host) {
		t.Errorf("delete twice: want true then false")
	}
}

func TestListAndRecord(t *testing.T) {
	d := vault.NewDocument()
	for _, reg := range []string{"b.example.com", "a.example.com", "c.example.com/x/*"} {
		if _, err := AddRegistry(d, "admin", Entry{Registry: reg, User: "u", Pass: "secret"}, t0); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := AddRegistry(d, "other", Entry{Registry: "z.example.com", User: "u", Pass: "p"}, t0); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range ListRegistries(d, "admin") {
		got = append(got, r.Registry)
	}
	want := []string{"a.example.com", "b.example.com", "c.example.com/x/*"}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("list = %v, want %v", got, want)
	}
	rec := Record(d.Registries["admin"]["a.example.com"], "admin")
	if rec.CreatedAt != "2026-11-23T12:00:00Z" || rec.UserID != "admin" || rec.RegistryUser != "u" {
		t.Errorf("record %+v", rec)
	}
}

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

// AddRegistry without a type stores docker_v2 (callers guess first).
func TestAddRegistryDefaultType(t *testing.T) {
	d := vault.NewDocument()
	r, err := AddRegistry(d, "admin", Entry{Registry: "123456789012.dkr.ecr.us-east-1.amazonaws.com", User: "u", Pass: "p"}, t0)
	if err != nil || r.Type != TypeDockerV2 {
		t.Errorf("AddRegistry without a type = %+v, %v; want docker_v2", r, err)
	}
}
