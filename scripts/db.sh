#!/usr/bin/env bash
# Finds or starts PostgreSQL, makes sure the application database exists, and prints its URL.
#   1. DATABASE_URL when set;
#   2. else a server accepting connections as `postgres` on 127.0.0.1:5432;
#   3. else a private cluster under target/pgdata (initdb + pg_ctl, as the postgres system user
#      when run as root), listening on 127.0.0.1:${RDV_PG_PORT:-54329}. RDV_PG_PRIVATE=1 skips 2.
# The URL is the owner's (migrations, the demo seed); the application itself connects as the
# role rdv_app that this script creates (scripts/app-url.sh turns one URL into the other).
# Progress goes to stderr; only the URL goes to stdout.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
db_name=${RDV_DB_NAME:-rdv}

ok() { psql "$1" -Atqc 'SELECT 1' >/dev/null 2>&1; }

# The application's own role (see migrations/*_application_role): it reads and writes data but
# may not change the schema or rewrite the audit log. Its password here is for development.
ensure_app_role() {
  psql "$1" -q >/dev/null <<SQL
DO \$\$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rdv_app') THEN
        CREATE ROLE rdv_app;
    END IF;
END \$\$;
ALTER ROLE rdv_app LOGIN PASSWORD '${RDV_APP_DB_PASSWORD:-rdv_app}';
SQL
}

if [ -n "${DATABASE_URL:-}" ]; then
  ok "$DATABASE_URL" || { echo "DATABASE_URL is set but PostgreSQL does not answer there" >&2; exit 1; }
  ensure_app_role "$DATABASE_URL" || echo "cannot create the role rdv_app on DATABASE_URL's server" >&2
  echo "$DATABASE_URL"
  exit 0
fi

if [ "${RDV_PG_PRIVATE:-0}" != 1 ] && ok "postgres://postgres@127.0.0.1:5432/postgres"; then
  base="postgres://postgres@127.0.0.1:5432"
else
  port=${RDV_PG_PORT:-54329}
  base="postgres://postgres@127.0.0.1:$port"
  if ! ok "$base/postgres"; then
    bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    [ -x "$bindir/initdb" ] || { echo "PostgreSQL server binaries not found (run scripts/deps.sh)" >&2; exit 1; }
    data="$root/target/pgdata"
    as_pg() {
      if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
    }
    if [ ! -f "$data/PG_VERSION" ]; then
      echo "creating a private PostgreSQL cluster in $data" >&2
      mkdir -p "$data"
      [ "$(id -u)" -eq 0 ] && chown postgres: "$data"
      chmod 700 "$data"
      as_pg "$bindir/initdb" -D "$data" -U postgres --auth=trust -E UTF8 >/dev/null
    fi
    echo "starting the private PostgreSQL cluster on 127.0.0.1:$port" >&2
    as_pg "$bindir/pg_ctl" -D "$data" -l "$data/server.log" -w \
      -o "-p $port -c listen_addresses=127.0.0.1 -k /tmp" start >/dev/null
  fi
fi

ensure_app_role "$base/postgres"

if ! psql "$base/postgres" -Atqc "SELECT 1 FROM pg_database WHERE datname = '$db_name'" | grep -q 1; then
  psql "$base/postgres" -qc "CREATE DATABASE \"$db_name\"" >&2
fi
echo "$base/$db_name"
