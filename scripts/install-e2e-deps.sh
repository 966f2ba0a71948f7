#!/bin/sh
# Installs what the end-to-end suite needs on the machine that runs it:
# debootstrap + systemd-nspawn for disposable nodes, iproute2 for their
# network namespaces, an SSH client, and ansible-core to provision them.
# Safe to run repeatedly: apt-get skips what is already installed.
set -eu

if [ "$(id -u)" -ne 0 ]; then
	echo "install-e2e-deps.sh: must run as root" >&2
	exit 1
fi

packages="debootstrap systemd-container iproute2 nftables openssh-client ansible-core"

missing=""
for p in $packages; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done

if [ -z "$missing" ]; then
	echo "e2e dependencies already installed"
	exit 0
fi

export DEBIAN_FRONTEND=noninteractive
# Another apt run may hold the lock (CI images, parallel setup): wait for it.
apt-get -o DPkg::Lock::Timeout=600 update -qq
# shellcheck disable=SC2086 # word splitting of the package list is intended
apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends $missing
