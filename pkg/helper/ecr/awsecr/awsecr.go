// Package awsecr is the AWS side of pkg/helper/ecr, in process: hosts
// recognised with ecr-login's api.ExtractRegistry, tokens from the AWS SDK
// v2's own ECR client (ecr-login's client writes a plaintext cache and hides
// the expiry), with an aws.Config from config.LoadDefaultConfig so that the
// SDK's endpoint variables (AWS_ENDPOINT_URL_ECR, AWS_ENDPOINT_URL_STS,
// AWS_EC2_METADATA_SERVICE_ENDPOINT) are honoured.
//
// It is heavy: linking it runs the SDK's and ecr-login's package inits at
// every process start. anchored links it (the daemon, and its hidden "ecr"
// subcommand that serves docker-credential-anchore's cache misses);
// docker-credential-anchore must not (see docs/ecr.md).
package awsecr

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	sdkecr "github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/awslabs/amazon-ecr-credential-helper/ecr-login/api"

	"github.com/anchored/anchored/pkg/helper/ecr"
)

// Client implements ecr.AWS with the SDK in process. The zero value is
// ready: LoadConfig config.LoadDefaultConfig, HTTPClient the SDK's.
type Client struct {
	// LoadConfig builds the AWS configuration (tests may wrap it).
	LoadConfig func(ctx context.Context, optFns ...func(*config.LoadOptions) error) (aws.Config, error)
	// HTTPClient carries every AWS request (STS, IMDS, ECR) when set.
	HTTPClient aws.HTTPClient
}

var _ ecr.AWS = Client{}

// Parse recognises an ECR host (a server URL or key is accepted; scheme,
// port and path are ignored). The input is lowercased first: host names are
// case-insensitive but ecr-login's pattern is not. ECR Public
// (public.ecr.aws) is not an ECR host here: its tokens come from another
// service and it is never guessed as awsecr.
func Parse(host string) (ecr.Registry, bool) {
	h := ecr.HostName(host)
	if h == "" {
		return ecr.Registry{}, false
	}
	r, err := api.ExtractRegistry(h)
	if err != nil || r.Service != api.ServiceECR {
		return ecr.Registry{}, false
	}
	return ecr.Registry{Host: h, ID: r.ID, Region: r.Region, FIPS: r.FIPS}, true
}

// Parse implements ecr.AWS; it never fails.
func (Client) Parse(_ context.Context, host string) (ecr.Registry, bool, error) {
	reg, ok := Parse(host)
	return reg, ok, nil
}

// Fetch implements ecr.AWS: it asks AWS for a new token. Its errors wrap
// ecr.ErrNotECR, ecr.ErrBadCredentials or ecr.ErrToken and carry AWS's
// message but never the stored secret.
func (c Client) Fetch(ctx context.Context, host string, creds ecr.Credentials) (ecr.Token, error) {
	reg, ok := Parse(host)
	if !ok {
		return ecr.Token{}, fmt.Errorf("%w: %q", ecr.ErrNotECR, host)
	}
	a, err := ecr.Classify(creds)
	if err != nil {
		return ecr.Token{}, err
	}
	cfg, err := c.awsConfig(ctx, reg, a)
	if err != nil {
		return ecr.Token{}, fmt.Errorf("%w for %s: %w", ecr.ErrToken, reg.Host, err)
	}
	out, err := sdkecr.NewFromConfig(cfg).GetAuthorizationToken(ctx, &sdkecr.GetAuthorizationTokenInput{
		// Deprecated because it no longer narrows the token, but harmless,
		// sent by ecr-login too, and it names the registry in CloudTrail.
		//lint:ignore SA1019 kept on purpose, see above
		RegistryIds: []string{reg.ID},
	})
	if err != nil {
		return ecr.Token{}, fmt.Errorf("%w for %s: %w", ecr.ErrToken, reg.Host, err)
	}
	t, err := decodeToken(out)
	if err != nil {
		return ecr.Token{}, fmt.Errorf("%w for %s: %w", ecr.ErrToken, reg.Host, err)
	}
	return t, nil
}

// awsConfig builds the configuration for one registry. LoadDefaultConfig,
// never a hand-built aws.Config: only its ConfigSources make the SDK honour
// AWS_ENDPOINT_URL_ECR and AWS_ENDPOINT_URL_STS.
func (c Client) awsConfig(ctx context.Context, reg ecr.Registry, a ecr.Auth) (aws.Config, error) {
	opts := []func(*config.LoadOptions) error{config.WithRegion(reg.Region)}
	if reg.FIPS {
		opts = append(opts, config.WithUseFIPSEndpoint(aws.FIPSEndpointStateEnabled))
	}
	if c.HTTPClient != nil {
		opts = append(opts, config.WithHTTPClient(c.HTTPClient))
	}
	if a.Mode == ecr.ModeStatic {
		// The stored keys and nothing else: empty file lists keep the
		// user's ~/.aws (a profile, a role, SSO) from changing them.
		opts = append(opts,
			config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(a.KeyID, a.Secret, "")),
			config.WithSharedConfigFiles([]string{}),
			config.WithSharedCredentialsFiles([]string{}),
		)
	}
	load := c.LoadConfig
	if load == nil {
		load = config.LoadDefaultConfig
	}
	cfg, err := load(ctx, opts...)
	var noProfile config.SharedConfigProfileNotExistError
	if err != nil && a.Mode == ecr.ModeStatic && errors.As(err, &noProfile) {
		// AWS_PROFILE is set: the SDK insists that the profile exists,
		// which it cannot in no files. Read the user's files after all; the
		// entry's keys and the registry's region still win over them.
		cfg, err = load(ctx, opts[:len(opts)-2]...)
	}
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS configuration: %w", err)
	}
	if a.Mode == ecr.ModeRole {
		// cfg's credentials are the host's (default chain); the role's
		// temporary keys replace them for the ECR call.
		prov := stscreds.NewAssumeRoleProvider(sts.NewFromConfig(cfg), a.RoleARN, func(o *stscreds.AssumeRoleOptions) {
			o.RoleSessionName = ecr.RoleSessionName
			if a.ExternalID != "" {
				o.ExternalID = aws.String(a.ExternalID)
			}
		})
		cfg.Credentials = aws.NewCredentialsCache(prov)
	}
	return cfg, nil
}

func decodeToken(out *sdkecr.GetAuthorizationTokenOutput) (ecr.Token, error) {
	if out == nil || len(out.AuthorizationData) == 0 {
		return ecr.Token{}, fmt.Errorf("ECR answered without authorization data")
	}
	d := out.AuthorizationData[0]
	if d.AuthorizationToken == nil || d.ExpiresAt == nil {
		return ecr.Token{}, fmt.Errorf("ECR answered without a token or its expiry")
	}
	raw, err := base64.StdEncoding.DecodeString(*d.AuthorizationToken)
	if err != nil {
		return ecr.Token{}, fmt.Errorf("ECR token is not base64")
	}
	user, pass, ok := strings.Cut(string(raw), ":")
	if !ok || user == "" || pass == "" {
		return ecr.Token{}, fmt.Errorf("ECR token is not USER:PASSWORD")
	}
	return ecr.Token{
		Username:      user,
		Password:      pass,
		ProxyEndpoint: aws.ToString(d.ProxyEndpoint),
		ExpiresAt:     d.ExpiresAt.UTC(),
	}, nil
}
