#!/usr/bin/env bash
# Runs schemathesis, with every check, against the API as `make run` serves it: a fresh
# database migrated and seeded with the demo, the server started here on a free port, and the
# run repeated as the demo's platform admin, organizer admin and participant. Fails on any
# failure. Takes the server URL of scripts/db.sh; the schemathesis of the virtual environment
# the Makefile creates (tests/checkers/requirements.txt).
#
#   scripts/api-conformance.sh postgres://postgres@127.0.0.1:5432/rdv
set -euo pipefail
cd "$(dirname "$0")/.."

owner_url=$1
venv=target/checkers-venv
st=$venv/bin/schemathesis
examples=${RDV_CONFORMANCE_EXAMPLES:-15}
# A fixed seed makes `make test` repeatable; set RDV_CONFORMANCE_SEED to explore other inputs.
seed=${RDV_CONFORMANCE_SEED:-20261130}
port=${RDV_CONFORMANCE_PORT:-18080}
base="http://127.0.0.1:$port"
db=rdv_conformance_$$
server_url="${owner_url%/*}/postgres"
work=$(mktemp -d)
server_pid=

cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  psql "$server_url" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

psql "$server_url" -qc "CREATE DATABASE $db" >/dev/null
export APP__DATABASE__OWNER_URL="${owner_url%/*}/$db"
export DATABASE_URL=$(scripts/app-url.sh "$APP__DATABASE__OWNER_URL")
export APP__SERVER__PORT=$port
export RDV_SEARCH_DIR=$work/search
export RUST_LOG=${RUST_LOG:-warn}

echo "conformance: migrating and seeding $db" >&2
target/debug/rdv migrate >/dev/null
target/debug/rdv seed-demo >/dev/null 2>&1
target/debug/rdv serve --no-worker >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
  curl -sf "$base/api/health" >/dev/null && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
  sleep 0.2
done

login() {
  curl -sf "$base/api/auth/login" -H 'content-type: application/json' \
    -d "{\"email\":\"$1\",\"password\":\"demo\"}" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'
}
# Every token first: a run changes the demo's data (emails included).
declare -A tokens session_tokens
for who in root admin buyer1; do
  tokens[$who]=$(login "$who@demo.example")
  session_tokens[$who]=$(login "$who@demo.example")
done

# Ending sessions would log the run out midway: those operations run last, on sessions of
# their own.
session_ops='^/api/auth/(logout|logout-all|refresh)$'

failed=0
run() {
  local label=$1
  shift
  echo "conformance: schemathesis as $label" >&2
  if ! "$st" --config-file tests/conformance/schemathesis.toml run "$base/api/openapi.json" --checks all --max-examples "$examples" \
      --seed "$seed" --workers 1 --no-color "$@" >"$work/$label.txt" 2>&1; then
    failed=1
    cat "$work/$label.txt"
  fi
  cp "$work/$label.txt" "target/conformance-$label.txt"
  # The counts and the summary line, e.g. "3381 generated, 3381 passed, 10 skipped" and
  # "==== 1 warning in 14.62s ====".
  { grep -E '^ *[0-9]+ generated' "$work/$label.txt" | tail -1
    grep -E '^=+ .* in [0-9.]+s =+$' "$work/$label.txt" | tail -1; } |
    sed -e 's/^ *//' -e "s/^/conformance: $label: /" >&2 || true
}

for who in root admin buyer1; do
  run "$who" -H "Authorization: Bearer ${tokens[$who]}" --exclude-path-regex "$session_ops"
done
for who in root admin buyer1; do
  run "$who-sessions" -H "Authorization: Bearer ${session_tokens[$who]}" \
    --include-path-regex "$session_ops"
done

if [ "$failed" -ne 0 ]; then
  echo "conformance: FAILED (server log: see above)" >&2
  tail -50 "$work/server.log" >&2
  exit 1
fi
echo "conformance: every check passed" >&2
