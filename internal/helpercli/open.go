package helpercli

import (
	"context"
	"fmt"

	"github.com/urfave/cli/v3"

	"github.com/anchored/anchored/internal/config"
	"github.com/anchored/anchored/internal/helperproto"
	"github.com/anchored/anchored/pkg/helper/ecr"
	"github.com/anchored/anchored/pkg/vault"
)

// settings are the resolved configuration of one invocation (the protocol
// path's helperproto.Settings, under the names the commands use).
type settings struct {
	cfg   config.File
	paths config.Paths
}

func (s settings) proto() helperproto.Settings {
	return helperproto.Settings{Config: s.cfg, Paths: s.paths}
}

// loadSettings resolves the config file and paths from the global flags.
// Errors are configuration errors (exit 2).
func loadSettings(cmd *cli.Command, env *Env) (settings, error) {
	s, err := helperproto.Resolve(config.Flags{
		Config:         cmd.String("config"),
		Vault:          cmd.String("vault"),
		Socket:         cmd.String("socket"),
		PassphraseFile: cmd.String("passphrase-file"),
	}, env.Getenv)
	if err != nil {
		return settings{}, noStart(err)
	}
	return settings{cfg: s.Config, paths: s.Paths}, nil
}

// findPassphrase returns the vault passphrase; management commands may
// prompt on the terminal.
func (s settings) findPassphrase(env *Env, prompt bool) (string, error) {
	return s.proto().Passphrase(&env.Env, prompt)
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

// openFromFlags resolves the settings of cmd and opens their vault: the
// first step of every management command that reads or writes entries.
// Every failure is exit 2.
func openFromFlags(ctx context.Context, cmd *cli.Command, env *Env) (settings, *vault.Vault, error) {
	s, err := loadSettings(cmd, env)
	if err != nil {
		return settings{}, nil, err
	}
	v, err := s.openVault(ctx, env)
	if err != nil {
		return settings{}, nil, err
	}
	return s, v, nil
}

// newResolver is the ECR resolver of direct mode (helperproto's).
func (s settings) newResolver(env *Env, v *vault.Vault) *ecr.Resolver {
	return s.proto().Resolver(&env.Env, v)
}
