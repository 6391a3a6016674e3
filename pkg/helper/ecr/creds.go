package ecr

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// Mode is how an entry's credentials reach AWS.
type Mode int

const (
	ModeStatic Mode = iota // stored access key id and secret access key
	ModeAuto               // the host's own identity (default chain)
	ModeRole               // the host's identity assumes a role
)

// Auth is an entry's credentials, classified. Identity names them without
// a secret; it goes into the cache key and lock file names.
type Auth struct {
	Mode       Mode
	KeyID      string
	Secret     string
	RoleARN    string
	ExternalID string
	Identity   string
}

// Classify follows Anchore: awsauto as user or password first, then the
// _iam_role user, else static keys. Errors wrap ErrBadCredentials.
func Classify(c Credentials) (Auth, error) {
	switch c.mode() {
	case ModeAuto:
		return Auth{Mode: ModeAuto, Identity: AWSAuto}, nil
	case ModeRole:
		arn, ext, _ := strings.Cut(c.Pass, ";")
		arn, ext = strings.TrimSpace(arn), strings.TrimSpace(ext)
		if !strings.HasPrefix(arn, "arn:") {
			return Auth{}, fmt.Errorf("%w: %s needs the password ROLE_ARN[;EXTERNAL_ID]", ErrBadCredentials, IAMRoleUser)
		}
		id := "role:" + arn
		if ext != "" {
			// An external id is not a secret in AWS's model, but it is
			// hashed anyway: the key also names lock files on disk.
			id += ";" + shortHash(ext)
		}
		return Auth{Mode: ModeRole, RoleARN: arn, ExternalID: ext, Identity: id}, nil
	default:
		if c.User == "" || c.Pass == "" {
			return Auth{}, fmt.Errorf("%w: an access key id and a secret access key are needed", ErrBadCredentials)
		}
		// The key id, hashed, rather than the secret: a rotated secret
		// under the same key id still yields tokens for the same principal.
		return Auth{Mode: ModeStatic, KeyID: c.User, Secret: c.Pass, Identity: "key:" + shortHash(c.User)}, nil
	}
}

// UsesHostIdentity reports whether the credentials spend the host's own AWS
// identity (awsauto or _iam_role), which allow_awsecr_iam_auto must permit.
func (a Auth) UsesHostIdentity() bool { return a.Mode != ModeStatic }

// mode is Classify's first step, the one rule of which credentials spend
// the host's identity: awsauto as user or password, then the _iam_role
// user, else static keys. It never fails: Classify checks the shape after.
func (c Credentials) mode() Mode {
	switch {
	case c.User == AWSAuto || c.Pass == AWSAuto:
		return ModeAuto
	case c.User == IAMRoleUser:
		return ModeRole
	}
	return ModeStatic
}

// UsesHostIdentity is Classify's answer to the same question, for
// credentials of any shape (the registry workflow asks before anything
// else, as Anchore's first check).
func (c Credentials) UsesHostIdentity() bool { return c.mode() != ModeStatic }

func shortHash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:16])
}
