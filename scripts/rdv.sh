#!/usr/bin/env bash
# Runs the rdv command line against the database `make run` uses (found or started by
# scripts/db.sh), building it first if needed. For instance:
#   scripts/rdv.sh import docs/samples/participants.csv --kind persons --event 1
set -euo pipefail
cd "$(dirname "$0")/.."
url=$(scripts/db.sh)
export APP__DATABASE__OWNER_URL="$url"
DATABASE_URL=$(scripts/app-url.sh "$url")
export DATABASE_URL
cargo build -q -p rdv
exec target/debug/rdv "$@"
