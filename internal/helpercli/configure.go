package helpercli

import "github.com/urfave/cli/v3"

// configureDockerCommand is "configure-docker". (Filled in by the helper work.)
func configureDockerCommand(env *Env) *cli.Command {
	return &cli.Command{Name: "configure-docker", Usage: "point Docker's config.json at this helper"}
}
