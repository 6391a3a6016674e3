package registries

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/anchored/anchored/pkg/apitype"
	"github.com/anchored/anchored/pkg/helper"
	"github.com/anchored/anchored/pkg/helper/ecr"
)

// Registry types (Anchore's registry_type).
const (
	TypeDockerV2 = "docker_v2"
	TypeAWSECR   = "awsecr"
)

// Errors of the workflow. Each surface (the CLI, the API, the helper
// protocol) shows err.Error() as it is, so one input gets one message
// everywhere; the API maps the sentinels to Anchore's statuses. The texts
// of the first four are Anchore's, without additions, because anchore-cli
// users match them.
var (
	ErrTrailingSlash    = errors.New("input registry name cannot end with trailing '/' characters")
	ErrScheme           = errors.New("input registry name must start with a hostname/ip, without URI schema (http://, https://)")
	ErrExists           = errors.New("registry already exists in DB")
	ErrRegistryNotFound = errors.New("registry not found in DB")
	ErrUnknownType      = errors.New("unknown registry type (want docker_v2 or awsecr)")
	ErrNoRegistry       = errors.New("registry name is empty")
	// ErrNotECRHost: an awsecr entry, or awsauto/_iam_role credentials, on
	// a host that is not a private Amazon ECR registry. Every "get" of such
	// an entry would fail, breaking pulls that work anonymously.
	ErrNotECRHost = errors.New("awsecr entries (and awsauto or _iam_role credentials) are only for private Amazon ECR registry hosts (<account>.dkr.ecr.<region>.amazonaws.com)")
	// ErrManaged: "docker login" or "docker logout" on an awsecr entry,
	// which would replace its AWS keys with a 12-hour token or delete it.
	ErrManaged = errors.New("is a managed Amazon ECR entry")
)

// GuessWarning is anchore-cli's warning when it guesses the awsecr type.
const GuessWarning = "WARN: setting registry type to 'awsecr' based on form of input registry name, remove and re-add using '--registry-type docker_v2' to override"

// HostParser recognises ECR hosts: ecr.AWS's Parse (awsecr in process, or
// "anchored ecr" from the helper binary, which does not link ecr-login).
type HostParser interface {
	Parse(ctx context.Context, host string) (ecr.Registry, bool, error)
}

// GuessType returns the type a registry gets when none is given (the
// CLI's guess, as anchore-cli's): awsecr for an ECR host, else docker_v2.
// guessed reports an awsecr guess, which deserves GuessWarning.
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

// CheckName validates a registry name as given to "registry add" or the
// API and returns its key. Anchore refuses a trailing "/" and a scheme
// (both made entries that could never be found or deleted, anchore-engine
// #208); ours, helper.CheckText's rules: no control characters, spaces,
// invalid UTF-8 or user information. The host part is normalised as server
// URLs are (lowercase, no ":443", Docker Hub's aliases as docker.io) so
// that the entry is found by the keys clients send.
func CheckName(registry string) (string, error) {
	r := strings.TrimSpace(registry)
	if err := helper.CheckText(r); err != nil {
		return "", err
	}
	switch {
	case r == "":
		return "", ErrNoRegistry
	case strings.Contains(r, "://"):
		return "", ErrScheme
	case strings.HasSuffix(r, "/"):
		return "", ErrTrailingSlash
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
		return helper.NormalizeHost(host) + "/" + rest
	}
	return helper.NormalizeHost(host)
}

// DefaultAccount is whose entries the helper serves and the management
// commands manage when none is configured (config helper_account).
const DefaultAccount = "admin"

// usesHostIdentity reports whether e's credentials spend the host's own
// AWS identity (awsauto, or _iam_role, which assumes a role with it),
// which allow_awsecr_iam_auto gates.
func usesHostIdentity(e Entry) bool {
	return ecr.Credentials{User: e.User, Pass: e.Pass}.UsesHostIdentity()
}

// ecrOnly reports whether e may only live on an ECR host.
func ecrOnly(e Entry) bool {
	return e.Type == TypeAWSECR || usesHostIdentity(e)
}

// Record is the API's view of an entry: never the password.
func Record(e Entry, account string) apitype.Registry {
	name := e.Name
	if name == "" {
		name = e.Registry
	}
	return apitype.Registry{
		CreatedAt:      apitype.FormatTime(e.CreatedAt),
		LastUpdated:    apitype.FormatTime(e.LastUpdated),
		Registry:       e.Registry,
		RegistryName:   name,
		RegistryType:   e.Type,
		RegistryUser:   e.User,
		RegistryVerify: e.Verify,
		UserID:         account,
	}
}

// Records is Record of each entry.
func Records(es []Entry, account string) []apitype.Registry {
	out := make([]apitype.Registry, 0, len(es))
	for _, e := range es {
		out = append(out, Record(e, account))
	}
	return out
}
