package helpercli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"strings"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/anchored/anchored/internal/passphrase"
	"github.com/anchored/anchored/pkg/helper/daemonclient"
	"github.com/anchored/anchored/pkg/vault"
)

// vaultCommand is "vault init|passwd|status" (SPEC section 4): create,
// re-key and inspect the vault. Every failure to open the vault exits 2;
// "init" over an existing vault and "passwd" while the daemon runs exit 1.
func vaultCommand(env *Env) *cli.Command {
	// A default of 0 means "the vault's own": urfave/cli would print it as
	// "(default: 0)" after a usage that already says so.
	workFactor := func(def int, usage string) cli.Flag {
		return &cli.IntFlag{Name: "work-factor", Value: def, Usage: usage, HideDefault: def == 0}
	}
	return &cli.Command{
		Name:   "vault",
		Usage:  "create, re-key and inspect the vault",
		Action: unknownCommand,
		Commands: []*cli.Command{
			{
				Name:  "init",
				Usage: "create the vault (never over an existing one)",
				Flags: []cli.Flag{
					workFactor(vault.DefaultWorkFactor, fmt.Sprintf("scrypt work factor, log2 of N (%d to %d)", vault.MinWorkFactor, vault.MaxWorkFactor)),
				},
				Action: func(ctx context.Context, cmd *cli.Command) error { return vaultInit(ctx, cmd, env) },
			},
			{
				Name:  "passwd",
				Usage: "re-key the vault under a new passphrase (stop anchored first)",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "new-passphrase-file", Usage: "file holding the new passphrase (default: ask on the terminal)"},
					workFactor(0, fmt.Sprintf("new scrypt work factor, %d to %d (default: keep the vault's)", vault.MinWorkFactor, vault.MaxWorkFactor)),
				},
				Action: func(ctx context.Context, cmd *cli.Command) error { return vaultPasswd(ctx, cmd, env) },
			},
			{
				Name:   "status",
				Usage:  "show the vault's path, format, work factor, counts, and whether anchored runs",
				Action: func(ctx context.Context, cmd *cli.Command) error { return vaultStatus(ctx, cmd, env) },
			},
		},
	}
}

// noArgs refuses stray arguments: "vault init foo" is a usage error.
func noArgs(cmd *cli.Command) error {
	if cmd.Args().Len() > 0 {
		return noStart(fmt.Errorf("%s takes no arguments, got %q", cmd.FullName(), cmd.Args().First()))
	}
	return nil
}

// workFactorArg reads --work-factor; 0 (not given, where the flag has no
// default) is returned as it is.
func workFactorArg(cmd *cli.Command) (int, error) {
	n := cmd.Int("work-factor")
	if cmd.IsSet("work-factor") && (n < vault.MinWorkFactor || n > vault.MaxWorkFactor) {
		return 0, noStart(fmt.Errorf("--work-factor %d: the scrypt work factor must be between %d and %d", n, vault.MinWorkFactor, vault.MaxWorkFactor))
	}
	return n, nil
}

// vaultExit gives a vault error its exit code: the package's sentinels are
// "could not open" (2), anything else (a failed write) is 1.
func vaultExit(err error) error {
	for _, s := range []error{
		vault.ErrWrongPassphrase, vault.ErrDamaged, vault.ErrNotVault, vault.ErrNewerVersion,
		vault.ErrMissing, vault.ErrPermissions, vault.ErrWorkFactor, vault.ErrEmptyPassphrase,
	} {
		if errors.Is(err, s) {
			return noStart(err)
		}
	}
	return failed(err)
}

// askNew asks for a new passphrase twice on the terminal. Without one it
// says what to give instead.
func askNew(env *Env, instead string) (string, error) {
	noTerminal := noStart(fmt.Errorf("no new passphrase: %s, or run this on a terminal to type one", instead))
	if env.Prompt == nil {
		return "", noTerminal
	}
	p, err := env.Prompt("New vault passphrase: ")
	if errors.Is(err, passphrase.ErrNone) {
		return "", noTerminal
	}
	if err != nil {
		return "", noStart(err)
	}
	if p == "" {
		return "", noStart(passphrase.ErrEmpty)
	}
	again, err := env.Prompt("Repeat the new passphrase: ")
	if err != nil {
		return "", noStart(err)
	}
	if again != p {
		return "", failed(errors.New("the two passphrases differ; nothing was changed"))
	}
	return p, nil
}

func vaultInit(ctx context.Context, cmd *cli.Command, env *Env) error {
	if err := noArgs(cmd); err != nil {
		return err
	}
	factor, err := workFactorArg(cmd)
	if err != nil {
		return err
	}
	s, err := loadSettings(cmd, env)
	if err != nil {
		return err
	}
	path := s.paths.Vault
	// Checked before asking for a passphrase, so nobody types one in vain;
	// Create checks again under the lock.
	if vault.Exists(path) {
		return failed(&vault.PathError{Path: path, Err: vault.ErrExists, Hint: "use it, or move it away first"})
	}
	pass, where, err := passphrase.Find(passphrase.Source{File: s.paths.PassphraseFile, Getenv: env.Getenv})
	if errors.Is(err, passphrase.ErrNone) {
		pass, err = askNew(env, "set ANCHORE_VAULT_PASSPHRASE_FILE or give --passphrase-file")
		where = "terminal"
	}
	if err != nil {
		var ee *exitError
		if errors.As(err, &ee) {
			return err
		}
		return noStart(err)
	}
	if _, err := vault.Create(ctx, path, pass, nil, vault.WithWorkFactor(factor)); err != nil {
		if errors.Is(err, vault.ErrExists) {
			return failed(err)
		}
		return vaultExit(err)
	}
	fmt.Fprintf(env.Stdout, "Vault created: %s (scrypt work factor %d)\n", path, factor)
	if hint := persistHint(s, where); hint != "" {
		fmt.Fprintln(env.Stderr, hint)
	}
	return nil
}

// persistHint is what vault init says when the passphrase it used lasts no
// longer than this shell (a flag, an environment variable, the terminal)
// and the config file names no passphrase_file: without one, a new shell's
// "get" answers not-found and pulls go anonymous (docs/helper.md,
// "Where the passphrase comes from").
func persistHint(s settings, where passphrase.Where) string {
	if s.cfg.PassphraseFile != "" || strings.HasPrefix(string(where), "systemd credential") {
		return ""
	}
	file := s.paths.PassphraseFile
	if file == "" {
		file = "FILE (a file only you can read, holding the passphrase)"
	}
	return fmt.Sprintf("Note: new shells find the passphrase only if %s says passphrase_file: %s (or start anchored)", s.paths.Config, file)
}

func vaultPasswd(ctx context.Context, cmd *cli.Command, env *Env) error {
	if err := noArgs(cmd); err != nil {
		return err
	}
	factor, err := workFactorArg(cmd)
	if err != nil {
		return err
	}
	s, err := loadSettings(cmd, env)
	if err != nil {
		return err
	}
	// The daemon holds the vault open under the old passphrase and would
	// fail on its next write; refuse before anything is asked or changed.
	switch d := probeDaemon(ctx, s.paths.Socket); {
	case d.answered:
		return failed(fmt.Errorf("anchored answers on %s: stop it first (systemctl --user stop anchored), then run 'vault passwd' again", s.paths.Socket))
	case d.denied:
		return failed(fmt.Errorf("cannot tell whether anchored runs on %s (permission denied): stop it first, or run 'vault passwd' as its user", s.paths.Socket))
	}
	v, err := s.openVault(ctx, env)
	if err != nil {
		return err
	}
	var newPass string
	if f := cmd.String("new-passphrase-file"); f != "" {
		if newPass, err = passphrase.ReadFile(f); err != nil {
			return noStart(err)
		}
	} else if newPass, err = askNew(env, "give --new-passphrase-file"); err != nil {
		return err
	}
	if factor == 0 {
		factor = v.WorkFactor()
	}
	if err := v.Rekey(ctx, newPass, factor); err != nil {
		return vaultExit(fmt.Errorf("re-key vault: %w", err))
	}
	fmt.Fprintf(env.Stdout, "Vault passphrase changed: %s (scrypt work factor %d)\n", v.Path(), factor)
	return nil
}

// statusReport is what "vault status" prints; with --json, as this object.
type statusReport struct {
	Path          string `json:"path"`
	FormatVersion int    `json:"format_version"`
	WorkFactor    int    `json:"work_factor"`
	Accounts      int    `json:"accounts"`
	Users         int    `json:"users"`
	Registries    int    `json:"registries"`
	ECRTokens     int    `json:"ecr_tokens"`
	Socket        string `json:"socket"`
	Daemon        string `json:"daemon"` // "running", "not running", or "answering with HTTP NNN"
}

func vaultStatus(ctx context.Context, cmd *cli.Command, env *Env) error {
	if err := noArgs(cmd); err != nil {
		return err
	}
	s, v, err := openFromFlags(ctx, cmd, env)
	if err != nil {
		return err
	}
	doc := v.Document()
	r := statusReport{
		Path: v.Path(), FormatVersion: doc.Version, WorkFactor: v.WorkFactor(),
		Accounts: len(doc.Accounts), Users: len(doc.Users), ECRTokens: len(doc.ECRTokens),
		Socket: s.paths.Socket, Daemon: probeDaemon(ctx, s.paths.Socket).String(),
	}
	for _, regs := range doc.Registries {
		r.Registries += len(regs)
	}
	if cmd.Bool("json") {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	fmt.Fprintf(env.Stdout, "Vault: %s\nFormat version: %d\nWork factor: %d\nAccounts: %d\nUsers: %d\nRegistries: %d\nECR tokens: %d\nDaemon: %s (%s)\n",
		r.Path, r.FormatVersion, r.WorkFactor, r.Accounts, r.Users, r.Registries, r.ECRTokens, r.Daemon, r.Socket)
	return nil
}

// daemonState is what a probe of the socket found.
type daemonState struct {
	answered bool
	status   int
	// denied: the socket is there but we may not connect, so whether a
	// daemon runs cannot be told (a system daemon's socket, say).
	denied bool
}

func (d daemonState) String() string {
	switch {
	case d.denied:
		return "unknown (permission denied on the socket)"
	case !d.answered:
		return "not running"
	case d.status == http.StatusOK:
		return "running"
	}
	return fmt.Sprintf("answering with HTTP %d", d.status)
}

// probeTimeout bounds the health check: a Unix socket with nobody behind
// it refuses at once; this only guards against a wedged daemon.
const probeTimeout = 2 * time.Second

// probeDaemon asks GET /v1/health on the socket, with the protocol path's
// client (pkg/helper/daemonclient: one client of the socket). Any HTTP
// answer means a daemon is there; no connection, or no answer in time,
// means none.
func probeDaemon(ctx context.Context, socket string) daemonState {
	if socket == "" {
		return daemonState{}
	}
	return stateOf((&daemonclient.Client{Socket: socket, Timeout: probeTimeout}).Health(ctx))
}

// stateOf reads Health's answer.
func stateOf(status int, err error) daemonState {
	if err != nil {
		return daemonState{denied: errors.Is(err, fs.ErrPermission)}
	}
	return daemonState{answered: true, status: status}
}
