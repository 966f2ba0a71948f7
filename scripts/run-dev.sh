#!/bin/sh
# Serves the control plane from a local data directory with a development
# administrator, created once; its password is kept in the data directory
# (0600) and printed at every start.
set -eu
DATA_DIR=${DATA_DIR:-$(pwd)/.data}
LISTEN=${LISTEN:-127.0.0.1:8080}
BIN=${BIN:-bin/pressluft}
EMAIL=admin@pressluft.localhost

mkdir -p "$DATA_DIR"
chmod 700 "$DATA_DIR"
creds="$DATA_DIR/dev-admin-password"
if [ ! -s "$creds" ]; then
	umask 077
	head -c 18 /dev/urandom | base64 | tr -d '/+=' >"$creds"
	"$BIN" admin create --data-dir "$DATA_DIR" --email "$EMAIL" --password "$(cat "$creds")"
fi

cat <<MSG

  Pressluft is starting on http://$LISTEN
  Log in as $EMAIL with password $(cat "$creds")
  Data directory: $DATA_DIR (Ctrl-C stops the server)

MSG
exec "$BIN" serve --data-dir "$DATA_DIR" --listen "$LISTEN"
