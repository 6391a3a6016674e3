package helpercli

import "github.com/urfave/cli/v3"

// vaultCommand is "vault init|passwd|status". (Filled in by the vault work.)
func vaultCommand(env *Env) *cli.Command {
	return &cli.Command{Name: "vault", Usage: "create, re-key and inspect the vault"}
}
