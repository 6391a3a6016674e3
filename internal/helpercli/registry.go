package helpercli

import "github.com/urfave/cli/v3"

// registryCommand is "registry add|update|del|get|list". (Filled in by the helper work.)
func registryCommand(env *Env) *cli.Command {
	return &cli.Command{Name: "registry", Usage: "manage registry credentials as anchore-cli does"}
}
