#!/usr/bin/env bash
# Drops the per-test databases that interrupted test runs left behind (a test normally drops
# its own). Takes the server URL of scripts/db.sh.
set -euo pipefail
server="${1%/*}/postgres"
for db in $(psql "$server" -Atqc "SELECT datname FROM pg_database WHERE datname LIKE 'rdv\_test\_%'"); do
  psql "$server" -qc "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null
done
