#!/usr/bin/env bash
# make bench: Go benchmarks and the load driver; figures go to BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
go test -run '^$' -bench . -benchtime 20x ./pkg/vault/...
# docker-credential-anchore: whole-process get latency (direct mode) against a
# trivial helper and a bare scrypt.
./scripts/bench-helper.sh
