#!/bin/sh
# Installs Pressluft as a system service on Debian 12 or Ubuntu 24.04, as root:
# the binary, its runtime packages, a "pressluft" system user, its data
# directory and a hardened systemd unit; creates the first administrator.
# Run it again to upgrade: the binary is replaced, the service restarted
# (running jobs are handed back to the queue, migrations run at start) and
# the data kept.
#
#   scripts/install.sh [--binary PATH] [--listen ADDR] [--admin-email EMAIL]
#
# --binary       the pressluft binary to install (default: bin/pressluft of
#                this checkout, built with Go if missing)
# --listen       the address the service listens on (default 127.0.0.1:8080,
#                or what the last run set); put a TLS proxy in front of it
# --admin-email  the first administrator (asked for when on a terminal)
# The administrator's password is asked for on a terminal (empty: generated);
# otherwise it is generated. Either way it is printed once.
set -eu
started=$(date +%s)
here=$(cd "$(dirname "$0")/.." && pwd)
binary=""
listen=""
admin_email=""
while [ $# -gt 0 ]; do
	case "$1" in
	--binary) binary=$2; shift 2 ;;
	--listen) listen=$2; shift 2 ;;
	--admin-email) admin_email=$2; shift 2 ;;
	-h | --help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "install.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
	esac
done

BIN=/usr/local/bin/pressluft
DATA=/var/lib/pressluft
UNIT=/etc/systemd/system/pressluft.service
ENVFILE=/etc/default/pressluft

step() { printf '[%3ss] %s\n' "$(($(date +%s) - started))" "$*"; }
die() { echo "install.sh: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "run as root"
[ -d /run/systemd/system ] || die "systemd is not running here; the service needs it"
. /etc/os-release
case "$ID:$VERSION_ID" in
debian:12 | ubuntu:24.04) ;;
*) echo "install.sh: $PRETTY_NAME is not tested; continuing" >&2 ;;
esac

if [ -z "$binary" ]; then
	binary=$here/bin/pressluft
	if [ ! -x "$binary" ]; then
		command -v go >/dev/null || die "no binary at $binary and no Go to build one; pass --binary"
		step "building $binary"
		(cd "$here" && make build)
	fi
fi
[ -x "$binary" ] || die "$binary is not an executable"
new_version=$("$binary" version) || die "$binary does not run here"
new_version=${new_version#pressluft }

# Questions first, before the long steps.
first_install=""
if [ ! -f "$DATA/pressluft.db" ]; then
	first_install=1
	if [ -z "$admin_email" ] && [ -t 0 ]; then
		printf 'First administrator e-mail: '
		read -r admin_email
	fi
	[ -n "$admin_email" ] || die "the first install needs --admin-email"
	password=""
	if [ -t 0 ]; then
		printf 'Password (empty: generate one): '
		stty -echo
		read -r password || true
		stty echo
		echo
	fi
	if [ -z "$password" ]; then
		password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
		shown="$password
             (shown this once; 'pressluft admin reset-password' sets a new one)"
	else
		shown="the one you entered"
	fi
fi

step "runtime packages: ansible-core, openssh-client, python3"
export DEBIAN_FRONTEND=noninteractive
missing=""
for p in ansible-core openssh-client python3; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
	apt-get -o DPkg::Lock::Timeout=600 update -qq
	# shellcheck disable=SC2086 # word splitting of the package list is intended
	apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends $missing >/dev/null
fi

step "system user pressluft and $DATA (0700)"
if ! id pressluft >/dev/null 2>&1; then
	useradd --system --home-dir "$DATA" --no-create-home --shell /usr/sbin/nologin pressluft
fi
install -d -m 0700 -o pressluft -g pressluft "$DATA"

old_version=""
[ -x "$BIN" ] && old_version=$("$BIN" version 2>/dev/null || true)
old_version=${old_version#pressluft }
step "binary $BIN (${old_version:-none} -> $new_version)"
# A rename, so the running service keeps its old file until it restarts.
install -m 0755 "$binary" "$BIN.new"
mv -f "$BIN.new" "$BIN"

if [ -n "$listen" ] || [ ! -f "$ENVFILE" ]; then
	step "settings in $ENVFILE"
	cat >"$ENVFILE" <<ENV
# Read by pressluft.service; restart it after a change.
PRESSLUFT_DATA_DIR=$DATA
PRESSLUFT_LISTEN_ADDR=${listen:-127.0.0.1:8080}
ENV
fi
listen=$(sed -n 's/^PRESSLUFT_LISTEN_ADDR=//p' "$ENVFILE")

if [ -n "$first_install" ]; then
	step "first administrator $admin_email"
	printf '%s\n' "$password" | runuser -u pressluft -- "$BIN" admin create --data-dir "$DATA" --email "$admin_email" --password-stdin >/dev/null
fi

step "systemd unit $UNIT"
cat >"$UNIT.new" <<'UNIT'
[Unit]
Description=Pressluft control plane
Documentation=https://github.com/pressluft/pressluft
Wants=network-online.target
After=network-online.target

[Service]
Type=exec
User=pressluft
Group=pressluft
EnvironmentFile=/etc/default/pressluft
Environment=HOME=/var/lib/pressluft
ExecStart=/usr/local/bin/pressluft serve
Restart=on-failure
RestartSec=2s
# SIGTERM to the main process only: it stops taking requests, lets running
# jobs finish for 20 s and hands the rest back; then the rest of the group
# (ansible-playbook, ssh) is stopped.
KillMode=mixed
TimeoutStopSec=60s
UMask=0077

# Hardening. ansible-playbook and ssh run as children: they need to exec,
# to reach nodes over IPv4/IPv6 and their control sockets (AF_UNIX) in the
# data directory, and nothing else.
NoNewPrivileges=yes
ProtectSystem=strict
ReadWritePaths=/var/lib/pressluft
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
ProtectProc=invisible
ProcSubset=pid
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
RemoveIPC=yes
CapabilityBoundingSet=
AmbientCapabilities=
SystemCallArchitectures=native
SystemCallFilter=@system-service
SystemCallFilter=~@privileged
SystemCallErrorNumber=EPERM

[Install]
WantedBy=multi-user.target
UNIT
mv -f "$UNIT.new" "$UNIT"
systemctl daemon-reload
systemctl enable --quiet pressluft.service
if systemctl is-active --quiet pressluft.service; then
	step "restarting pressluft (running jobs are handed back to the queue)"
	systemctl restart pressluft.service
else
	step "starting pressluft"
	systemctl start pressluft.service
fi

url="http://$listen"
case "$listen" in 0.0.0.0:* | :*) url="http://127.0.0.1:${listen##*:}" ;; esac
i=0
# python3 is there already (Ansible needs it); curl may not be.
health() { python3 -c 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=2).read().decode())' "$url/api/health" 2>/dev/null; }
until out=$(health); do
	i=$((i + 1))
	if [ "$i" -ge 60 ]; then
		systemctl --no-pager status pressluft.service >&2 || true
		die "the service did not answer on $url within 30 s (journalctl -u pressluft)"
	fi
	sleep 0.5
done
step "dashboard answering on $url: $out"

echo
if [ -n "$first_install" ]; then
	cat <<MSG
Pressluft $new_version is installed and running (systemctl status pressluft).

  Dashboard  $url (listening on $listen)
  Log in as  $admin_email
  Password   $shown

Next: put a TLS proxy in front of the dashboard, then add your first node
under Nodes. Back up $DATA: its secret.key decrypts every stored secret.
MSG
else
	echo "Pressluft upgraded from ${old_version:-unknown} to $new_version; data kept in $DATA."
fi
echo "Installed in $(($(date +%s) - started)) s."
