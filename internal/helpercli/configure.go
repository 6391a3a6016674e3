package helpercli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v3"

	"github.com/anchored/anchored/pkg/helper"
)

// helperSuffix is what Docker's config names: "docker-credential-" + it is
// the binary it runs.
const helperSuffix = "anchore"

// configureDockerCommand is "configure-docker [--registry HOST]...": it
// points Docker's config.json at this helper, keeping every other key.
func configureDockerCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:  "configure-docker",
		Usage: "point Docker's config.json at this helper (credsStore, or credHelpers for --registry)",
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "registry", Usage: "add a credHelpers entry for HOST instead of setting credsStore (repeatable)"},
		},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			if cmd.Args().Len() != 0 {
				return noStart(fmt.Errorf("unexpected argument %q", cmd.Args().First()))
			}
			path := dockerConfigPath(env.Getenv)
			if err := configureDocker(path, cmd.StringSlice("registry")); err != nil {
				return failed(err)
			}
			fmt.Fprintf(env.Stdout, "Docker configuration %s now uses %s\n", path, Name)
			return nil
		},
	}
}

// dockerConfigPath is $DOCKER_CONFIG/config.json, default ~/.docker.
func dockerConfigPath(getenv func(string) string) string {
	dir := getenv("DOCKER_CONFIG")
	if dir == "" {
		home := getenv("HOME")
		if home == "" {
			home, _ = os.UserHomeDir()
		}
		dir = filepath.Join(home, ".docker")
	}
	return filepath.Join(dir, "config.json")
}

// credHelperKeys are the credHelpers keys for a registry host: Docker Hub
// needs docker's own key (https://index.docker.io/v1/) and podman's
// (docker.io), so both are written for any of its aliases.
func credHelperKeys(host string) ([]string, error) {
	host = strings.TrimSpace(host)
	k, err := helper.Normalize(host)
	if err != nil {
		return nil, err
	}
	if k.Key == helper.DockerHub {
		return []string{"https://index.docker.io/v1/", helper.DockerHub}, nil
	}
	if k.Path != "" {
		return nil, fmt.Errorf("--registry %q: credHelpers keys are hosts, without a path", host)
	}
	return []string{k.Host}, nil
}

// configureDocker edits the config at path: credsStore, or credHelpers
// entries for registries. Unknown keys and their order-insensitive content
// are kept (json.RawMessage); the file is replaced atomically and keeps its
// mode (0600 when new).
func configureDocker(path string, registries []string) error {
	cfg := map[string]json.RawMessage{}
	mode := fs.FileMode(0o600)
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		if len(bytes.TrimSpace(b)) > 0 {
			if err := json.Unmarshal(b, &cfg); err != nil {
				return fmt.Errorf("%s: not a JSON object: %w", path, err)
			}
		}
		if fi, err := os.Stat(path); err == nil {
			mode = fi.Mode().Perm()
		}
	case errors.Is(err, fs.ErrNotExist):
	default:
		return err
	}
	if len(registries) == 0 {
		cfg["credsStore"], _ = json.Marshal(helperSuffix)
	} else {
		helpers := map[string]string{}
		if raw, ok := cfg["credHelpers"]; ok && string(raw) != "null" {
			if err := json.Unmarshal(raw, &helpers); err != nil {
				return fmt.Errorf("%s: credHelpers is not an object of strings: %w", path, err)
			}
		}
		for _, r := range registries {
			keys, err := credHelperKeys(r)
			if err != nil {
				return err
			}
			for _, k := range keys {
				helpers[k] = helperSuffix
			}
		}
		cfg["credHelpers"], _ = json.Marshal(helpers)
	}
	out, err := json.MarshalIndent(cfg, "", "\t")
	if err != nil {
		return err
	}
	return writeFileAtomic(path, append(out, '\n'), mode)
}

// writeFileAtomic writes data to a temp file beside path, syncs it and
// renames it over path, so a crash leaves the old config or the new one.
func writeFileAtomic(path string, data []byte, mode fs.FileMode) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".config.json.tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Chmod(mode); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
