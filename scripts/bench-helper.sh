#!/usr/bin/env bash
# The helper's benchmark (BENCHMARKS.md, "docker-credential-anchore get"):
# whole-process "get" latency of the built binary in direct-vault mode, next
# to a trivial helper built in the same run (credentials.Serve with a fixed
# answer) and a bare scrypt at the vault's work factor; plus a "get" for an
# unknown key with the vault locked. Runs are interleaved; medians compared.
#
#   scripts/bench-helper.sh [RUNS] [WORK_FACTOR]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-60}
wf=${2:-15}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Built as "make build" builds the release binary, so the figures are the
# shipped binary's.
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$tmp/build/" ./cmd/docker-credential-anchore ./internal/bench/trivialhelper ./internal/bench/scryptonce
# Installed as make install installs them (see scripts/bench.sh).
install -m 0755 "$tmp"/build/* "$tmp/"
go run ./internal/bench/helperbench -helper "$tmp/docker-credential-anchore" -trivial "$tmp/trivialhelper" -scryptonce "$tmp/scryptonce" -runs "$runs" -work-factor "$wf"
