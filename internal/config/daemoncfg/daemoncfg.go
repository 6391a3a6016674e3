// Package daemoncfg is anchored's configuration as the daemon starts with
// it: internal/config's file and environment, validated, with every
// problem reported at once. It is apart from internal/config because the
// checks load key pairs and listener addresses (pkg/tokenserver,
// internal/daemon), which the helper binary, also a reader of the config,
// must not link.
package daemoncfg

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/anchored/anchored/internal/config"
	"github.com/anchored/anchored/internal/daemon"
	"github.com/anchored/anchored/pkg/tokenserver"
)

// Load reads the config file, applies the environment overrides and
// validates the result, collecting every problem of the three steps (issue
// 4: "every problem reported at once"), so that an operator fixes a file
// in one round. A file that is not YAML at all stops the checks after the
// environment's: its keys were not decoded, and checking the defaults
// instead would report problems the file does not have.
func Load(flags config.Flags, getenv func(string) string) (config.File, config.Paths, tokenserver.SigningKey, []error) {
	var errs []error
	cfgPath := config.ConfigPath(flags.Config, getenv)
	cfg, _, err := config.Load(cfgPath)
	parsed := true
	if err != nil {
		var p config.Problems
		if errors.As(err, &p) {
			for _, line := range p {
				errs = append(errs, fmt.Errorf("%s: %s", cfgPath, line))
			}
		} else {
			errs = append(errs, err)
			parsed = false
		}
	}
	if err := cfg.ApplyEnv(getenv); err != nil {
		errs = append(errs, splitJoined(err)...)
	}
	paths := config.ResolvePaths(flags, getenv, cfg)
	if !parsed {
		return cfg, paths, tokenserver.SigningKey{}, errs
	}
	key, verrs := Validate(cfg, paths)
	return cfg, paths, key, append(errs, verrs...)
}

// splitJoined returns the problems inside ApplyEnv's error
// (ErrInvalid wrapped with an errors.Join), one error each.
func splitJoined(err error) []error {
	multi, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return []error{err}
	}
	var out []error
	for _, e := range multi.Unwrap() {
		if e == config.ErrInvalid {
			continue
		}
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			out = append(out, j.Unwrap()...)
		} else {
			out = append(out, e)
		}
	}
	if len(out) == 0 {
		return []error{err}
	}
	return out
}

// Validate checks the daemon's configuration and reports every problem at
// once, one line each, as dex's config check does. It also returns the
// signing key it loaded, so the key files are read once.
func Validate(cfg config.File, paths config.Paths) (tokenserver.SigningKey, []error) {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	ua := cfg.UserAuthentication

	if ua.HashedPassword && !ua.OAuth.Enabled {
		add("user_authentication.hashed_passwords requires user_authentication.oauth.enabled: true")
	}
	if ua.OAuth.Enabled && ua.OAuth.DefaultTokenExpirationSeconds <= 0 {
		add("user_authentication.oauth.default_token_expiration_seconds must be a positive number of seconds")
	}

	var key tokenserver.SigningKey
	k := cfg.Keys
	switch {
	case (k.PublicKeyPath == "") != (k.PrivateKeyPath == ""):
		add("keys.public_key_path and keys.private_key_path must be set together")
	case k.PublicKeyPath != "":
		pub, err1 := os.ReadFile(k.PublicKeyPath)
		priv, err2 := tokenserver.ReadKeyFile(k.PrivateKeyPath)
		if err := errors.Join(err1, err2); err != nil {
			add("keys: %v", oneLine(err))
			break
		}
		signer, err := tokenserver.LoadKeyPair(pub, priv)
		if err != nil {
			add("keys: %s and %s: %v", k.PublicKeyPath, k.PrivateKeyPath, err)
			break
		}
		key.Private = signer
	}
	if k.Algorithm != "" {
		if err := tokenserver.CheckKeyAlgorithm(k.Algorithm); err != nil {
			add("keys.algorithm: %v", err)
		}
	}
	if k.Secret != "" && k.SecretFile != "" {
		add("keys.secret and keys.secret_file are exclusive")
	} else if key.Private == nil {
		secret := k.Secret
		if k.SecretFile != "" {
			b, err := tokenserver.ReadKeyFile(k.SecretFile)
			if err != nil {
				add("keys.secret_file: %v", oneLine(err))
			}
			secret = strings.TrimRight(string(b), "\r\n")
		}
		if secret != "" {
			if len(secret) < 16 {
				add("keys.secret is too short: use at least 16 characters (32 random bytes are better)")
			}
			key.Secret = []byte(secret)
		}
	}

	l := cfg.Listen
	if l.HTTP != "" {
		if err := daemon.CheckLoopback(l.HTTP); errors.Is(err, daemon.ErrNotLoopback) {
			add("listen.http %q: plain http is accepted only on loopback addresses; use listen.https", l.HTTP)
		} else if err != nil {
			add("listen.http %q is not host:port", l.HTTP)
		}
	}
	if l.HTTPS != "" {
		if _, _, err := net.SplitHostPort(l.HTTPS); err != nil {
			add("listen.https %q is not host:port", l.HTTPS)
		}
		if l.TLSCert == "" || l.TLSKey == "" {
			add("listen.https needs listen.tls_cert and listen.tls_key")
		}
	}
	errs = append(errs, validateOps(cfg)...)
	errs = append(errs, ValidateStore(cfg)...)
	if err := daemon.CheckSocketDir(paths.Socket); err != nil {
		add("socket %s: %v", paths.Socket, oneLine(err))
	}
	return key, errs
}

// oneLine keeps a multi-line error on one line.
func oneLine(err error) string { return strings.ReplaceAll(err.Error(), "\n", "; ") }

// validateOps checks log_format, audit and metrics.
func validateOps(cfg config.File) []error {
	var errs []error
	switch cfg.LogFormat {
	case config.LogFormatText, config.LogFormatJSON:
	default:
		errs = append(errs, fmt.Errorf("log_format %q: want text or json", cfg.LogFormat))
	}
	if a := cfg.Metrics.Listen; a != "" && !strings.HasPrefix(a, "/") {
		if err := daemon.CheckLoopback(a); errors.Is(err, daemon.ErrNotLoopback) {
			errs = append(errs, fmt.Errorf("metrics.listen %q: plain http is accepted only on loopback addresses (or give a socket path)", a))
		} else if err != nil {
			errs = append(errs, fmt.Errorf("metrics.listen %q is neither host:port nor a socket path", a))
		}
	}
	if cfg.Audit.File != "" && !strings.HasPrefix(cfg.Audit.File, "/") {
		errs = append(errs, fmt.Errorf("audit.file %q: give an absolute path", cfg.Audit.File))
	}
	return errs
}
