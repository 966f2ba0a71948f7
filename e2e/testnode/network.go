package testnode

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// setupNetwork gives the node its own network namespace and a veth pair to
// the host. The node reaches the host side (and the apt proxy there)
// directly; nothing is forwarded.
func setupNetwork(ctx context.Context, l layout, index int) error {
	ns, veth := l.netns(), hostVeth(index)
	steps := [][]string{
		{"netns", "add", ns},
		{"link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns},
		{"addr", "add", hostIP(index) + "/24", "dev", veth},
		{"link", "set", veth, "up"},
		{"-n", ns, "link", "set", "lo", "up"},
		{"-n", ns, "addr", "add", nodeIP(index) + "/24", "dev", "eth0"},
		{"-n", ns, "link", "set", "eth0", "up"},
		{"-n", ns, "route", "add", "default", "via", hostIP(index)},
	}
	for _, args := range steps {
		if _, err := run(ctx, "ip", args...); err != nil {
			return fmt.Errorf("testnode: network for %s: %w", l.name, err)
		}
	}
	return nil
}

// teardownNetwork removes the namespace (which takes the veth pair with it)
// and, should the pair have survived, the host end. Missing pieces are fine.
func teardownNetwork(ctx context.Context, l layout, index int) error {
	if _, err := os.Stat(filepath.Join("/run/netns", l.netns())); err == nil {
		if _, err := run(ctx, "ip", "netns", "del", l.netns()); err != nil {
			return err
		}
	}
	if index > 0 {
		return deleteLink(ctx, hostVeth(index))
	}
	return nil
}

// deleteLink removes a host interface; one that is gone (or vanishing, as a
// veth does shortly after its peer's namespace is deleted) is fine.
func deleteLink(ctx context.Context, name string) error {
	if _, err := os.Stat(filepath.Join("/sys/class/net", name)); err != nil {
		return nil
	}
	_, err := run(ctx, "ip", "link", "del", name)
	if err != nil && strings.Contains(err.Error(), "Cannot find device") {
		return nil
	}
	return err
}

// allocateIndex picks the lowest N not used by a node's state or an
// existing host interface. The caller holds the state lock.
func allocateIndex() (int, error) {
	used := map[int]bool{}
	nodes, err := List()
	if err != nil {
		return 0, err
	}
	for _, n := range nodes {
		used[n.Index] = true
	}
	for i := 1; i <= maxNodes; i++ {
		if used[i] {
			continue
		}
		if _, err := os.Stat(filepath.Join("/sys/class/net", hostVeth(i))); err == nil {
			continue
		}
		return i, nil
	}
	return 0, errors.New("testnode: no free node address left")
}
