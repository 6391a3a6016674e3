# Sourced by scripts/run-fleet.sh and scripts/bench.sh: a private PostgreSQL
# from Debian's postgresql package, on a Unix socket only (no TCP), with a
# database "anchored". As a normal user its cluster lives in the directory
# given (kept between runs); as root (initdb refuses root) it runs as
# "nobody" in a temp dir, removed by pg_private_stop.
#
#   pg_private_start DIR   sets PG_PRIVATE_DSN, PG_PRIVATE_DIR, PG_PRIVATE_PID
#   pg_private_stop        stops the server by its PID

pg_private_start() {
  PG_PRIVATE_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  if [ -z "$PG_PRIVATE_BIN" ] || [ ! -x "$PG_PRIVATE_BIN/initdb" ]; then
    echo "PostgreSQL is not installed: install the Debian package postgresql (apt-get install postgresql)" >&2
    return 1
  fi
  PG_PRIVATE_AS=()
  PG_PRIVATE_TEMP=
  if [ "$(id -u)" = 0 ]; then
    PG_PRIVATE_DIR=$(mktemp -d /tmp/anchored-pg.XXXXXX)
    PG_PRIVATE_TEMP=$PG_PRIVATE_DIR
    chown nobody "$PG_PRIVATE_DIR"
    # setpriv execs (no fork): the PID kept below is the server's own.
    PG_PRIVATE_AS=(setpriv --reuid="$(id -u nobody)" --regid="$(id -g nobody)" --clear-groups)
  else
    PG_PRIVATE_DIR=$1
    mkdir -p "$PG_PRIVATE_DIR"
  fi
  if [ ! -s "$PG_PRIVATE_DIR/data/PG_VERSION" ]; then
    "${PG_PRIVATE_AS[@]}" "$PG_PRIVATE_BIN/initdb" -D "$PG_PRIVATE_DIR/data" -U postgres --auth=trust --no-instructions -E UTF8 --locale=C >"$PG_PRIVATE_DIR/initdb.log"
  fi
  "${PG_PRIVATE_AS[@]}" "$PG_PRIVATE_BIN/postgres" -D "$PG_PRIVATE_DIR/data" -k "$PG_PRIVATE_DIR" -c listen_addresses= >"$PG_PRIVATE_DIR/postgres.log" 2>&1 &
  PG_PRIVATE_PID=$!
  for _ in $(seq 100); do
    "$PG_PRIVATE_BIN/pg_isready" -q -h "$PG_PRIVATE_DIR" -U postgres && break
    sleep 0.1
  done
  "$PG_PRIVATE_BIN/psql" -q -h "$PG_PRIVATE_DIR" -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'anchored'" | grep -q 1 ||
    "$PG_PRIVATE_BIN/createdb" -h "$PG_PRIVATE_DIR" -U postgres anchored
  PG_PRIVATE_DSN="host=$PG_PRIVATE_DIR user=postgres dbname=anchored"
}

pg_private_stop() {
  if [ -n "${PG_PRIVATE_PID:-}" ]; then
    kill -INT "$PG_PRIVATE_PID" 2>/dev/null || true
    wait "$PG_PRIVATE_PID" 2>/dev/null || true
    PG_PRIVATE_PID=
  fi
  if [ -n "${PG_PRIVATE_TEMP:-}" ]; then
    rm -rf "$PG_PRIVATE_TEMP"
    PG_PRIVATE_TEMP=
  fi
}
