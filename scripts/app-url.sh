#!/usr/bin/env bash
# Prints the URL of the application role rdv_app for the owner URL given: same server and
# database, the role and password scripts/db.sh set up.
set -euo pipefail
url=$1
rest=${url#*://}
rest=${rest#*@}
echo "postgres://rdv_app:${RDV_APP_DB_PASSWORD:-rdv_app}@${rest}"
