#!/usr/bin/env bash
# Installs, from Debian's packages, what building and running rdv needs and is missing:
# PostgreSQL (server and libpq), cmake, clang and libclang for building HiGHS, Chromium for
# the tests of the pages, Python with venv and curl for the API conformance run, and
# python3-aiosmtpd for the local SMTP server that keeps the mail the platform sends, and
# Kannel (bearerbox, smsbox and the fake SMSC of kannel-extras) for the SMS gateway.
set -euo pipefail

packages=(postgresql postgresql-client libpq-dev cmake clang libclang-dev pkg-config build-essential chromium curl python3 python3-venv python3-aiosmtpd kannel kannel-extras)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "missing Debian packages: ${missing[*]}" >&2
  echo "install them with: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "installing ${missing[*]} from Debian's packages..." >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
