// Package anchoredcli is anchored's command tree: its name, usage and flags
// (SPEC section 6). The binary runs it and the documentation generator
// writes the man page and shell completions from it, so the two cannot
// drift.
package anchoredcli

import (
	"github.com/urfave/cli/v3"

	"github.com/anchored/anchored/internal/version"
)

// Name is the daemon's binary name.
const Name = "anchored"

// Command returns a fresh tree without an action, writers or exit handler:
// the caller (cmd/anchored) sets those. Shell completion is on, which adds
// the hidden "completion bash|zsh|fish" command.
func Command() *cli.Command {
	return &cli.Command{
		Name:                  Name,
		Usage:                 "serve the Anchore Engine authentication API and keep the vault unlocked",
		UsageText:             "anchored [--config F] [--vault F] [--socket F] [--passphrase-file F]",
		Version:               version.Version,
		EnableShellCompletion: true,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "config", Usage: "config file (env ANCHORE_CONFIG)"},
			&cli.StringFlag{Name: "vault", Usage: "vault file (env ANCHORE_VAULT)"},
			&cli.StringFlag{Name: "socket", Usage: "Unix socket (env ANCHORED_SOCKET)"},
			&cli.StringFlag{Name: "passphrase-file", Usage: "file holding the vault passphrase (env ANCHORE_VAULT_PASSPHRASE_FILE)"},
		},
		Commands: []*cli.Command{{
			// docker-credential-anchore runs it on an ECR token cache miss
			// (pkg/helper/ecr/ecrexec), so that the helper does not link
			// the AWS SDK. Internal: hidden from help, man page and
			// completions; its action is set by cmd/anchored.
			Name:   ECRCommand,
			Usage:  "answer one ECR request of docker-credential-anchore (JSON on stdin and stdout)",
			Hidden: true,
		}, keysCommand(), storeCommand()},
	}
}

// Store commands (issue 11); their actions are set by cmd/anchored.
const (
	StoreCommand     = "store"
	StoreCopyCommand = "copy"
)

func storeCommand() *cli.Command {
	return &cli.Command{
		Name:  StoreCommand,
		Usage: "move the daemon's state between the vault file and PostgreSQL",
		Commands: []*cli.Command{{
			Name:  StoreCopyCommand,
			Usage: "copy every account, user, registry entry and signing key into a new, empty store, then verify the copy",
			UsageText: "anchored [--config F] [--passphrase-file F] store copy --from vault:PATH|postgres:URL --to vault:PATH|postgres:URL\n" +
				"The database password comes from database.password_file or $CREDENTIALS_DIRECTORY/database-password, never from the URL.",
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "from", Usage: "the store to read: vault:PATH or postgres:URL", Required: true},
				&cli.StringFlag{Name: "to", Usage: "the new store to write: vault:PATH (made if missing) or postgres:URL", Required: true},
			},
		}},
	}
}

// KeysCommand and its subcommands manage the token signing keys kept in
// the store; their actions are set by cmd/anchored.
const (
	KeysCommand = "keys"
	KeysRotate  = "rotate"
	KeysList    = "list"
)

func keysCommand() *cli.Command {
	return &cli.Command{
		Name:  KeysCommand,
		Usage: "manage the token signing keys anchored keeps in its store",
		Description: "The keys are read from the store the daemon uses (the vault, or the database with store: postgres, opened with the daemon's passphrase\n" +
			"sources). A running anchored picks a change up by itself.",
		Commands: []*cli.Command{{
			Name:      KeysRotate,
			Usage:     "make a new signing key; the previous ones verify until the longest token lifetime has passed",
			UsageText: "anchored [--config F] [--vault F] [--passphrase-file F] keys rotate",
		}, {
			Name:      KeysList,
			Usage:     "list the signing keys: kid, algorithm, and which signs or until when it verifies",
			UsageText: "anchored [--config F] [--vault F] [--passphrase-file F] keys list",
		}},
	}
}

// ECRCommand is the hidden subcommand docker-credential-anchore runs.
const ECRCommand = "ecr"
