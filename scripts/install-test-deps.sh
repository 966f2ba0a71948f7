#!/bin/sh
# What the unit-level tests need: PHP's CLI with the extensions the node
# helper uses (its tests run it as a process), ansible-core to check the
# playbooks and run the provisioning-stamp tests, and Chromium for the
# dashboard's browser tests (driven by playwright-core from web/).
exec "$(dirname "$0")/apt-install.sh" php8.2-cli php8.2-mysql php8.2-xml php8.2-mbstring ansible-core chromium
