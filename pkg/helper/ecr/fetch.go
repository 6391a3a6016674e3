package ecr

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	awsecr "github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// RoleSessionName names the STS sessions of _iam_role entries, so that
// CloudTrail shows who assumed the role.
const RoleSessionName = "anchored-ecr"

// mode is how an entry's credentials reach AWS.
type mode int

const (
	modeStatic mode = iota // stored access key id and secret access key
	modeAuto               // the host's own identity (default chain)
	modeRole               // the host's identity assumes a role
)

// plan is an entry's credentials, classified. identity names them without
// a secret; it goes into the cache key.
type plan struct {
	mode       mode
	keyID      string
	secret     string
	roleARN    string
	externalID string
	identity   string
}

// classify follows Anchore: awsauto as user or password first, then the
// _iam_role user, else static keys.
func classify(c Credentials) (plan, error) {
	switch {
	case c.User == AWSAuto || c.Pass == AWSAuto:
		return plan{mode: modeAuto, identity: AWSAuto}, nil
	case c.User == IAMRoleUser:
		arn, ext, _ := strings.Cut(c.Pass, ";")
		arn, ext = strings.TrimSpace(arn), strings.TrimSpace(ext)
		if !strings.HasPrefix(arn, "arn:") {
			return plan{}, fmt.Errorf("%w: %s needs the password ROLE_ARN[;EXTERNAL_ID]", ErrBadCredentials, IAMRoleUser)
		}
		id := "role:" + arn
		if ext != "" {
			// An external id is not a secret in AWS's model, but it is
			// hashed anyway: the key also names lock files on disk.
			id += ";" + shortHash(ext)
		}
		return plan{mode: modeRole, roleARN: arn, externalID: ext, identity: id}, nil
	default:
		if c.User == "" || c.Pass == "" {
			return plan{}, fmt.Errorf("%w: an access key id and a secret access key are needed", ErrBadCredentials)
		}
		// The key id, hashed, rather than the secret: a rotated secret
		// under the same key id still yields tokens for the same principal.
		return plan{mode: modeStatic, keyID: c.User, secret: c.Pass, identity: "key:" + shortHash(c.User)}, nil
	}
}

func shortHash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:16])
}

// awsConfig builds the configuration for one registry. LoadDefaultConfig,
// never a hand-built aws.Config: only its ConfigSources make the SDK honour
// AWS_ENDPOINT_URL_ECR and AWS_ENDPOINT_URL_STS.
func (r *Resolver) awsConfig(ctx context.Context, reg Registry, p plan) (aws.Config, error) {
	opts := []func(*config.LoadOptions) error{config.WithRegion(reg.Region)}
	if reg.FIPS {
		opts = append(opts, config.WithUseFIPSEndpoint(aws.FIPSEndpointStateEnabled))
	}
	if r.HTTPClient != nil {
		opts = append(opts, config.WithHTTPClient(r.HTTPClient))
	}
	if p.mode == modeStatic {
		// The stored keys and nothing else: empty file lists keep the
		// user's ~/.aws (a profile, a role, SSO) from changing them.
		opts = append(opts,
			config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(p.keyID, p.secret, "")),
			config.WithSharedConfigFiles([]string{}),
			config.WithSharedCredentialsFiles([]string{}),
		)
	}
	load := r.LoadConfig
	if load == nil {
		load = config.LoadDefaultConfig
	}
	cfg, err := load(ctx, opts...)
	var noProfile config.SharedConfigProfileNotExistError
	if err != nil && p.mode == modeStatic && errors.As(err, &noProfile) {
		// AWS_PROFILE is set: the SDK insists that the profile exists,
		// which it cannot in no files. Read the user's files after all; the
		// entry's keys and the registry's region still win over them.
		cfg, err = load(ctx, opts[:len(opts)-2]...)
	}
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS configuration: %w", err)
	}
	if p.mode == modeRole {
		// cfg's credentials are the host's (default chain); the role's
		// temporary keys replace them for the ECR call.
		prov := stscreds.NewAssumeRoleProvider(sts.NewFromConfig(cfg), p.roleARN, func(o *stscreds.AssumeRoleOptions) {
			o.RoleSessionName = RoleSessionName
			if p.externalID != "" {
				o.ExternalID = aws.String(p.externalID)
			}
		})
		cfg.Credentials = aws.NewCredentialsCache(prov)
	}
	return cfg, nil
}

// fetch asks AWS for a new token. Its errors wrap ErrToken and carry AWS's
// message but never the stored secret.
func (r *Resolver) fetch(ctx context.Context, reg Registry, p plan) (Token, error) {
	cfg, err := r.awsConfig(ctx, reg, p)
	if err != nil {
		return Token{}, fmt.Errorf("%w for %s: %w", ErrToken, reg.Host, err)
	}
	requested := r.now()
	out, err := awsecr.NewFromConfig(cfg).GetAuthorizationToken(ctx, &awsecr.GetAuthorizationTokenInput{
		RegistryIds: []string{reg.ID},
	})
	if err != nil {
		return Token{}, fmt.Errorf("%w for %s: %w", ErrToken, reg.Host, err)
	}
	t, err := decodeToken(out)
	if err != nil {
		return Token{}, fmt.Errorf("%w for %s: %w", ErrToken, reg.Host, err)
	}
	t.RequestedAt = requested
	return t, nil
}

func decodeToken(out *awsecr.GetAuthorizationTokenOutput) (Token, error) {
	if out == nil || len(out.AuthorizationData) == 0 {
		return Token{}, fmt.Errorf("ECR answered without authorization data")
	}
	d := out.AuthorizationData[0]
	if d.AuthorizationToken == nil || d.ExpiresAt == nil {
		return Token{}, fmt.Errorf("ECR answered without a token or its expiry")
	}
	raw, err := base64.StdEncoding.DecodeString(*d.AuthorizationToken)
	if err != nil {
		return Token{}, fmt.Errorf("ECR token is not base64")
	}
	user, pass, ok := strings.Cut(string(raw), ":")
	if !ok || user == "" || pass == "" {
		return Token{}, fmt.Errorf("ECR token is not USER:PASSWORD")
	}
	return Token{
		Username:      user,
		Password:      pass,
		ProxyEndpoint: aws.ToString(d.ProxyEndpoint),
		ExpiresAt:     d.ExpiresAt.UTC(),
	}, nil
}
