#!/usr/bin/env bash
# Starts, unless this checkout's is already running and answering, the payment-provider
# simulator of `make run` and `make test` (scripts/paysim.py, protocol in
# docs/payment-simulator.md): a Stripe-like HTTP server, so that no payment ever reaches the
# internet. Listens on 127.0.0.1, on RDV_PAYSIM_PORT (default 12111) or the next free port, with
# the development API key and webhook secret of config/local.toml and config/test.toml
# (overridable with RDV_PAYSIM_API_KEY and RDV_PAYSIM_WEBHOOK_SECRET; RDV_PAYSIM_PUBLIC_URL sets
# the base of the hosted pages' URLs). State is in memory; log in target/paysim.log. Prints
# "PORT"; progress goes to stderr.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
pidfile=$root/target/paysim.pid
portfile=$root/target/paysim.port
# What the running simulator was started with (a digest, not the secrets themselves): another
# key or secret means another simulator.
conffile=$root/target/paysim.conf
log=$root/target/paysim.log
# Debian's interpreter (another python3 may come first in PATH).
py=/usr/bin/python3

api_key=${RDV_PAYSIM_API_KEY:-sk_test_rdv_local}
webhook_secret=${RDV_PAYSIM_WEBHOOK_SECRET:-whsec_rdv_local_simulator_secret}
public_url=${RDV_PAYSIM_PUBLIC_URL:-}
mkdir -p "$root/target"

answers() { "$py" -c "import socket,sys; socket.create_connection(('127.0.0.1', int(sys.argv[1])), 1).close()" "$1" 2>/dev/null; }
# The simulator's own health check, not merely something listening on the port.
healthy() {
  "$py" -c "
import sys, urllib.request
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
with opener.open('http://127.0.0.1:%d/health' % int(sys.argv[1]), timeout=1) as r:
    sys.exit(0 if r.status == 200 and r.read() == b'ok' else 1)
" "$1" 2>/dev/null
}
# The pid file's process, if it still is this simulator (not a pid reused since).
ours() { [ -f "$pidfile" ] && tr '\0' ' ' 2>/dev/null <"/proc/$(cat "$pidfile")/cmdline" | grep -q 'paysim\.py'; }
conf=$(printf '%s\n%s\n%s\n' "$api_key" "$webhook_secret" "$public_url" | sha256sum | cut -d' ' -f1)

if ours && [ -f "$portfile" ]; then
  if [ "$(cat "$conffile" 2>/dev/null)" = "$conf" ] && healthy "$(cat "$portfile")"; then
    cat "$portfile"
    exit 0
  fi
  # This checkout's simulator, but with other settings or not answering: replace it.
  echo "stopping the payment simulator (pid $(cat "$pidfile")) to start it anew" >&2
  kill "$(cat "$pidfile")" 2>/dev/null || true
  for _ in $(seq 1 30); do ours || break; sleep 0.1; done
  if ours; then kill -9 "$(cat "$pidfile")" 2>/dev/null || true; sleep 0.2; fi
fi

[ -f "$root/scripts/paysim.py" ] || { echo "scripts/paysim.py is missing" >&2; exit 1; }
[ -x "$py" ] || { echo "$py is missing (run scripts/deps.sh)" >&2; exit 1; }
port=${RDV_PAYSIM_PORT:-12111}
while answers "$port"; do port=$((port + 1)); done
echo "starting the payment simulator on 127.0.0.1:$port (log in $log)" >&2
args=(--host 127.0.0.1 --port "$port" --api-key "$api_key" --webhook-secret "$webhook_secret")
[ -n "$public_url" ] && args+=(--public-url "$public_url")
nohup "$py" "$root/scripts/paysim.py" "${args[@]}" >"$log" 2>&1 </dev/null &
echo $! >"$pidfile"
echo "$port" >"$portfile"
echo "$conf" >"$conffile"
for _ in $(seq 1 50); do
  healthy "$port" && { echo "$port"; exit 0; }
  kill -0 "$(cat "$pidfile")" 2>/dev/null || break
  sleep 0.1
done
echo "the payment simulator did not start; see $log" >&2
exit 1
