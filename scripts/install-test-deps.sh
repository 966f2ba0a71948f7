#!/bin/sh
# Installs what the unit-level tests need on the machine that runs them:
# PHP's CLI with the extensions the node helper uses (its tests run it as a
# process), and ansible-core to render the environment templates.
# Safe to run repeatedly: apt-get skips what is already installed.
set -eu

if [ "$(id -u)" -ne 0 ]; then
	echo "install-test-deps.sh: must run as root" >&2
	exit 1
fi

packages="php8.2-cli php8.2-mysql php8.2-xml php8.2-mbstring ansible-core"

missing=""
for p in $packages; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done

if [ -z "$missing" ]; then
	echo "test dependencies already installed"
	exit 0
fi

export DEBIAN_FRONTEND=noninteractive
# Another apt run may hold the lock (CI images, parallel setup): wait for it.
apt-get -o DPkg::Lock::Timeout=600 update -qq
# shellcheck disable=SC2086 # word splitting of the package list is intended
apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends $missing
