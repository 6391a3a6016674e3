package helperproto

import (
	"path/filepath"

	"github.com/anchored/anchored/internal/config"
	"github.com/anchored/anchored/internal/passphrase"
	"github.com/anchored/anchored/pkg/helper/ecr"
	"github.com/anchored/anchored/pkg/registries"
	"github.com/anchored/anchored/pkg/vault"
)

// Settings are the resolved configuration of one invocation.
type Settings struct {
	Config config.File
	Paths  config.Paths
}

// Resolve loads the config file named by flags (or the environment, or the
// default path) and resolves the paths. The protocol actions, which take no
// flags, pass zero Flags. Errors are configuration errors.
func Resolve(flags config.Flags, getenv func(string) string) (Settings, error) {
	path := config.ConfigPath(flags.Config, getenv)
	cfg, _, err := config.Load(path)
	if err != nil {
		return Settings{}, err
	}
	return Settings{Config: cfg, Paths: config.ResolvePaths(flags, getenv, cfg)}, nil
}

// Passphrase returns the vault passphrase; management commands may prompt
// on the terminal.
func (s Settings) Passphrase(env *Env, prompt bool) (string, error) {
	src := passphrase.Source{File: s.Paths.PassphraseFile, Getenv: env.Getenv}
	if prompt {
		src.Prompt = env.Prompt
	}
	p, _, err := passphrase.Find(src)
	return p, err
}

// HelperAccount is whose entries the protocol actions serve.
func (s Settings) HelperAccount() string {
	if s.Config.HelperAccount != "" {
		return s.Config.HelperAccount
	}
	return registries.DefaultAccount
}

// ECRLockDir holds the per-registry lock files of direct mode, beside the
// vault (whose directory is already 0700 and the user's own).
func (s Settings) ECRLockDir() string {
	return filepath.Join(filepath.Dir(s.Paths.Vault), "ecr-locks")
}

// Resolver is the ECR resolver of direct mode: tokens cached sealed in the
// vault, one fetch per registry across processes by a lock file, and AWS
// reached (through "anchored ecr" in the helper binary) only on a miss:
// lock, re-check, then fetch.
func (s Settings) Resolver(env *Env, v *vault.Vault) *ecr.Resolver {
	return &ecr.Resolver{
		AWS:          env.AWS(),
		AllowIAMAuto: s.Config.AllowAWSECRIAMAuto,
		Now:          env.Now,
		Cache:        ecr.NewVaultCache(v),
		Locker:       ecr.NewLockDir(s.ECRLockDir()),
	}
}

// VaultBackend is the in-process backend over the configured vault.
func (s Settings) VaultBackend(env *Env, account string) *registries.VaultBackend {
	return &registries.VaultBackend{
		Path:       s.Paths.Vault,
		Account:    account,
		Passphrase: func() (string, error) { return s.Passphrase(env, false) },
		Resolver:   func(v *vault.Vault) *ecr.Resolver { return s.Resolver(env, v) },
		Now:        env.Now,
	}
}
