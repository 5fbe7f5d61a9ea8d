#!/usr/bin/env bash
# Starts, unless this checkout's is already running, the local SMS gateway of `make run` and
# `make test`: a real Kannel from Debian's packages (bearerbox and smsbox) whose one SMSC is
# Kannel's fake SMSC, with the fakesmsc client of kannel-extras standing for the network: every
# message the gateway delivers is written to target/kannel/delivered.log as a line
# "Got message N: <from to type text>". The platform sends through smsbox's HTTP sendsms
# interface; Kannel calls the platform back on each message's delivery-report URL.
#
# Ports: sendsms on RDV_SMS_PORT (default 13013) and the three next ones for bearerbox's admin,
# smsbox and fake-SMSC connections, moved by ten until all four are free. Prints
# "SENDSMS_PORT DELIVERED_LOG"; progress goes to stderr.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
dir=$root/target/kannel
portfile=$dir/sendsms.port
log=$dir/delivered.log
mkdir -p "$dir"

answers() { /usr/bin/python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', int(sys.argv[1])), 1).close()" "$1" 2>/dev/null; }
alive() { [ -f "$dir/$1.pid" ] && kill -0 "$(cat "$dir/$1.pid")" 2>/dev/null; }

if [ -f "$portfile" ] && alive bearerbox && alive smsbox && alive fakesmsc \
  && answers "$(cat "$portfile")"; then
  echo "$(cat "$portfile") $log"
  exit 0
fi
for p in bearerbox smsbox fakesmsc; do
  if alive "$p"; then kill "$(cat "$dir/$p.pid")" 2>/dev/null || true; fi
done

for bin in /usr/sbin/bearerbox /usr/sbin/smsbox /usr/lib/kannel/test/fakesmsc; do
  [ -x "$bin" ] || { echo "$bin is missing (run scripts/deps.sh)" >&2; exit 1; }
done

port=${RDV_SMS_PORT:-13013}
while answers "$port" || answers $((port + 1)) || answers $((port + 2)) || answers $((port + 3)); do
  port=$((port + 10))
done
sendsms=$port admin=$((port + 1)) boxes=$((port + 2)) smsc=$((port + 3))

cat >"$dir/kannel.conf" <<EOF
# Written by scripts/sms.sh: the local gateway of make run and make test.
group = core
admin-port = $admin
admin-interface = 127.0.0.1
admin-password = rdv-local
smsbox-port = $boxes
box-allow-ip = 127.0.0.1
log-file = "$dir/bearerbox.log"
log-level = 1
access-log = "$dir/access.log"
dlr-storage = internal

group = smsc
smsc = fake
smsc-id = fake
port = $smsc
connect-allow-ip = 127.0.0.1

group = smsbox
bearerbox-host = 127.0.0.1
sendsms-port = $sendsms
sendsms-interface = 127.0.0.1
log-file = "$dir/smsbox.log"
log-level = 1

group = sendsms-user
username = rdv
password = rdv-local
concatenation = true
max-messages = 10
EOF

echo "starting the local SMS gateway (Kannel) on 127.0.0.1:$sendsms (delivered messages in $log)" >&2
start() {
  local name=$1
  shift
  nohup "$@" >>"$dir/$name.out" 2>&1 </dev/null &
  echo $! >"$dir/$name.pid"
}
start bearerbox /usr/sbin/bearerbox -v 1 "$dir/kannel.conf"
for _ in $(seq 1 50); do answers "$smsc" && break; sleep 0.1; done
# -m 0: the fake network sends nothing of its own and writes down what it receives.
start fakesmsc /usr/lib/kannel/test/fakesmsc -H 127.0.0.1 -r "$smsc" -i 1 -m 0 "0 0 text nop"
ln -sf "$dir/fakesmsc.out" "$log"
start smsbox /usr/sbin/smsbox -v 1 "$dir/kannel.conf"
echo "$sendsms" >"$portfile"
for _ in $(seq 1 100); do
  if answers "$sendsms" && grep -q 'Fakesmsc client connected' "$dir/bearerbox.log" 2>/dev/null; then
    echo "$sendsms $log"
    exit 0
  fi
  alive bearerbox && alive smsbox && alive fakesmsc || break
  sleep 0.1
done
echo "the local SMS gateway did not start; see $dir/*.log and $dir/*.out" >&2
exit 1
