#!/usr/bin/env bash
# make run-fleet (issue 11): a private PostgreSQL and two anchored replicas
# on it, in the foreground, so that a token from one can be used on the
# other. State in ./.anchored-fleet/: a generated vault passphrase (it
# derives the database's sealing key), the configs, the sockets, and (run
# as a normal user) the database cluster. Run as root, the cluster runs as
# "nobody" in a temp dir (initdb refuses root) and is removed at exit.
#
# Tests run this same script with ANCHORED_BIN, ANCHORED_STATE and
# ANCHORED_HTTP_A / ANCHORED_HTTP_B.
set -euo pipefail
cd "$(dirname "$0")/.."

bin=${ANCHORED_BIN:-./bin/anchored}
state=${ANCHORED_STATE:-./.anchored-fleet}
http_a=${ANCHORED_HTTP_A:-127.0.0.1:8228}
http_b=${ANCHORED_HTTP_B:-127.0.0.1:8229}

. scripts/run-common.sh
for a in "$http_a" "$http_b"; do
  if run_addr_taken "$a"; then
    echo "make run-fleet: $a is already in use; choose others with ANCHORED_HTTP_A and ANCHORED_HTTP_B" >&2
    exit 1
  fi
done

state=$(run_state "$state")

# The cluster: as this user in the state dir, or as nobody in a temp dir.
. scripts/pg-private.sh
pids=()
cleanup() {
  # Each process by its PID: the replicas first, then the database.
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill -INT "${pids[$i]}" 2>/dev/null || true
    wait "${pids[$i]}" 2>/dev/null || true
  done
  pg_private_stop
}
trap cleanup EXIT
trap 'exit 0' INT TERM
pg_private_start "$state/pg"
pg=$PG_PRIVATE_DIR

for r in a b; do
  http=$http_a
  [ $r = b ] && http=$http_b
  (umask 077 && cat > "$state/config-$r.yaml" <<YAML
# Written by scripts/run-fleet.sh (make run-fleet); rewritten on every run.
store: postgres
database:
  url: "$PG_PRIVATE_DSN"
passphrase_file: $state/passphrase
listen:
  socket: $state/anchored-$r.sock
  http: "$http"
default_admin_password: foobar
user_authentication:
  oauth:
    enabled: true
    default_token_expiration_seconds: 3600
  hashed_passwords: true
YAML
  )
  "$bin" --config "$state/config-$r.yaml" --vault "$state/unused-vault" --socket "$state/anchored-$r.sock" --passphrase-file "$state/passphrase" &
  pids+=($!)
done

a="http://${http_a/127.0.0.1/localhost}" b="http://${http_b/127.0.0.1/localhost}"
cat >&2 <<MSG
anchored fleet: PostgreSQL in $pg, replica A on $http_a, replica B on $http_b (state in $state)
Try, in another terminal (a token from A is accepted by B):
  token=\$(curl -s -d 'grant_type=password&client_id=anonymous&username=admin&password=foobar' $a/v1/oauth/token | sed 's/.*"access_token": *"\([^"]*\)".*/\1/')
  curl -H "Authorization: Bearer \$token" $b/v1/account
  curl -u admin:foobar -H 'Content-Type: application/json' -d '{"registry":"reg.example.com","registry_user":"u","registry_pass":"p4ssw0rd"}' '$a/v1/registries?validate=false'
  curl -u admin:foobar $b/v1/registries
Stop with Ctrl-C.
MSG
wait -n
