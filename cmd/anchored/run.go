package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/anchored/anchored/internal/anchoredcli"
	"github.com/anchored/anchored/internal/authcache"
	"github.com/anchored/anchored/internal/cliusage"
	"github.com/anchored/anchored/internal/config"
	"github.com/anchored/anchored/internal/config/daemoncfg"
	"github.com/anchored/anchored/internal/daemon"
	"github.com/anchored/anchored/internal/metrics"
	"github.com/anchored/anchored/internal/passphrase"
	"github.com/anchored/anchored/internal/throttle"
	"github.com/anchored/anchored/internal/version"
	"github.com/anchored/anchored/pkg/audit"
	"github.com/anchored/anchored/pkg/helper/ecr"
	"github.com/anchored/anchored/pkg/helper/ecr/awsecr"
	"github.com/anchored/anchored/pkg/helper/ecr/ecrexec"
	"github.com/anchored/anchored/pkg/pgstore"
	"github.com/anchored/anchored/pkg/tokenserver"
	"github.com/anchored/anchored/pkg/vault"
)

// Exit codes: 0 a clean stop; 1 failed while serving, or the database was
// unreachable at start (worth a restart); 2 could not start (usage,
// configuration, vault, listeners, the database refused: wrong passphrase,
// newer schema).
const (
	exitFailed  = 1
	exitNoStart = 2
)

// exitError carries an exit code and its lines for stderr.
type exitError struct {
	code  int
	lines []error
}

func (e *exitError) Error() string { return errors.Join(e.lines...).Error() }

func noStart(errs ...error) error { return &exitError{code: exitNoStart, lines: errs} }

// errNoPassphrase is the daemon's line when no source gave a passphrase:
// every source it reads, and the systemd way.
var errNoPassphrase = errors.New("no vault passphrase: set --passphrase-file, passphrase_file, " +
	passphrase.EnvFile + " or " + passphrase.EnvPassphrase + ", or LoadCredential=" + passphrase.CredentialName + " under systemd")

// findPassphrase is the vault passphrase from the daemon's sources.
func findPassphrase(paths config.Paths, getenv func(string) string) (string, passphrase.Where, error) {
	pass, where, err := passphrase.Find(passphrase.Source{File: paths.PassphraseFile, Getenv: getenv})
	if errors.Is(err, passphrase.ErrNone) {
		// ErrNone's own text is the helper's ("start anchored, or ..."),
		// which is wrong advice from the daemon itself.
		return "", where, errNoPassphrase
	}
	return pass, where, err
}

// gracePeriod bounds how long a stop waits for requests in flight.
const gracePeriod = 30 * time.Second

func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	// The tree (name, usage, flags) lives in internal/anchoredcli, where the
	// man page and completions are generated from.
	cmd := anchoredcli.Command()
	cliusage.Quiet(cmd)
	for _, sub := range cmd.Commands {
		if sub.Name == anchoredcli.ECRCommand {
			sub.Action = func(ctx context.Context, _ *cli.Command) error {
				// The AWS SDK in this process, for a helper that does not
				// link it; the request and reply (secrets included) only
				// ever travel on stdin and stdout.
				return ecrexec.Serve(ctx, awsecr.Client{}, stdin, stdout)
			}
		}
	}
	for _, sub := range cmd.Commands {
		if sub.Name != anchoredcli.StoreCommand {
			continue
		}
		for _, c := range sub.Commands {
			if c.Name == anchoredcli.StoreCopyCommand {
				c.Action = func(ctx context.Context, cmd *cli.Command) error { return storeCopy(ctx, cmd, getenv, stdout) }
			}
		}
	}
	setKeysActions(cmd, getenv, stdout) // keys.go
	cmd.Writer = stdout                 // --help and --version
	cmd.ErrWriter = stderr
	cmd.ExitErrHandler = func(context.Context, *cli.Command, error) {} // we choose the exit code
	cmd.Action = func(ctx context.Context, cmd *cli.Command) error {
		if cmd.Args().Len() > 0 {
			return noStart(fmt.Errorf("unexpected argument %q", cmd.Args().First()))
		}
		flags := config.Flags{
			Config:         cmd.String("config"),
			Vault:          cmd.String("vault"),
			Socket:         cmd.String("socket"),
			PassphraseFile: cmd.String("passphrase-file"),
		}
		return serve(ctx, flags, getenv, stderr)
	}
	err := cmd.Run(ctx, args)
	if err == nil {
		return 0
	}
	var ee *exitError
	if !errors.As(err, &ee) {
		ee = &exitError{code: exitNoStart, lines: []error{err}}
	}
	// One problem per line: joined errors (several environment
	// overrides at once) are split rather than glued together.
	for _, l := range ee.lines {
		for _, line := range strings.Split(l.Error(), "\n") {
			fmt.Fprintf(stderr, "anchored: %s\n", line)
		}
	}
	return ee.code
}

// serve loads everything, refuses to start on any problem, then serves
// until SIGTERM or SIGINT; SIGHUP reloads what can change while serving.
func serve(ctx context.Context, flags config.Flags, getenv func(string) string, stderr io.Writer) error {
	daemon.Harden(slog.New(slog.NewTextHandler(stderr, nil))) // no core dumps, file limit raised: before any secret (keys included) is read
	cfg, paths, key, errs := daemoncfg.Load(flags, getenv)
	if len(errs) > 0 {
		return noStart(errs...)
	}
	log := newLogger(cfg.LogFormat, stderr)

	pass, where, err := findPassphrase(paths, getenv)
	if err != nil {
		return noStart(err)
	}
	st, closeStore, err := openStore(ctx, cfg, paths, pass, string(where), getenv, log)
	if errors.Is(err, pgstore.ErrUnreachable) {
		// Not a configuration error: exit 1, which the unit's
		// Restart=on-failure retries (exit 2 is never restarted).
		return &exitError{code: exitFailed, lines: []error{err}}
	}
	if err != nil {
		return noStart(err)
	}
	defer closeStore()

	// The audit log (on by default for changes) and, when a listener is
	// configured, the metrics (ops.go).
	sink := &auditSink{logger: audit.New(nil, false), stderr: stderr}
	if err := sink.configure(cfg); err != nil {
		return noStart(err)
	}
	defer sink.closeFile()
	var m *metrics.Metrics
	var observer tokenserver.Observer
	guard := authcache.Guard(st, &authcache.Cache{}, &throttle.Limiter{})
	var aws ecr.AWS = awsecr.Client{}
	var ecrCache ecr.Cache = ecr.NewMemoryCache()
	var ecrLocker ecr.Locker
	if pst, ok := st.(*pgstore.Store); ok {
		// ECR tokens shared by the replicas, one AWS call per registry
		// across them (pkg/pgstore/ecr.go).
		ecrCache, ecrLocker = pst.ECRCache(), pst.ECRLocker()
	}
	if cfg.Metrics.Listen != "" {
		m = metrics.New(version.Version)
		observer = m
		if vs, ok := st.(*tokenserver.VaultStore); ok {
			vs.OnReload(m.VaultReload)
		}
		guard = m.WrapPasswordCheck(guard)
		aws = m.AWS(aws)
		ecrCache = m.Cache(ecrCache)
	}

	ua := cfg.UserAuthentication
	var ready func(context.Context) error
	if p, ok := st.(interface{ Ping(context.Context) error }); ok {
		ready = p.Ping // the database answers
	}
	srv, err := tokenserver.New(ctx, tokenserver.Config{
		Ready:           ready,
		OAuthEnabled:    ua.OAuth.Enabled,
		TokenTTL:        time.Duration(ua.OAuth.DefaultTokenExpirationSeconds) * time.Second,
		Issuer:          ua.OAuth.Issuer,
		Key:             key,
		KeyAlgorithm:    cfg.Keys.Algorithm,
		HashedPasswords: ua.HashedPassword,
		Version:         version.Version,
		Logger:          log,
		Audit:           sink.logger,
		Observer:        observer,
		// Verified Basic credentials cached briefly, wrong ones throttled
		// (internal/authcache, internal/throttle).
		WrapPasswordCheck: guard,
		// ECR tokens live in this process's memory, one AWS call per
		// registry at a time (registries API and helper endpoints).
		Registries: tokenserver.RegistryOptions{
			Resolver:      &ecr.Resolver{AWS: aws, Cache: ecrCache, Locker: ecrLocker, AllowIAMAuto: cfg.AllowAWSECRIAMAuto, Logger: log},
			HelperAccount: cfg.HelperAccount,
		},
	}, st)
	if err != nil {
		return noStart(err)
	}
	defer srv.Close()
	created, err := srv.Bootstrap(ctx, cfg.DefaultAdminPassword, cfg.DefaultAdminEmail)
	switch {
	case created:
		log.Info("created the admin account and user from default_admin_password")
	case err != nil && cfg.DefaultAdminPassword == "":
		log.Warn("no admin account yet: set default_admin_password (or ANCHORE_ADMIN_PASSWORD) to create one")
	case err != nil:
		return noStart(err)
	}

	l := cfg.Listen
	lns, certs, err := daemon.Listeners(ctx, daemon.Addrs{Socket: paths.Socket, HTTPS: l.HTTPS, HTTP: l.HTTP, TLSCert: l.TLSCert, TLSKey: l.TLSKey}, log)
	if err != nil {
		return noStart(err)
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if m != nil {
		ml, err := listenMetrics(ctx, cfg.Metrics.Listen, log)
		if err != nil {
			for _, l := range lns {
				l.Close()
			}
			return noStart(fmt.Errorf("metrics.listen: %w", err))
		}
		go serveMetrics(ctx, ml, m, srv, log)
	}
	r := &reloader{flags: flags, getenv: getenv, log: log, cfg: cfg, certs: certs, sink: sink, metrics: m}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				r.reload()
			}
		}
	}()
	if err := daemon.Serve(ctx, lns, srv, gracePeriod, log); err != nil {
		return &exitError{code: exitFailed, lines: []error{err}}
	}
	log.Info("stopped")
	return nil
}

// openStore opens the configured store: the vault file (made on first
// start), or the PostgreSQL database shared by a fleet, its secrets sealed
// under a key derived from the same passphrase.
func openStore(ctx context.Context, cfg config.File, paths config.Paths, pass, where string, getenv func(string) string, log *slog.Logger) (tokenserver.Store, func(), error) {
	if cfg.Store == config.StorePostgres {
		db, err := daemoncfg.ResolveDatabase(cfg, getenv)
		if err != nil {
			return nil, nil, err
		}
		st, err := pgstore.Open(ctx, pgstore.Options{DSN: db.URL, Password: db.Password, Passphrase: pass, Logger: log})
		if err != nil {
			return nil, nil, fmt.Errorf("database: %w", err)
		}
		log.Info("using the PostgreSQL store", "schema_version", pgstore.SchemaVersion(), "passphrase_from", where)
		return st, st.Close, nil
	}
	v, err := vault.Open(ctx, paths.Vault, pass)
	if errors.Is(err, vault.ErrMissing) {
		v, err = vault.Create(ctx, paths.Vault, pass, nil)
		if err == nil {
			log.Info("created a new vault", "path", paths.Vault, "passphrase_from", where)
		} else if errors.Is(err, vault.ErrExists) { // another process created it meanwhile
			v, err = vault.Open(ctx, paths.Vault, pass)
		}
	}
	if err != nil {
		return nil, nil, fmt.Errorf("vault: %w", err)
	}
	return tokenserver.NewVaultStore(v), func() {}, nil
}
