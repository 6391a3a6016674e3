// Package registries is the one registry-entry workflow: names, types, the
// awsauto gate, duplicates, validation against the registry, ECR refresh,
// writes, and the Docker protocol's get/store/erase/list on the same
// entries. The management CLI, anchored's HTTP API and the helper protocol
// (in process and through anchored's socket) all call Service; none of
// them repeats a step, so one input gets one outcome and one message
// everywhere.
//
// Entries live behind Store, a seam with its own domain type (Entry): the
// vault file implements it here (VaultStore); a shared database can
// implement it too, held to storetest.Run.
//
// This package is linked into docker-credential-anchore (direct mode), so
// it must not import net/http or the AWS SDK: validation and ECR host
// recognition come in as interfaces.
package registries

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/anchored/anchored/pkg/helper"
	"github.com/anchored/anchored/pkg/helper/ecr"
)

// Observer hears every change to an entry and every read that hands out
// a secret, from every surface, in this one place (audit logs plug in
// here). It never receives a secret. Calls happen after the fact, on the
// caller's goroutine: keep them quick.
type Observer interface {
	// OnChange: an entry was added, updated, deleted, stored or erased.
	OnChange(ctx context.Context, ev Event)
	// OnRead: a "get" answered with an entry's credentials.
	OnRead(ctx context.Context, ev Event)
}

// Event names what happened; never a secret.
type Event struct {
	Op       string // "add", "update", "delete", "store", "erase", "get"
	Account  string
	Registry string // the entry's key
}

// Service runs the workflow over a Store. The zero values of its optional
// fields are safe.
type Service struct {
	Store Store
	// Resolver turns awsecr entries into ECR tokens (Resolve), refreshes
	// them on add, and recognises ECR hosts when Hosts is nil. nil: awsecr
	// entries cannot be served.
	Resolver *ecr.Resolver
	// Hosts recognises private ECR hosts; nil means Resolver's.
	Hosts HostParser
	// AllowIAMAuto is allow_awsecr_iam_auto: awsecr entries may use the
	// host's own AWS identity (awsauto, _iam_role).
	AllowIAMAuto bool
	// Validate checks credentials against the registry (pkg/helper/validate,
	// which needs net/http and so is injected). nil: a request that asks
	// for validation is refused.
	Validate func(ctx context.Context, account string, e Entry) error
	// Now is the clock of timestamps; nil means time.Now.
	Now func() time.Time
	// Observer hears changes and secret reads; nil hears nothing.
	Observer Observer
	// Log receives the warnings the workflow does not answer with (an ECR
	// refresh that failed on an add without validation); nil discards.
	Log *slog.Logger
}

// ErrNoValidator: validation was asked for and none is configured.
var ErrNoValidator = errors.New("registry validation is not available here; use --skip-validate (validate=false)")

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Service) changed(ctx context.Context, op, account, key string) {
	if s.Observer != nil {
		s.Observer.OnChange(ctx, Event{Op: op, Account: account, Registry: key})
	}
}

func (s *Service) hosts() HostParser {
	if s.Hosts != nil {
		return s.Hosts
	}
	if s.Resolver != nil {
		return s.Resolver
	}
	return nil
}

// checkECRHost refuses an entry that only works on a private ECR host
// (type awsecr, awsauto, _iam_role) anywhere else. A trailing "*" of the
// host part is a wildcard and is not part of the host.
func (s *Service) checkECRHost(ctx context.Context, e Entry) error {
	if !ecrOnly(e) {
		return nil
	}
	host, _, _ := strings.Cut(e.Registry, "/")
	host = strings.TrimSuffix(host, "*")
	p := s.hosts()
	if p == nil {
		return fmt.Errorf("%w: cannot tell ECR hosts here: %w", ErrNotECRHost, ecr.ErrNoAWS)
	}
	if host == "" {
		return ErrNotECRHost
	}
	_, ok, err := p.Parse(ctx, host)
	if err != nil {
		return fmt.Errorf("recognise ECR host %q: %w", host, err)
	}
	if !ok {
		return ErrNotECRHost
	}
	return nil
}

// gate is the awsauto check: Anchore's first step, 406 on the API.
func (s *Service) gate(e Entry) error {
	if e.Type == TypeAWSECR && usesHostIdentity(e) && !s.AllowIAMAuto {
		return ecr.ErrIAMAutoDisabled
	}
	return nil
}

func (s *Service) validate(ctx context.Context, account string, e Entry) error {
	if s.Validate == nil {
		return ErrNoValidator
	}
	return s.Validate(ctx, account, e)
}

// AddInput is a new entry as a caller gives it. Type "" is docker_v2 (the
// CLI guesses before calling: GuessType).
type AddInput struct {
	Registry, Name, Type, User, Pass string
	Verify                           bool
}

// Add adds an entry, in Anchore's order: the type, the awsauto gate, the
// name, the ECR host, duplicates (before the registry is asked: no
// needless network call), validation, the write, and for an awsecr entry
// added without validation a token refresh whose failure is only logged
// (as Anchore does). A refusal stores nothing.
func (s *Service) Add(ctx context.Context, account string, in AddInput, validate bool) (Entry, error) {
	e := Entry{Registry: in.Registry, Name: in.Name, Type: in.Type, User: in.User, Pass: in.Pass, Verify: in.Verify}
	if e.Type == "" {
		e.Type = TypeDockerV2
	}
	if err := CheckType(e.Type); err != nil {
		return Entry{}, err
	}
	if err := s.gate(e); err != nil {
		return Entry{}, err
	}
	key, err := CheckName(e.Registry)
	if err != nil {
		return Entry{}, err
	}
	e.Registry = key
	if e.Name == "" {
		e.Name = key
	}
	if err := s.checkECRHost(ctx, e); err != nil {
		return Entry{}, err
	}
	if _, err := s.Store.GetRegistry(ctx, account, key); err == nil {
		return Entry{}, ErrExists
	} else if !errors.Is(err, ErrRegistryNotFound) {
		return Entry{}, err
	}
	if validate {
		if err := s.validate(ctx, account, e); err != nil {
			return Entry{}, err
		}
	}
	now := s.now()
	e.CreatedAt, e.LastUpdated = now, now
	err = s.Store.ChangeRegistry(ctx, account, key, func(cur *Entry) (*Entry, error) {
		if cur != nil {
			return nil, ErrExists
		}
		next := e
		return &next, nil
	})
	if err != nil {
		return Entry{}, err
	}
	s.changed(ctx, "add", account, key)
	if !validate && e.Type == TypeAWSECR {
		s.refreshECR(ctx, account, e)
	}
	return e, nil
}

// refreshECR fetches a token for an awsecr entry added without validation,
// so the first pull finds it ready; a failure is logged, not answered.
func (s *Service) refreshECR(ctx context.Context, account string, e Entry) {
	if s.Resolver == nil {
		return
	}
	host, _, _ := strings.Cut(e.Registry, "/")
	if strings.HasSuffix(host, "*") {
		return
	}
	if _, err := s.Resolver.Token(ctx, account, host, ecr.Credentials{User: e.User, Pass: e.Pass}); err != nil && s.Log != nil {
		s.Log.WarnContext(ctx, "ECR token refresh on add failed", slog.String("registry", e.Registry), slog.Any("err", err))
	}
}

// Patch is a partial update: nil fields keep their stored values (Anchore
// changes only the fields that are sent).
type Patch struct {
	Name, Type, User, Pass *string
	Verify                 *bool
}

func (p Patch) apply(e Entry) Entry {
	if p.Name != nil {
		e.Name = *p.Name
		if e.Name == "" {
			e.Name = e.Registry
		}
	}
	if p.Type != nil && *p.Type != "" {
		e.Type = *p.Type
	}
	if p.User != nil {
		e.User = *p.User
	}
	if p.Pass != nil {
		e.Pass = *p.Pass
	}
	if p.Verify != nil {
		e.Verify = *p.Verify
	}
	return e
}

// Update changes the given fields of the entry of registry. The checks of
// Add run on the entry as it will be (the stored one with the patch
// applied); with validate, the registry is asked with it (ours: for awsecr
// a token is fetched, where Anchore fails, anchore-engine #847).
func (s *Service) Update(ctx context.Context, account, registry string, p Patch, validate bool) (Entry, error) {
	if p.Type != nil && *p.Type != "" {
		if err := CheckType(*p.Type); err != nil {
			return Entry{}, err
		}
	}
	key, err := CheckName(registry)
	if err != nil {
		return Entry{}, err
	}
	old, err := s.Store.GetRegistry(ctx, account, key)
	if err != nil {
		return Entry{}, err
	}
	e := p.apply(old)
	if err := s.gate(e); err != nil {
		return Entry{}, err
	}
	if err := s.checkECRHost(ctx, e); err != nil {
		return Entry{}, err
	}
	if validate {
		if err := s.validate(ctx, account, e); err != nil {
			return Entry{}, err
		}
	}
	now := s.now()
	var out Entry
	err = s.Store.ChangeRegistry(ctx, account, key, func(cur *Entry) (*Entry, error) {
		if cur == nil {
			return nil, ErrRegistryNotFound
		}
		next := p.apply(*cur)
		next.LastUpdated = now
		out = next
		return &next, nil
	})
	if err != nil {
		return Entry{}, err
	}
	s.changed(ctx, "update", account, key)
	return out, nil
}

// Delete removes the entry of registry, managed or not; deleting what is
// not there succeeds and writes nothing (Anchore answers 200 true).
func (s *Service) Delete(ctx context.Context, account, registry string) error {
	key := EntryKey(registry)
	found := false
	err := s.Store.ChangeRegistry(ctx, account, key, func(cur *Entry) (*Entry, error) {
		if cur == nil {
			return nil, ErrNoChange
		}
		found = true
		return nil, nil
	})
	if err == nil && found {
		s.changed(ctx, "delete", account, key)
	}
	return err
}

// Get returns the entry of exactly registry's key.
func (s *Service) Get(ctx context.Context, account, registry string) (Entry, error) {
	return s.Store.GetRegistry(ctx, account, EntryKey(registry))
}

// List returns account's entries sorted by registry.
func (s *Service) List(ctx context.Context, account string) ([]Entry, error) {
	return s.Store.ListRegistries(ctx, account)
}

// Resolve is the protocol's "get": the entry for serverURL by the lookup
// rule (SPEC section 3), and the credentials to send: stored user and
// secret, or for awsecr an ECR token. No match wraps helper.ErrNotFound.
func (s *Service) Resolve(ctx context.Context, account, serverURL string) (helper.Credentials, error) {
	k, err := helper.Normalize(serverURL)
	if err != nil {
		return helper.Credentials{}, err
	}
	entries, err := s.Store.ListRegistries(ctx, account)
	if err != nil {
		return helper.Credentials{}, helper.Unavailable(err)
	}
	r, ok := Lookup(entries, k)
	if !ok {
		return helper.Credentials{}, fmt.Errorf("%w: %q", helper.ErrNotFound, k.Key)
	}
	c := helper.Credentials{ServerURL: serverURL, Username: r.User, Secret: r.Pass}
	if r.Type == TypeAWSECR {
		if s.Resolver == nil {
			return helper.Credentials{}, fmt.Errorf("ecr entry %q: no ECR resolver configured", r.Registry)
		}
		// The token is for the host asked: the entry matched k by the
		// lookup rule, so its host is k's unless it is a wildcard, when k's
		// host is the one to ask for.
		tok, err := s.Resolver.Token(ctx, account, k.Host, ecr.Credentials{User: r.User, Pass: r.Pass})
		if err != nil {
			return helper.Credentials{}, fmt.Errorf("ecr entry %q: %w", r.Registry, err)
		}
		c.Username, c.Secret = tok.Username, tok.Password
	}
	if s.Observer != nil {
		s.Observer.OnRead(ctx, Event{Op: "get", Account: account, Registry: r.Registry})
	}
	return c, nil
}

// managedErr is the refusal of "store" or "erase" over an awsecr entry.
func managedErr(key, use string) error {
	return fmt.Errorf("%q %w; %s", key, ErrManaged, use)
}

// StoreCredentials is the protocol's "store" ("docker login"): c under the
// normalised key of its server URL, type docker_v2, keeping an existing
// entry's creation time, name and TLS setting. Storing what is already
// there writes nothing. An awsecr entry is never replaced: its AWS keys
// would give way to a token that expires in 12 hours.
func (s *Service) StoreCredentials(ctx context.Context, account string, c helper.Credentials) error {
	k, err := helper.Normalize(c.ServerURL)
	if err != nil {
		return err
	}
	now := s.now()
	wrote := false
	err = s.Store.ChangeRegistry(ctx, account, k.Key, func(cur *Entry) (*Entry, error) {
		wrote = false
		next := Entry{Name: k.Key, Type: TypeDockerV2, User: c.Username, Pass: c.Secret, Verify: true,
			ServerURL: c.ServerURL, CreatedAt: now, LastUpdated: now}
		if cur != nil {
			if cur.Type == TypeAWSECR {
				return nil, managedErr(k.Key, "change it with 'registry update'")
			}
			if cur.Type == TypeDockerV2 && cur.User == c.Username && cur.Pass == c.Secret && cur.ServerURL == c.ServerURL {
				return nil, ErrNoChange
			}
			next.CreatedAt, next.Name, next.Verify = cur.CreatedAt, cur.Name, cur.Verify
		}
		wrote = true
		return &next, nil
	})
	if err == nil && wrote {
		s.changed(ctx, "store", account, k.Key)
	}
	return err
}

// EraseCredentials is the protocol's "erase" ("docker logout"): exactly
// the normalised key, never an entry the lookup rule would find. Erasing
// what is not there succeeds and writes nothing. An awsecr entry is
// refused: "registry del" removes it.
func (s *Service) EraseCredentials(ctx context.Context, account, serverURL string) error {
	k, err := helper.Normalize(serverURL)
	if err != nil {
		return err
	}
	found := false
	err = s.Store.ChangeRegistry(ctx, account, k.Key, func(cur *Entry) (*Entry, error) {
		switch {
		case cur == nil:
			return nil, ErrNoChange
		case cur.Type == TypeAWSECR:
			return nil, managedErr(k.Key, "remove it with 'registry del'")
		}
		found = true
		return nil, nil
	})
	if err == nil && found {
		s.changed(ctx, "erase", account, k.Key)
	}
	return err
}

// ListCredentials is the protocol's "list": each entry's server URL as a
// client stored it (the key for entries made by "registry add") to its
// user. Never a secret.
func (s *Service) ListCredentials(ctx context.Context, account string) (map[string]string, error) {
	entries, err := s.Store.ListRegistries(ctx, account)
	if err != nil {
		return nil, helper.Unavailable(err)
	}
	out := make(map[string]string, len(entries))
	for _, e := range entries {
		u := e.ServerURL
		if u == "" {
			u = e.Registry
		}
		out[u] = e.User
	}
	return out, nil
}
