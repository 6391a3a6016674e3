# Sourced by scripts/run.sh and scripts/run-fleet.sh: what make run and
# make run-fleet share.
#
#   run_addr_taken ADDR   succeeds when something listens on ADDR
#                         (host:port, or [v6]:port)
#   run_state DIR         makes DIR (0700) holding a generated vault
#                         passphrase (0600, made once, kept between runs);
#                         prints DIR's absolute path

run_addr_taken() {
  local host=${1%:*} port=${1##*:}
  host=${host#[} host=${host%]}
  (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null
}

run_state() {
  mkdir -p "$1"
  chmod 700 "$1"
  local dir
  dir=$(cd "$1" && pwd)
  if [ ! -s "$dir/passphrase" ]; then
    (umask 077 && head -c 32 /dev/urandom | base64 > "$dir/passphrase.tmp" && mv "$dir/passphrase.tmp" "$dir/passphrase")
  fi
  chmod 600 "$dir/passphrase"
  echo "$dir"
}
