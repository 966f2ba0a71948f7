// Package testnode gives the end-to-end suite real Debian 12 servers on the
// machine that runs it: each node is a systemd-nspawn container booting
// systemd as its PID 1, on an overlay of one cached debootstrapped tree, in
// its own network namespace with its own IP and SSH host keys.
//
// Nodes reach Debian's mirror only through an allowlisting HTTP proxy that
// runs on the host (see Proxy), so the host needs neither IP forwarding nor
// NAT rules. Everything a node leaves behind lives under StateDir/<name>, so a
// node from a crashed run can always be torn down by name.
//
// All of it needs root, debootstrap and systemd-nspawn; see
// scripts/install-e2e-deps.sh and docs/testing.md.
package testnode
