#!/usr/bin/env bash
# Starts, unless this checkout's is already running, the local SMTP server of `make run` and
# `make test`: Debian's python3-aiosmtpd, keeping every message it receives in the Maildir
# target/mail (one file per message under target/mail/new). Listens on 127.0.0.1, on
# RDV_SMTP_PORT (default 2525) or the next free port. Prints "PORT MAILDIR"; progress goes to
# stderr.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
dir=$root/target/mail
pidfile=$root/target/mail.pid
portfile=$root/target/mail.port
# Debian's interpreter, where python3-aiosmtpd lives (another python3 may come first in PATH).
py=/usr/bin/python3

# The Maildir's three folders: the server only makes them when the folder itself is new.
mkdir -p "$dir/tmp" "$dir/new" "$dir/cur"

answers() { "$py" -c "import socket,sys; socket.create_connection(('127.0.0.1', int(sys.argv[1])), 1).close()" "$1" 2>/dev/null; }

if [ -f "$pidfile" ] && [ -f "$portfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null \
  && answers "$(cat "$portfile")"; then
  echo "$(cat "$portfile") $dir"
  exit 0
fi

"$py" -c 'import aiosmtpd' 2>/dev/null || {
  echo "python3-aiosmtpd is missing (run scripts/deps.sh)" >&2
  exit 1
}
port=${RDV_SMTP_PORT:-2525}
while answers "$port"; do port=$((port + 1)); done
echo "starting the local SMTP server on 127.0.0.1:$port (mail kept in $dir)" >&2
nohup "$py" -m aiosmtpd -n -l "127.0.0.1:$port" -c aiosmtpd.handlers.Mailbox "$dir" \
  >"$root/target/mail.log" 2>&1 </dev/null &
echo $! >"$pidfile"
echo "$port" >"$portfile"
for _ in $(seq 1 50); do
  answers "$port" && { echo "$port $dir"; exit 0; }
  kill -0 "$(cat "$pidfile")" 2>/dev/null || break
  sleep 0.1
done
echo "the local SMTP server did not start; see $root/target/mail.log" >&2
exit 1
