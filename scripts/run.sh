#!/usr/bin/env bash
# make run (SPEC section 7): anchored in the foreground with its state in
# ./.anchored/ — a vault whose generated passphrase is kept beside it,
# admin password foobar, OAuth on with hashed passwords, plain HTTP on
# 127.0.0.1:8228 and a Unix socket in ./.anchored/.
#
# Tests run this same script on a free port and a temporary directory with
# ANCHORED_BIN, ANCHORED_STATE and ANCHORED_HTTP.
set -euo pipefail
cd "$(dirname "$0")/.."

bin=${ANCHORED_BIN:-./bin/anchored}
state=${ANCHORED_STATE:-./.anchored}
http=${ANCHORED_HTTP:-127.0.0.1:8228}

. scripts/run-common.sh

# A port already taken (a second make run, say) fails here, before any
# state, vault or admin is made, and says how to pick another.
if run_addr_taken "$http"; then
  echo "make run: $http is already in use (another make run?); choose another address with ANCHORED_HTTP, e.g. ANCHORED_HTTP=127.0.0.1:8229 make run" >&2
  exit 1
fi

# The vault passphrase: generated once, 0600, beside the vault.
state=$(run_state "$state")

(umask 077 && cat > "$state/config.yaml" <<YAML
# Written by scripts/run.sh (make run); rewritten on every run.
vault: $state/vault
passphrase_file: $state/passphrase
listen:
  socket: $state/anchored.sock
  http: "$http"
default_admin_password: foobar
user_authentication:
  oauth:
    enabled: true
    default_token_expiration_seconds: 3600
  hashed_passwords: true
YAML
)

base="http://${http/127.0.0.1/localhost}"
cat >&2 <<MSG
anchored: state in $state, HTTP on $http, socket $state/anchored.sock
Try, in another terminal:
  curl -u admin:foobar $base/v1/accounts
  curl -d 'grant_type=password&client_id=anonymous&username=admin&password=foobar' -X POST $base/v1/oauth/token
  curl -H "Authorization: Bearer <access_token from above>" $base/v1/account
  curl --unix-socket $state/anchored.sock -u admin:foobar http://localhost/v1/user
  ANCHORED_SOCKET=$state/anchored.sock ANCHORE_VAULT=$state/vault ANCHORE_VAULT_PASSPHRASE_FILE=$state/passphrase ./bin/docker-credential-anchore vault status
Stop with Ctrl-C.
MSG

# Flags, so that ANCHORED_SOCKET or ANCHORE_VAULT in the caller's
# environment cannot point this run elsewhere.
exec "$bin" --config "$state/config.yaml" --vault "$state/vault" --socket "$state/anchored.sock" --passphrase-file "$state/passphrase"
