# A passphrase for the vault, in a file only you can read (never
# overwrite it: the vault opens with this passphrase only).
mkdir -p ~/.config/anchore
test -e ~/.config/anchore/vault-passphrase ||
  (umask 077 && head -c 32 /dev/urandom | base64 > ~/.config/anchore/vault-passphrase)
export ANCHORE_VAULT_PASSPHRASE_FILE=~/.config/anchore/vault-passphrase

# The vault: ~/.local/share/anchore/vault, an age file.
docker-credential-anchore vault init

# Registry credentials, as anchore-cli adds them. Without --skip-validate
# the helper first logs in to the registry with them.
echo 's3cret' | docker-credential-anchore registry add registry.example.com:5000 alice --password-stdin --skip-validate
docker-credential-anchore registry list

# Docker asks the helper from now on ("credsStore": "anchore").
docker-credential-anchore configure-docker

# What Docker does on a pull from that registry:
echo registry.example.com:5000 | docker-credential-anchore get

docker-credential-anchore vault status
