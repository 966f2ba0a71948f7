#!/bin/sh
# What the end-to-end suite needs: debootstrap and systemd-nspawn for the
# disposable nodes, iproute2 for their network namespaces, an SSH client,
# ansible-core to provision them, and git to serve the repository a deploy
# is made from.
exec "$(dirname "$0")/apt-install.sh" debootstrap systemd-container iproute2 nftables openssh-client ansible-core git
