package helpercli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v3"

	"github.com/anchored/anchored/pkg/apitype"
	"github.com/anchored/anchored/pkg/helper"
	"github.com/anchored/anchored/pkg/helper/ecr"
	"github.com/anchored/anchored/pkg/helper/validate"
	"github.com/anchored/anchored/pkg/vault"
)

// registryCommand is "registry add|update|del|get|list", as anchore-cli
// has them (SPEC section 4); they read and write the vault directly.
func registryCommand(env *Env) *cli.Command {
	entryFlags := func() []cli.Flag {
		return []cli.Flag{
			&cli.StringFlag{Name: "registry-type", Usage: "docker_v2 or awsecr (default: awsecr for an ECR host, else docker_v2)"},
			&cli.StringFlag{Name: "registry-name", Usage: "a name for the entry (default: REGISTRY)"},
			&cli.BoolFlag{Name: "insecure", Usage: "do not verify the registry's TLS certificate"},
			&cli.BoolFlag{Name: "skip-validate", Usage: "store without checking the credentials against the registry"},
			&cli.BoolFlag{Name: "password-stdin", Usage: "read the password from stdin"},
		}
	}
	return &cli.Command{
		Name:   "registry",
		Usage:  "manage registry credentials as anchore-cli does",
		Action: unknownCommand,
		Commands: []*cli.Command{
			{
				Name: "add", Usage: "add a registry entry", ArgsUsage: "REGISTRY USERNAME [PASSWORD]",
				Flags:  entryFlags(),
				Action: func(ctx context.Context, cmd *cli.Command) error { return registryPut(ctx, cmd, env, false) },
			},
			{
				Name: "update", Usage: "change a registry entry", ArgsUsage: "REGISTRY USERNAME [PASSWORD]",
				Flags:  entryFlags(),
				Action: func(ctx context.Context, cmd *cli.Command) error { return registryPut(ctx, cmd, env, true) },
			},
			{
				Name: "del", Usage: "delete a registry entry", ArgsUsage: "REGISTRY",
				Action: func(ctx context.Context, cmd *cli.Command) error { return registryDel(ctx, cmd, env) },
			},
			{
				Name: "get", Usage: "show a registry entry", ArgsUsage: "REGISTRY",
				Action: func(ctx context.Context, cmd *cli.Command) error { return registryGet(ctx, cmd, env) },
			},
			{
				Name: "list", Usage: "list registry entries",
				Action: func(ctx context.Context, cmd *cli.Command) error { return registryList(ctx, cmd, env) },
			},
		},
	}
}

// maxPasswordStdin bounds --password-stdin; ECR secrets and tokens are far
// smaller.
const maxPasswordStdin = 64 << 10

// readPassword returns the password argument or, with --password-stdin,
// stdin without its trailing newline (as docker login --password-stdin).
// With neither, it asks on the terminal when there is one (ours: a password
// typed as an argument lands in the shell's history and in ps).
func readPassword(cmd *cli.Command, env *Env, args []string) (string, error) {
	fromStdin := cmd.Bool("password-stdin")
	switch {
	case len(args) == 3 && fromStdin:
		return "", noStart(errors.New("give PASSWORD as an argument or with --password-stdin, not both"))
	case len(args) == 3:
		return args[2], nil
	case !fromStdin && env.Prompt != nil:
		p, err := env.Prompt("Password: ")
		if err == nil && p != "" {
			return p, nil
		}
		fallthrough
	case !fromStdin:
		return "", noStart(errors.New("missing PASSWORD: give it as an argument or with --password-stdin"))
	}
	b, err := io.ReadAll(io.LimitReader(env.Stdin, maxPasswordStdin+1))
	if err != nil {
		return "", noStart(fmt.Errorf("read password from stdin: %w", err))
	}
	if len(b) > maxPasswordStdin {
		return "", failed(errors.New("password on stdin is too long"))
	}
	p := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	if p == "" {
		return "", failed(errors.New("empty password on stdin"))
	}
	return p, nil
}

// iamAuto reports whether creds spend the host's own AWS identity.
func iamAuto(e helper.Entry) bool {
	return e.User == "awsauto" || e.Pass == "awsauto" || e.User == "_iam_role"
}

// registryPut is "registry add" (update false) and "registry update".
func registryPut(ctx context.Context, cmd *cli.Command, env *Env, update bool) error {
	args := cmd.Args().Slice()
	if len(args) < 2 || len(args) > 3 {
		return noStart(fmt.Errorf("usage: %s registry %s REGISTRY USERNAME [PASSWORD]", Name, cmd.Name))
	}
	pass, err := readPassword(cmd, env, args)
	if err != nil {
		return err
	}
	e := helper.Entry{
		Registry: args[0], User: args[1], Pass: pass,
		Name: cmd.String("registry-name"), Type: cmd.String("registry-type"),
		Verify: !cmd.Bool("insecure"),
	}
	if e.Type != "" {
		if err := helper.CheckType(e.Type); err != nil {
			return noStart(err)
		}
	}
	key, err := helper.CheckRegistryName(e.Registry)
	if err != nil {
		return failed(err)
	}
	if e.Type == "" && !update {
		typ, guessed, err := helper.GuessType(ctx, env.AWS(), key)
		if err != nil {
			return failed(fmt.Errorf("%w (or give --registry-type)", err))
		}
		if e.Type = typ; guessed {
			fmt.Fprintln(env.Stderr, helper.GuessWarning)
		}
	}
	s, v, err := openFromFlags(ctx, cmd, env)
	if err != nil {
		return err
	}
	account := cmd.String("account")
	// Check before asking the registry, and again under the lock.
	existing, getErr := helper.GetRegistry(v.Document(), account, key)
	switch {
	case !update && getErr == nil:
		return failed(fmt.Errorf("%w: %q", helper.ErrExists, key))
	case update && getErr != nil:
		return failed(getErr)
	}
	check := e
	if update && check.Type == "" {
		check.Type = existing.Type
	}
	if check.Type == helper.TypeAWSECR && iamAuto(check) && !s.cfg.AllowAWSECRIAMAuto {
		return failed(ecr.ErrIAMAutoDisabled)
	}
	if !cmd.Bool("skip-validate") {
		val := validate.Validator{Transport: env.Transport, Resolver: s.newResolver(env, v), Account: account}
		if err := val.Check(ctx, check); err != nil {
			return failed(err)
		}
	}
	var rec *vault.Registry
	err = v.Update(ctx, func(d *vault.Document) error {
		var err error
		if update {
			rec, err = helper.UpdateRegistry(d, account, e, env.Now())
		} else {
			rec, err = helper.AddRegistry(d, account, e, env.Now())
		}
		return err
	})
	if err != nil {
		return registryErr(err)
	}
	return printRecords(cmd, env, account, rec)
}

// registryErr maps an operation's error to its exit code.
func registryErr(err error) error {
	switch {
	case errors.Is(err, helper.ErrUnknownType):
		return noStart(err)
	case errors.Is(err, vault.ErrNewerVersion):
		return noStart(err)
	}
	return failed(err)
}

func oneRegistryArg(cmd *cli.Command) (string, error) {
	if cmd.Args().Len() != 1 {
		return "", noStart(fmt.Errorf("usage: %s registry %s REGISTRY", Name, cmd.Name))
	}
	return cmd.Args().First(), nil
}

func registryDel(ctx context.Context, cmd *cli.Command, env *Env) error {
	reg, err := oneRegistryArg(cmd)
	if err != nil {
		return err
	}
	_, v, err := openFromFlags(ctx, cmd, env)
	if err != nil {
		return err
	}
	account := cmd.String("account")
	// Deleting what is not there succeeds, as Anchore's DELETE does, and
	// writes nothing.
	if _, err := helper.GetRegistry(v.Document(), account, reg); err == nil {
		if err := v.Update(ctx, func(d *vault.Document) error {
			helper.DeleteRegistry(d, account, reg)
			return nil
		}); err != nil {
			return registryErr(err)
		}
	}
	if cmd.Bool("json") {
		fmt.Fprintln(env.Stdout, "true")
		return nil
	}
	fmt.Fprintln(env.Stdout, "Success")
	return nil
}

func registryGet(ctx context.Context, cmd *cli.Command, env *Env) error {
	reg, err := oneRegistryArg(cmd)
	if err != nil {
		return err
	}
	_, v, err := openFromFlags(ctx, cmd, env)
	if err != nil {
		return err
	}
	account := cmd.String("account")
	r, err := helper.GetRegistry(v.Document(), account, reg)
	if err != nil {
		return failed(err)
	}
	return printRecords(cmd, env, account, r)
}

func registryList(ctx context.Context, cmd *cli.Command, env *Env) error {
	if cmd.Args().Len() != 0 {
		return noStart(fmt.Errorf("usage: %s registry list", Name))
	}
	_, v, err := openFromFlags(ctx, cmd, env)
	if err != nil {
		return err
	}
	account := cmd.String("account")
	regs := helper.ListRegistries(v.Document(), account)
	if cmd.Bool("json") {
		return printJSON(env.Stdout, records(account, regs...))
	}
	rows := [][]string{{"Registry", "Name", "Type", "User"}}
	for _, r := range regs {
		rec := helper.Record(r, account)
		rows = append(rows, []string{rec.Registry, rec.RegistryName, rec.RegistryType, rec.RegistryUser})
	}
	_, err = io.WriteString(env.Stdout, plainColumns(rows))
	return err
}

func records(account string, regs ...*vault.Registry) []apitype.Registry {
	out := make([]apitype.Registry, 0, len(regs))
	for _, r := range regs {
		out = append(out, helper.Record(r, account))
	}
	return out
}

// printRecords prints records as anchore-cli does for add, get and update:
// a block of "Key: value" lines per record, Python's True/False for the
// TLS flag; with --json the API's list.
func printRecords(cmd *cli.Command, env *Env, account string, regs ...*vault.Registry) error {
	recs := records(account, regs...)
	if cmd.Bool("json") {
		return printJSON(env.Stdout, recs)
	}
	var b strings.Builder
	for i, r := range recs {
		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "Registry: %s\nName: %s\nUser: %s\nType: %s\nVerify TLS: %s\nCreated: %s\nUpdated: %s\n",
			r.Registry, r.RegistryName, r.RegistryUser, r.RegistryType, pyBool(r.RegistryVerify), r.CreatedAt, r.LastUpdated)
	}
	_, err := io.WriteString(env.Stdout, b.String())
	return err
}

func pyBool(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

// printJSON prints v as anchore-cli's json.dumps(indent=4, sort_keys=True)
// does (apitype's field order is sorted).
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "    ")
	return enc.Encode(v)
}

// plainColumns renders rows as prettytable's PLAIN_COLUMNS style that
// anchore-cli uses: no borders, left-aligned, each column padded to its
// width plus eight spaces. Trailing spaces are trimmed (ours).
func plainColumns(rows [][]string) string {
	var widths []int
	for _, row := range rows {
		for i, c := range row {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], len(c))
		}
	}
	var b strings.Builder
	for _, row := range rows {
		var line strings.Builder
		for i, c := range row {
			line.WriteString(c)
			line.WriteString(strings.Repeat(" ", widths[i]-len(c)+8))
		}
		b.WriteString(strings.TrimRight(line.String(), " "))
		b.WriteString("\n")
	}
	return b.String()
}
