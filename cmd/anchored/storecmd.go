package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/urfave/cli/v3"

	"github.com/anchored/anchored/internal/config"
	"github.com/anchored/anchored/internal/config/daemoncfg"
	"github.com/anchored/anchored/internal/daemon"
	"github.com/anchored/anchored/internal/passphrase"
	"github.com/anchored/anchored/internal/storecopy"
	"github.com/anchored/anchored/pkg/tokenserver"
)

// storeCopy is "anchored store copy --from SPEC --to SPEC". Both stores
// are unlocked with the one passphrase (the daemon's sources, then a
// prompt on a terminal); a postgres store takes its password as the daemon
// does (database.password_file, the database-password credential).
func storeCopy(ctx context.Context, cmd *cli.Command, getenv func(string) string, stdout io.Writer) error {
	daemon.Harden(slog.New(slog.DiscardHandler)) // no core dumps: every secret passes through memory
	flags := config.Flags{Config: cmd.String("config"), PassphraseFile: cmd.String("passphrase-file")}
	cfg, _, err := config.Load(config.ConfigPath(flags.Config, getenv))
	if err != nil {
		return noStart(err)
	}
	if err := cfg.ApplyEnv(getenv); err != nil {
		return noStart(err)
	}
	paths := config.ResolvePaths(flags, getenv, cfg)
	src := passphrase.Source{File: paths.PassphraseFile, Getenv: getenv, Label: "Vault passphrase: "}
	if passphrase.StdinIsTerminal() {
		src.Prompt = passphrase.TTYPrompt
	}
	pass, where, err := passphrase.Find(src)
	if errors.Is(err, passphrase.ErrNone) {
		return noStart(errNoPassphrase)
	}
	if err != nil {
		return noStart(err)
	}
	open := func(spec string) (tokenserver.Store, func(), error) {
		kind, target, ok := strings.Cut(spec, ":")
		if !ok || target == "" || (kind != config.StoreVault && kind != config.StorePostgres) {
			// Not quoted: a mistyped spec can be a DSN, password included.
			return nil, nil, errors.New("want vault:PATH or postgres:URL")
		}
		c := cfg
		c.Store = kind
		if kind == config.StorePostgres {
			c.Database.URL = target
			if errs := daemoncfg.ValidateStore(c); len(errs) > 0 {
				return nil, nil, errors.Join(errs...)
			}
		}
		p := paths
		p.Vault = target
		return openStore(ctx, c, p, pass, string(where), getenv, slog.New(slog.DiscardHandler))
	}
	from, closeFrom, err := open(cmd.String("from"))
	if err != nil {
		return noStart(fmt.Errorf("--from: %w", err))
	}
	defer closeFrom()
	to, closeTo, err := open(cmd.String("to"))
	if err != nil {
		return noStart(fmt.Errorf("--to: %w", err))
	}
	defer closeTo()
	n, err := storecopy.Copy(ctx, from, to)
	if err != nil {
		return &exitError{code: exitFailed, lines: []error{fmt.Errorf("store copy: %w", err)}}
	}
	fmt.Fprintf(stdout, "copied %s; the copy verified\n", n)
	return nil
}
