package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/anchored/anchored/internal/anchoredcli"
	"github.com/anchored/anchored/internal/config"
	"github.com/anchored/anchored/internal/config/daemoncfg"
	"github.com/anchored/anchored/pkg/tokenserver"
	"github.com/anchored/anchored/pkg/vault"
)

// "anchored keys rotate" and "anchored keys list" (docs/anchored.md,
// "Signing keys"): they open the store as the daemon does (its config,
// its vault, its passphrase sources) and change or show the keys there; a
// running daemon picks a rotation up by itself (it reloads its keys when
// the vault changes, for a token with an unknown kid, and every few
// seconds). Exit codes as the daemon's: 1 refused or failed, 2 could not
// start (configuration, passphrase, vault).

// errOAuthOff: with OAuth off no tokens are issued, so there are no keys.
var errOAuthOff = errors.New("user_authentication.oauth.enabled is false: anchored issues no tokens and keeps no signing keys")

// setKeysActions gives the keys subcommands their actions.
func setKeysActions(root *cli.Command, getenv func(string) string, stdout io.Writer) {
	for _, sub := range root.Commands {
		if sub.Name != anchoredcli.KeysCommand {
			continue
		}
		for _, c := range sub.Commands {
			switch c.Name {
			case anchoredcli.KeysRotate:
				c.Action = func(ctx context.Context, cmd *cli.Command) error {
					return keysRotate(ctx, rootFlags(cmd), getenv, stdout)
				}
			case anchoredcli.KeysList:
				c.Action = func(ctx context.Context, cmd *cli.Command) error {
					return keysList(ctx, rootFlags(cmd), getenv, stdout)
				}
			}
		}
	}
}

func rootFlags(cmd *cli.Command) config.Flags {
	return config.Flags{
		Config:         cmd.String("config"),
		Vault:          cmd.String("vault"),
		Socket:         cmd.String("socket"),
		PassphraseFile: cmd.String("passphrase-file"),
	}
}

// keysStore is the daemon's configuration, its configured key (if any)
// and its store.
type keysStore struct {
	cfg   config.File
	key   tokenserver.SigningKey
	store tokenserver.Store
}

func (k keysStore) configured() bool { return k.key.Private != nil || len(k.key.Secret) > 0 }

// openKeysStore loads the configuration as the daemon does, then opens the
// vault (never creating one: a command that finds no vault has no keys).
// The store is opened only when the keys live there.
func openKeysStore(ctx context.Context, flags config.Flags, getenv func(string) string) (keysStore, error) {
	cfg, paths, key, errs := daemoncfg.Load(flags, getenv)
	if len(errs) > 0 {
		return keysStore{}, noStart(errs...)
	}
	ks := keysStore{cfg: cfg, key: key}
	if !cfg.UserAuthentication.OAuth.Enabled {
		return ks, &exitError{code: exitFailed, lines: []error{errOAuthOff}}
	}
	if ks.configured() {
		return ks, nil
	}
	pass, _, err := findPassphrase(paths, getenv)
	if err != nil {
		return ks, noStart(err)
	}
	if cfg.Store == config.StorePostgres { // the database the daemon uses (run.go)
		st, _, err := openStore(ctx, cfg, paths, pass, "", getenv, slog.New(slog.DiscardHandler))
		if err != nil {
			return ks, noStart(err)
		}
		ks.store = st // closed by the process's exit
		return ks, nil
	}
	v, err := vault.Open(ctx, paths.Vault, pass)
	if err != nil {
		return ks, noStart(fmt.Errorf("vault: %w", err))
	}
	ks.store = tokenserver.NewVaultStore(v)
	return ks, nil
}

func keysRotate(ctx context.Context, flags config.Flags, getenv func(string) string, stdout io.Writer) error {
	ks, err := openKeysStore(ctx, flags, getenv)
	if err != nil {
		return err
	}
	if ks.configured() {
		return &exitError{code: exitFailed, lines: []error{fmt.Errorf("cannot rotate: %w", tokenserver.ErrKeysConfigured)}}
	}
	ttl := time.Duration(ks.cfg.UserAuthentication.OAuth.DefaultTokenExpirationSeconds) * time.Second
	alg := ks.cfg.Keys.Algorithm
	if alg == "" {
		alg = "HS256"
	}
	now := time.Now()
	next, err := tokenserver.Rotate(ctx, ks.store, alg, ttl, now)
	if err != nil {
		return &exitError{code: exitFailed, lines: []error{err}}
	}
	fmt.Fprintf(stdout, "New signing key %s (%s) signs from now on.\n", next.KID, next.Alg)
	fmt.Fprintf(stdout, "The keys it replaces verify tokens until %s (the longest token lifetime plus %s); older keys are removed.\n",
		now.Add(tokenserver.KeepFor(ttl)).UTC().Format(time.RFC3339), tokenserver.KeepFor(0))
	fmt.Fprintln(stdout, "A running anchored picks the new key up by itself.")
	return nil
}

func keysList(ctx context.Context, flags config.Flags, getenv func(string) string, stdout io.Writer) error {
	ks, err := openKeysStore(ctx, flags, getenv)
	if err != nil {
		return err
	}
	if ks.configured() {
		fmt.Fprintf(stdout, "The signing key comes from the configuration (keys.*): %s (%s); it does not rotate in the store.\n",
			tokenserver.ConfiguredKID(ks.key), ks.key.Algorithm())
		return nil
	}
	keys, err := ks.store.SigningKeys(ctx)
	if err != nil {
		return &exitError{code: exitFailed, lines: []error{err}}
	}
	if len(keys) == 0 {
		fmt.Fprintln(stdout, "No signing key yet: anchored generates one when it first starts with OAuth on.")
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KID\tALG\tSTATE")
	signing := false
	now := time.Now()
	for _, k := range keys {
		state := "verifies until " + k.VerifyUntil.UTC().Format(time.RFC3339)
		switch {
		case k.VerifyUntil.IsZero() && !signing:
			state, signing = "signs", true
		case !k.VerifyUntil.IsZero() && !now.Before(k.VerifyUntil):
			state = "expired (removed at the next rotation)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", k.KID, k.Alg, state)
	}
	return tw.Flush()
}
