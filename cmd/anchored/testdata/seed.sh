#!/usr/bin/env bash
# The seed document's curl session (Anchore Engine's "Supported
# Authentication Modes"), with the commands as written, against BASE
# (make run serves http://localhost:8228). Exits non-zero on the first
# difference.
set -euo pipefail
base=${1:-http://localhost:8228}
fail() { echo "FAIL: $*" >&2; exit 1; }

out=$(curl -sS -u admin:foobar "$base/v1/accounts")
for want in '"name": "admin"' '"email": "admin@myanchore"' '"state": "enabled"' '"type": "admin"' '"created_at": "' '"last_updated": "'; do
  grep -qF "$want" <<<"$out" || fail "GET /v1/accounts lacks $want: $out"
done

headers=$(mktemp)
trap 'rm -f "$headers"' EXIT
tok=$(curl -sS -D "$headers" -d 'grant_type=password&client_id=anonymous&username=admin&password=foobar' -X POST "$base/v1/oauth/token" | tr -d '\n')
grep -qi '^Cache-Control: no-store' "$headers" || fail "token reply lacks Cache-Control: no-store"
grep -qi '^Pragma: no-cache' "$headers" || fail "token reply lacks Pragma: no-cache"
grep -qF '"expires_in": 3600' <<<"$tok" || fail "token reply: $tok"
grep -qF '"token_type": "Bearer"' <<<"$tok" || fail "token reply: $tok"
access=$(sed -n 's/.*"access_token": *"\([^"]*\)".*/\1/p' <<<"$tok")
[ -n "$access" ] || fail "no access_token in $tok"

acct=$(curl -sS -H "Authorization: Bearer $access" "$base/v1/account")
grep -qF '"name": "admin"' <<<"$acct" || fail "GET /v1/account with the token: $acct"

# Anchore's 401: plain text and the fixed realm.
resp=$(curl -sS -i -u admin:wrong "$base/v1/account" | tr -d '\r')
grep -q '^HTTP/1.1 401' <<<"$resp" || fail "wrong password: $resp"
grep -qi '^WWW-Authenticate: basic realm="Authentication required"' <<<"$resp" || fail "401 header: $resp"
[ "$(tail -n1 <<<"$resp")" = "Unauthorized" ] || fail "401 body: $resp"

[ "$(curl -sS "$base/v1")" = '"v1"' ] || fail "GET /v1"
echo "seed transcript: ok"
