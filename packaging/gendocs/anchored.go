package main

import "github.com/urfave/cli/v3"

// anchoredCommand returns anchored's command tree.
// TODO(packaging): switch to the daemon's exported tree once it exists.
func anchoredCommand() *cli.Command {
	return &cli.Command{
		Name:  "anchored",
		Usage: "serve the Anchore Engine auth API and keep the vault unlocked for docker-credential-anchore",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "config", Usage: "config file (env ANCHORE_CONFIG)"},
			&cli.StringFlag{Name: "vault", Usage: "vault file (env ANCHORE_VAULT)"},
			&cli.StringFlag{Name: "socket", Usage: "socket to listen on (env ANCHORED_SOCKET)"},
			&cli.StringFlag{Name: "passphrase-file", Usage: "file holding the vault passphrase (env ANCHORE_VAULT_PASSPHRASE_FILE)"},
		},
	}
}
