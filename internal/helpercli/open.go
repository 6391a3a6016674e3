package helpercli

import (
	"context"
	"fmt"

	"github.com/urfave/cli/v3"

	"github.com/anchored/anchored/internal/config"
	"github.com/anchored/anchored/internal/passphrase"
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
	flags := config.Flags{
		Config:         cmd.String("config"),
		Vault:          cmd.String("vault"),
		Socket:         cmd.String("socket"),
		PassphraseFile: cmd.String("passphrase-file"),
	}
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
