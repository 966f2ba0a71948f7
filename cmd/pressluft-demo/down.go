package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/pressluft/pressluft/e2e/testnode"
)

// down removes everything up added to this machine and says what it removed.
func (s *sandbox) down(ctx context.Context) error {
	lk, err := acquireLock(lockPath, s.dataDir)
	if err != nil {
		return err
	}
	if err := s.loadState(); err != nil {
		return err
	}
	if stopped, err := s.stopControlPlane(); err != nil {
		return err
	} else if stopped {
		s.say("control plane", "stopped pid %d", s.state.PID)
	}

	if n, err := testnode.Load(nodeName); err == nil || leftovers() != "" {
		ip := "no address"
		if n != nil {
			ip = n.IP
		}
		if err := testnode.Down(ctx, nodeName); err != nil {
			return err
		}
		s.say("node", "removed %s (%s): container stopped, overlay unmounted, network namespace, veth pair, cgroups and apt proxy removed", nodeName, ip)
	}
	if left := leftovers(); left != "" {
		return fmt.Errorf("still on this machine after removing %s: %s", nodeName, left)
	}

	removed, err := setHosts(hostsFile, nil)
	if err != nil {
		return err
	}
	if removed > 0 {
		s.say("host names", "removed %d entr%s from %s", removed, map[bool]string{true: "y", false: "ies"}[removed == 1], hostsFile)
	}
	if _, err := os.Stat(s.dataDir); err == nil {
		if err := os.RemoveAll(s.dataDir); err != nil {
			return err
		}
		s.say("data", "removed %s", s.dataDir)
	}
	if err := lk.remove(); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	s.say("done", "nothing of the sandbox is left: no node, namespace, mount, host entry or process (it adds no firewall tables)")
	return nil
}

// leftovers lists what of the sandbox's node the kernel or disk still holds.
func leftovers() string {
	var left []string
	if _, err := os.Stat(filepath.Join(testnode.StateDir, nodeName)); err == nil {
		left = append(left, "state directory "+filepath.Join(testnode.StateDir, nodeName))
	}
	// The harness names a node's network namespace "pl-<node>".
	if _, err := os.Stat("/run/netns/pl-" + nodeName); err == nil {
		left = append(left, "network namespace pl-"+nodeName)
	}
	if mounts, err := os.ReadFile("/proc/mounts"); err == nil && strings.Contains(string(mounts), filepath.Join(testnode.StateDir, nodeName)+"/") {
		left = append(left, "overlay mount")
	}
	return strings.Join(left, ", ")
}
