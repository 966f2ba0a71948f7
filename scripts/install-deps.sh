#!/bin/sh
# What the control plane needs to run: Ansible to provision nodes and an SSH
# client for it. Go comes with the machine.
exec "$(dirname "$0")/apt-install.sh" ansible-core openssh-client python3
