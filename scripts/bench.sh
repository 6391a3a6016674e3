#!/usr/bin/env bash
# make bench: Go benchmarks and the load driver; figures go to BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
go test -run '^$' -bench . -benchtime 20x ./pkg/vault/...
# docker-credential-anchore: whole-process get latency (direct mode) against a
# trivial helper and a bare scrypt.
./scripts/bench-helper.sh
# anchored under load (BENCHMARKS.md, "anchored under load"): the built
# daemon next to a floor (a bare net/http handler on the same kind of
# listener), one run, one load driver (vegeta as a library), 127.0.0.1 and a
# Unix socket only, each scenario bounded by BENCH_DURATION; and the
# whole-process helper get through the socket next to the trivial helper.
loadtmp=$(mktemp -d)
trap 'rm -rf "$loadtmp"' EXIT
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$loadtmp/build/" ./cmd/anchored ./cmd/docker-credential-anchore ./internal/bench/trivialhelper ./internal/bench/cmd/loadbench
# Measured as installed (make install and the packages write the file with
# install(1) and dpkg/rpm, not the linker): a file written in one pass starts
# measurably faster than the linker's output (BENCHMARKS.md), and every
# binary here, the trivial helper too, gets the same treatment.
install -m 0755 "$loadtmp"/build/* "$loadtmp/"
# -ops (BENCH_OPS=0 leaves it out): Bearer and warm Basic also against a
# second daemon with the audit log and metrics on, interleaved with the
# plain one (issue 13: at most 5% slower).
ops=-ops
[ "${BENCH_OPS:-1}" = 0 ] && ops=
"$loadtmp/loadbench" -bin "$loadtmp" -trivial "$loadtmp/trivialhelper" -duration "${BENCH_DURATION:-5s}" $ops
# The same scenarios with anchored on PostgreSQL (issue 11; BENCHMARKS.md,
# "anchored on PostgreSQL"): a private cluster (scripts/pg-private.sh), the
# bench's state copied into it; BENCH_PG=0 leaves it out.
if [ "${BENCH_PG:-1}" != 0 ]; then
  . scripts/pg-private.sh
  trap 'pg_private_stop; rm -rf "$loadtmp"' EXIT
  pg_private_start "$loadtmp/pg"
  PGBENCH="$PG_PRIVATE_BIN/pgbench" "$loadtmp/loadbench" -bin "$loadtmp" -trivial "$loadtmp/trivialhelper" -duration "${BENCH_DURATION:-5s}" -database "$PG_PRIVATE_DSN"
  pg_private_stop
fi
# The connection flood (issue 12): trickling TCP connections held against
# anchored for 10 s, loopback only; 20,000 of them, or fewer when this
# process may not open that many files (the driver holds one end of each).
hard=$(ulimit -Hn)
flood=20000
if [ "$hard" != unlimited ] && [ $((hard - 1000)) -lt $flood ]; then
  flood=$((hard - 1000))
fi
ulimit -n "$hard"
"$loadtmp/loadbench" -bin "$loadtmp" -flood "$flood" -duration 10s -cold-users 2
