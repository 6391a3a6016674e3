package helpercli

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/urfave/cli/v3"

	"github.com/anchored/anchored/internal/config"
	"github.com/anchored/anchored/internal/passphrase"
	"github.com/anchored/anchored/pkg/helper"
	"github.com/anchored/anchored/pkg/helper/ecr"
	"github.com/anchored/anchored/pkg/vault"
)

// settings are the resolved configuration of one invocation.
type settings struct {
	cfg   config.File
	paths config.Paths
}

// loadSettings resolves the config file and paths from the global flags.
// Errors are configuration errors (exit 2).
func loadSettings(cmd *cli.Command, env *Env) (settings, error) {
	return resolveSettings(config.Flags{
		Config:         cmd.String("config"),
		Vault:          cmd.String("vault"),
		Socket:         cmd.String("socket"),
		PassphraseFile: cmd.String("passphrase-file"),
	}, env)
}

// resolveSettings loads the config file named by flags (or the
// environment, or the default path) and resolves the paths. The protocol
// actions, which take no flags, pass zero Flags.
func resolveSettings(flags config.Flags, env *Env) (settings, error) {
	path := config.ConfigPath(flags.Config, env.Getenv)
	cfg, _, err := config.Load(path)
	if err != nil {
		return settings{}, noStart(err)
	}
	return settings{cfg: cfg, paths: config.ResolvePaths(flags, env.Getenv, cfg)}, nil
}

// findPassphrase returns the vault passphrase; management commands may
// prompt on the terminal.
func (s settings) findPassphrase(env *Env, prompt bool) (string, error) {
	src := passphrase.Source{File: s.paths.PassphraseFile, Getenv: env.Getenv}
	if prompt {
		src.Prompt = env.Prompt
	}
	p, _, err := passphrase.Find(src)
	return p, err
}

// openVault opens the configured vault for a management command. Every
// failure is exit 2 (SPEC section 4).
func (s settings) openVault(ctx context.Context, env *Env) (*vault.Vault, error) {
	p, err := s.findPassphrase(env, true)
	if err != nil {
		return nil, noStart(err)
	}
	v, err := vault.Open(ctx, s.paths.Vault, p)
	if err != nil {
		return nil, noStart(fmt.Errorf("open vault: %w", err))
	}
	return v, nil
}

// helperAccount is whose entries the protocol actions serve.
func (s settings) helperAccount() string {
	if s.cfg.HelperAccount != "" {
		return s.cfg.HelperAccount
	}
	return "admin"
}

// ecrLockDir holds the per-registry lock files of direct mode, beside the
// vault (whose directory is already 0700 and the user's own).
func (s settings) ecrLockDir() string {
	return filepath.Join(filepath.Dir(s.paths.Vault), "ecr-locks")
}

// newResolver is the ECR resolver of direct mode: tokens cached sealed in
// the vault, one fetch per registry across processes by a lock file, and
// AWS reached through "anchored ecr" only on a miss (lock, re-check, then
// the child process).
func (s settings) newResolver(env *Env, v *vault.Vault) *ecr.Resolver {
	return &ecr.Resolver{
		AWS:          env.ecr(),
		AllowIAMAuto: s.cfg.AllowAWSECRIAMAuto,
		Now:          env.Now,
		Cache:        ecr.NewVaultCache(v),
		Locker:       ecr.NewLockDir(s.ecrLockDir()),
	}
}

// vaultBackend is the in-process backend over the configured vault.
func (s settings) vaultBackend(env *Env, account string) *helper.VaultBackend {
	return &helper.VaultBackend{
		Path:       s.paths.Vault,
		Account:    account,
		Passphrase: func() (string, error) { return s.findPassphrase(env, false) },
		Resolver:   func(v *vault.Vault) *ecr.Resolver { return s.newResolver(env, v) },
		Now:        env.Now,
	}
}
