package helper

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/anchored/anchored/pkg/apitype"
	"github.com/anchored/anchored/pkg/helper/ecr"
	"github.com/anchored/anchored/pkg/vault"
)

// Registry types (Anchore's registry_type).
const (
	TypeDockerV2 = "docker_v2"
	TypeAWSECR   = "awsecr"
)

// Errors of the registry-entry operations. The texts of the first four are
// Anchore's; anchored maps them to its status codes (409, 409, 404, 400) and
// the CLI to exit 1 (exit 2 for ErrUnknownType, a usage error).
var (
	ErrTrailingSlash    = errors.New("input registry name cannot end with trailing '/' characters")
	ErrScheme           = errors.New("input registry name must start with a hostname/ip, without URI schema (http://, https://)")
	ErrExists           = errors.New("registry already exists in DB")
	ErrRegistryNotFound = errors.New("registry not found in DB")
	ErrUnknownType      = errors.New("unknown registry type (want docker_v2 or awsecr)")
	ErrNoRegistry       = errors.New("registry name is empty")
)

// GuessWarning is anchore-cli's warning when it guesses the awsecr type.
const GuessWarning = "WARN: setting registry type to 'awsecr' based on form of input registry name, remove and re-add using '--registry-type docker_v2' to override"

// Entry is the input of AddRegistry and UpdateRegistry.
type Entry struct {
	Registry string // host[:port][/repo...][*]
	Name     string // "" = Registry (add) or unchanged (update)
	Type     string // "" = guessed (add) or unchanged (update)
	User     string
	Pass     string
	Verify   bool // verify TLS
	// ServerURL is the server URL as a Docker client sent it (store only).
	ServerURL string
}

// HostParser recognises ECR hosts: ecr.AWS's Parse (awsecr in process, or
// through "anchored ecr" in the helper, which does not link ecr-login).
type HostParser interface {
	Parse(ctx context.Context, host string) (ecr.Registry, bool, error)
}

// GuessType returns the type a registry gets when none is given: awsecr for
// an ECR host (as ecr-login recognises them, asked through p; ECR Public is
// not one), else docker_v2. guessed reports an awsecr guess, which deserves
// GuessWarning. err is p failing to answer (the ECR helper missing).
func GuessType(ctx context.Context, p HostParser, registry string) (typ string, guessed bool, err error) {
	host, _, _ := strings.Cut(registry, "/")
	_, ok, err := p.Parse(ctx, host)
	if err != nil {
		return "", false, err
	}
	if ok {
		return TypeAWSECR, true, nil
	}
	return TypeDockerV2, false, nil
}

// CheckType validates a registry type.
func CheckType(t string) error {
	if t != TypeDockerV2 && t != TypeAWSECR {
		return fmt.Errorf("%w: %q", ErrUnknownType, t)
	}
	return nil
}

// CheckRegistryName validates a registry name as given to "registry add"
// and returns its key: Anchore refuses a trailing "/" and a scheme (both
// made entries that could never be found or deleted, anchore-engine #208);
// the host part is normalised as server URLs are (lowercase, no ":443",
// Docker Hub's aliases as docker.io) so that the entry is found by the keys
// clients send.
func CheckRegistryName(registry string) (string, error) {
	r := strings.TrimSpace(registry)
	switch {
	case r == "":
		return "", ErrNoRegistry
	case strings.Contains(r, "://"):
		return "", fmt.Errorf("%w: %q", ErrScheme, registry)
	case strings.HasSuffix(r, "/"):
		return "", fmt.Errorf("%w: %q", ErrTrailingSlash, registry)
	}
	return EntryKey(r), nil
}

// EntryKey normalises the host part of a registry name; the rest is kept
// as written (repository paths and a trailing "*").
func EntryKey(registry string) string {
	r := strings.TrimSpace(registry)
	if r == "*" {
		return r
	}
	host, rest, hasPath := strings.Cut(r, "/")
	if hasPath {
		return normalizeHost(host) + "/" + rest
	}
	return normalizeHost(host)
}

// AddRegistry adds an entry to account. Without a type it is docker_v2, as
// in Anchore's API; the CLI guesses first (GuessType), which may need AWS
// knowledge and so happens outside the vault's lock. A duplicate is
// ErrExists.
func AddRegistry(d *vault.Document, account string, e Entry, now time.Time) (*vault.Registry, error) {
	key, err := CheckRegistryName(e.Registry)
	if err != nil {
		return nil, err
	}
	if e.Type == "" {
		e.Type = TypeDockerV2
	}
	if err := CheckType(e.Type); err != nil {
		return nil, err
	}
	regs := d.AccountRegistries(account)
	if _, ok := regs[key]; ok {
		return nil, fmt.Errorf("%w: %q", ErrExists, key)
	}
	name := e.Name
	if name == "" {
		name = key
	}
	r := &vault.Registry{
		Registry: key, Name: name, Type: e.Type, User: e.User, Pass: e.Pass, Verify: e.Verify,
		ServerURL: e.ServerURL, CreatedAt: now.UTC(), LastUpdated: now.UTC(),
	}
	regs[key] = r
	return r, nil
}

// UpdateRegistry replaces the user, password and TLS setting of an existing
// entry; its type and name are kept unless given (ours: anchore-cli resets
// the type to docker_v2, turning ECR entries into broken ones).
func UpdateRegistry(d *vault.Document, account string, e Entry, now time.Time) (*vault.Registry, error) {
	key, err := CheckRegistryName(e.Registry)
	if err != nil {
		return nil, err
	}
	if e.Type != "" {
		if err := CheckType(e.Type); err != nil {
			return nil, err
		}
	}
	r, ok := d.Registries[account][key]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrRegistryNotFound, key)
	}
	if e.Type != "" {
		r.Type = e.Type
	}
	if e.Name != "" {
		r.Name = e.Name
	}
	r.User, r.Pass, r.Verify, r.LastUpdated = e.User, e.Pass, e.Verify, now.UTC()
	return r, nil
}

// DeleteRegistry removes an entry and reports whether it was there.
// Deleting what is not there is not an error (Anchore answers 200 true).
func DeleteRegistry(d *vault.Document, account, registry string) bool {
	key := EntryKey(registry)
	regs := d.Registries[account]
	if _, ok := regs[key]; !ok {
		return false
	}
	delete(regs, key)
	return true
}

// GetRegistry returns the entry of exactly registry's key.
func GetRegistry(d *vault.Document, account, registry string) (*vault.Registry, error) {
	key := EntryKey(registry)
	r, ok := d.Registries[account][key]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrRegistryNotFound, key)
	}
	return r, nil
}

// ListRegistries returns account's entries sorted by registry.
func ListRegistries(d *vault.Document, account string) []*vault.Registry {
	regs := d.Registries[account]
	out := make([]*vault.Registry, 0, len(regs))
	for _, r := range regs {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Registry < out[j].Registry })
	return out
}

// Record is the API's view of an entry: never the password.
func Record(r *vault.Registry, account string) apitype.Registry {
	name := r.Name
	if name == "" {
		name = r.Registry
	}
	return apitype.Registry{
		CreatedAt:      apitype.FormatTime(r.CreatedAt),
		LastUpdated:    apitype.FormatTime(r.LastUpdated),
		Registry:       r.Registry,
		RegistryName:   name,
		RegistryType:   r.Type,
		RegistryUser:   r.User,
		RegistryVerify: r.Verify,
		UserID:         account,
	}
}
