package helpercli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v3"

	"github.com/anchored/anchored/pkg/helper/validate"
	"github.com/anchored/anchored/pkg/registries"
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

// service is the registry workflow over the opened vault, with what
// only the CLI has: the terminal's clock, the validator's transport, and
// the AWS access of direct mode (in process: the CLI runs in anchored).
func (s settings) service(env *Env, v *vault.Vault) *registries.Service {
	res := s.newResolver(env, v)
	return &registries.Service{
		Store:        &registries.VaultStore{V: v},
		Resolver:     res,
		Hosts:        env.AWS(),
		AllowIAMAuto: res.AllowIAMAuto, // the resolver's own setting: the gate and the token fetch agree
		Validate: func(ctx context.Context, account string, e registries.Entry) error {
			return validate.Validator{Transport: env.Transport, Resolver: res, Account: account}.Check(ctx, e)
		},
		Now: env.Now,
	}
}

// registryPut is "registry add" (update false) and "registry update".
// Every check is registries.Service's; the CLI only guesses a missing
// type on add, as anchore-cli does on its side.
func registryPut(ctx context.Context, cmd *cli.Command, env *Env, update bool) error {
	args := cmd.Args().Slice()
	if len(args) < 2 || len(args) > 3 {
		return noStart(fmt.Errorf("usage: %s registry %s REGISTRY USERNAME [PASSWORD]", Name, cmd.Name))
	}
	var pass *string
	if !update || len(args) == 3 || cmd.Bool("password-stdin") {
		p, err := readPassword(cmd, env, args)
		if err != nil {
			return err
		}
		pass = &p
	}
	typ := cmd.String("registry-type")
	if typ == "" && !update {
		guess, guessed, err := registries.GuessType(ctx, env.AWS(), args[0])
		if err != nil {
			return failed(fmt.Errorf("%w (or give --registry-type)", err))
		}
		if typ = guess; guessed {
			fmt.Fprintln(env.Stderr, registries.GuessWarning)
		}
	}
	s, v, err := openFromFlags(ctx, cmd, env)
	if err != nil {
		return err
	}
	account := cmd.String("account")
	svc := s.service(env, v)
	validate := !cmd.Bool("skip-validate")
	var e registries.Entry
	if update {
		p := registries.Patch{User: &args[1], Pass: pass}
		if cmd.IsSet("registry-type") {
			p.Type = &typ
		}
		if cmd.IsSet("registry-name") {
			name := cmd.String("registry-name")
			p.Name = &name
		}
		if cmd.IsSet("insecure") {
			verify := !cmd.Bool("insecure")
			p.Verify = &verify
		}
		e, err = svc.Update(ctx, account, args[0], p, validate)
	} else {
		e, err = svc.Add(ctx, account, registries.AddInput{
			Registry: args[0], User: args[1], Pass: *pass, Name: cmd.String("registry-name"), Type: typ,
			Verify: !cmd.Bool("insecure"),
		}, validate)
	}
	if err != nil {
		return registryErr(err)
	}
	return printRecords(cmd, env, account, e)
}

// registryErr maps an operation's error to its exit code.
func registryErr(err error) error {
	switch {
	case errors.Is(err, registries.ErrUnknownType):
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
	s, v, err := openFromFlags(ctx, cmd, env)
	if err != nil {
		return err
	}
	// Deleting what is not there succeeds, as Anchore's DELETE does, and
	// writes nothing.
	if err := s.service(env, v).Delete(ctx, cmd.String("account"), reg); err != nil {
		return registryErr(err)
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
	s, v, err := openFromFlags(ctx, cmd, env)
	if err != nil {
		return err
	}
	account := cmd.String("account")
	r, err := s.service(env, v).Get(ctx, account, reg)
	if err != nil {
		return failed(err)
	}
	return printRecords(cmd, env, account, r)
}

func registryList(ctx context.Context, cmd *cli.Command, env *Env) error {
	if cmd.Args().Len() != 0 {
		return noStart(fmt.Errorf("usage: %s registry list", Name))
	}
	s, v, err := openFromFlags(ctx, cmd, env)
	if err != nil {
		return err
	}
	account := cmd.String("account")
	regs, err := s.service(env, v).List(ctx, account)
	if err != nil {
		return failed(err)
	}
	recs := registries.Records(regs, account)
	if cmd.Bool("json") {
		return printJSON(env.Stdout, recs)
	}
	rows := [][]string{{"Registry", "Name", "Type", "User"}}
	for _, rec := range recs {
		rows = append(rows, []string{rec.Registry, rec.RegistryName, rec.RegistryType, rec.RegistryUser})
	}
	_, err = io.WriteString(env.Stdout, plainColumns(rows))
	return err
}

// printRecords prints records as anchore-cli does for add, get and update:
// a block of "Key: value" lines per record, Python's True/False for the
// TLS flag; with --json the API's list.
func printRecords(cmd *cli.Command, env *Env, account string, regs ...registries.Entry) error {
	recs := registries.Records(regs, account)
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
