#!/bin/sh
# make demo / make demo-down: the local sandbox (see cmd/pressluft-demo).
# This script installs the packages and builds the binaries, then hands over
# to pressluft-demo with the start time, so the total it prints covers all.
set -eu
cd "$(dirname "$0")/.."
started=$(date +%s%N)
cmd=${1:-up}
shift || true

say() { # stage message
	awk -v s="$started" -v n="$(date +%s%N)" -v st="$1" -v m="$2" \
		'BEGIN { printf "[%6.1fs] %-14s %s\n", (n - s) / 1e9, st, m }'
}

if [ "$(id -u)" -ne 0 ]; then
	echo "make $( [ "$cmd" = down ] && echo demo-down || echo demo ): run as root (the sandbox boots a container with its own network namespace and edits /etc/hosts)" >&2
	exit 1
fi

if [ "$cmd" = up ]; then
	say packages "Ansible, SSH client, debootstrap, systemd-nspawn (installed only if missing)"
	scripts/install-deps.sh
	scripts/install-e2e-deps.sh
	# The node agents (agent/dist) are built first by `make demo`; the control plane embeds them.
	say build "bin/pressluft, bin/pressluft-testnode, bin/pressluft-demo"
	go build -ldflags "-X github.com/pressluft/pressluft.Version=${VERSION:-dev}" -o bin/pressluft ./cmd/pressluft
	go build -o bin/pressluft-testnode ./cmd/pressluft-testnode
fi
go build -o bin/pressluft-demo ./cmd/pressluft-demo
exec bin/pressluft-demo "$cmd" --started-at "$started" "$@"
