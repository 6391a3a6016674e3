# The binaries on PATH first: "make install PREFIX=~/.local" (with
# ~/.local/bin on PATH), or the .deb/.rpm from "make package".

# A passphrase for the vault, in a file only you can read (never
# overwrite it: the vault opens with this passphrase only).
mkdir -p ~/.config/anchore
test -e ~/.config/anchore/vault-passphrase ||
  (umask 077 && head -c 32 /dev/urandom | base64 > ~/.config/anchore/vault-passphrase)

# Where it is, in the config both binaries read, so that every shell
# (and every docker pull) finds it, not only this one.
grep -qs '^passphrase_file:' ~/.config/anchore/config.yaml ||
  echo "passphrase_file: $HOME/.config/anchore/vault-passphrase" >> ~/.config/anchore/config.yaml

# The vault: ~/.local/share/anchore/vault, an age file.
docker-credential-anchore vault init

# Registry credentials, as anchore-cli adds them. Without --skip-validate
# the helper first logs in to the registry with them.
echo 's3cret' | docker-credential-anchore registry add registry.example.com:5000 alice --password-stdin --skip-validate
docker-credential-anchore registry list

# Docker asks the helper from now on ("credsStore": "anchore"); podman,
# skopeo and buildah with --containers (they never read credsStore).
docker-credential-anchore configure-docker
docker-credential-anchore configure-docker --containers

# What Docker does on a pull from that registry:
echo registry.example.com:5000 | docker-credential-anchore get

docker-credential-anchore vault status
