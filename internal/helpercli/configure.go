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
	"regexp"
	"strconv"
	"strings"

	"github.com/urfave/cli/v3"

	"github.com/anchored/anchored/pkg/helper"
)

// helperSuffix is what Docker's config names: "docker-credential-" + it is
// the binary it runs.
const helperSuffix = "anchore"

// configureDockerCommand is "configure-docker [--registry HOST]...": it
// points Docker's config.json at this helper, keeping every other key.
// With --containers (or --system) it writes the registries.conf.d drop-in
// that containers/image (podman, skopeo, buildah) reads instead: those
// clients never read credsStore (docs/helper.md).
func configureDockerCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:  "configure-docker",
		Usage: "point Docker's config.json at this helper (credsStore, or credHelpers for --registry), or podman/skopeo/buildah with --containers",
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "registry", Usage: "add a credHelpers entry for HOST instead of setting credsStore (repeatable)"},
			&cli.BoolFlag{Name: "containers", Usage: "write the user's containers registries.conf.d drop-in (" + userContainersDir + "/" + containersDropIn + ") instead of Docker's config"},
			&cli.BoolFlag{Name: "system", Usage: "with --containers: write the system drop-in (" + systemContainersDir + "/" + containersDropIn + ", as root) instead of the user's"},
		},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			if cmd.Args().Len() != 0 {
				return noStart(fmt.Errorf("unexpected argument %q", cmd.Args().First()))
			}
			if cmd.Bool("containers") || cmd.Bool("system") {
				if len(cmd.StringSlice("registry")) != 0 {
					return noStart(errors.New("--registry is Docker's credHelpers: containers' credential-helpers apply to every registry, so --containers takes no --registry"))
				}
				path := containersDropInPath(env, cmd.Bool("system"))
				if err := configureContainers(path); err != nil {
					return failed(err)
				}
				fmt.Fprintf(env.Stdout, "Containers drop-in %s now uses %s\n", path, Name)
				return nil
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

// The registries.conf.d drop-in (containers-registries.conf.d(5)): the
// user's directory is under HOME (containers/image does not follow
// XDG_CONFIG_HOME here), the system's under /etc.
const (
	userContainersDir   = "~/.config/containers/registries.conf.d"
	systemContainersDir = "/etc/containers/registries.conf.d"
	containersDropIn    = "50-anchore.conf"
	// authFileHelper is containers/image's name for its own auth files
	// (containers-auth.json(5)), which hold logins when no helper does.
	authFileHelper = "containers-auth.json"
)

// containersDropInPath is the drop-in to write: the system one, or the
// user's under HOME.
func containersDropInPath(env *Env, system bool) string {
	if system {
		dir := env.ContainersSystemDir
		if dir == "" {
			dir = systemContainersDir
		}
		return filepath.Join(dir, containersDropIn)
	}
	home := env.Getenv("HOME")
	if home == "" {
		home, _ = os.UserHomeDir()
	}
	return filepath.Join(home, strings.TrimPrefix(userContainersDir, "~/"), containersDropIn)
}

// helpersLine is a top-level credential-helpers line on one line:
// credential-helpers = ["a", 'b'] # comment.
var (
	helpersLine = regexp.MustCompile(`^\s*credential-helpers\s*=\s*\[(.*)\]\s*(#.*)?$`)
	helpersItem = regexp.MustCompile(`^\s*(?:"([^"\\]*)"|'([^']*)')\s*$`)
	helpersKey  = regexp.MustCompile(`^\s*"?credential-helpers"?\s*=`)
)

// configureContainers writes the drop-in at path so that containers/image
// asks this helper first and its own auth file after: a login is stored in
// the vault (or, when the helper cannot store, in auth.json), a lookup the
// vault does not answer falls through to auth.json. An existing drop-in
// keeps every other line and every other helper (after this one); only its
// credential-helpers line changes. The file is replaced atomically and
// keeps its mode (0644 when new: it holds no secret, and the system one
// must be readable by every user).
func configureContainers(path string) error {
	mode := fs.FileMode(0o644)
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		if fi, err := os.Stat(path); err == nil {
			mode = fi.Mode().Perm()
		}
	case errors.Is(err, fs.ErrNotExist):
	default:
		return err
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(b) == 0 {
		lines = []string{"# Written by " + Name + " configure-docker --containers: podman, skopeo and",
			"# buildah ask " + Name + " for registry credentials, then their auth.json."}
	}
	at := -1
	var helpers []string
	for i, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), "[") {
			break // a table: top-level keys end here
		}
		if !helpersKey.MatchString(l) {
			continue
		}
		m := helpersLine.FindStringSubmatch(l)
		if m == nil {
			return fmt.Errorf("%s:%d: credential-helpers is not a one-line array of strings; edit it by hand to list %q first", path, i+1, helperSuffix)
		}
		for _, item := range strings.Split(m[1], ",") {
			if strings.TrimSpace(item) == "" {
				continue
			}
			im := helpersItem.FindStringSubmatch(item)
			if im == nil {
				return fmt.Errorf("%s:%d: credential-helpers holds %q, not a string; edit it by hand to list %q first", path, i+1, strings.TrimSpace(item), helperSuffix)
			}
			if h := im[1] + im[2]; h != helperSuffix {
				helpers = append(helpers, h)
			}
		}
		at = i
	}
	if at < 0 {
		helpers = []string{authFileHelper}
	}
	quoted := make([]string, 0, len(helpers)+1)
	for _, h := range append([]string{helperSuffix}, helpers...) {
		quoted = append(quoted, strconv.Quote(h))
	}
	line := "credential-helpers = [" + strings.Join(quoted, ", ") + "]"
	if at >= 0 {
		lines[at] = line
	} else {
		// Top-level keys go before any table; after the leading comments.
		i := 0
		for i < len(lines) && (strings.TrimSpace(lines[i]) == "" || strings.HasPrefix(strings.TrimSpace(lines[i]), "#")) {
			i++
		}
		lines = append(lines[:i], append([]string{line}, lines[i:]...)...)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return writeFileAtomic(path, []byte(strings.Join(lines, "\n")+"\n"), mode)
}
