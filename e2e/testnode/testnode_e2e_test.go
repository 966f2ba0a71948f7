//go:build e2e

package testnode

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// requireHost fails (never skips) when the machine cannot run nodes: the e2e
// suite must not pass by testing nothing.
func requireHost(t *testing.T) {
	t.Helper()
	if err := checkHost(); err != nil {
		t.Fatalf("%v\nthe e2e suite needs root and scripts/install-e2e-deps.sh", err)
	}
}

func sshKey(t *testing.T) (priv, pub string) {
	t.Helper()
	priv = filepath.Join(t.TempDir(), "id_ed25519")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", priv).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v: %s", err, out)
	}
	b, err := os.ReadFile(priv + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	return priv, string(b)
}

func sshRun(t *testing.T, key, user, ip, command string) string {
	t.Helper()
	out, err := exec.Command("ssh", "-i", key, "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
		"-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=10",
		user+"@"+ip, command).CombinedOutput()
	if err != nil {
		t.Fatalf("ssh %s@%s %q: %v: %s", user, ip, command, err, out)
	}
	return string(out)
}

func TestTwoNodes(t *testing.T) {
	requireHost(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	lab, err := NewLab(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := lab.Close(); err != nil {
			t.Errorf("lab close: %v", err)
		}
	})
	key, pub := sshKey(t)

	names := []string{"e2e-a", "e2e-b"}
	nodes := make([]*Node, len(names))
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			nodes[i], errs[i] = lab.Up(ctx, name, WithAuthorizedKey(pub), WithDeployUser())
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("up %s: %v", names[i], err)
		}
	}
	if nodes[0].IP == nodes[1].IP {
		t.Fatalf("both nodes got %s", nodes[0].IP)
	}

	for _, n := range nodes {
		if got := strings.TrimSpace(sshRun(t, key, "root", n.IP, "hostname")); got != n.Name {
			t.Errorf("hostname on %s = %q", n.Name, got)
		}
		if got := strings.TrimSpace(sshRun(t, key, "deploy", n.IP, "sudo -n id -u")); got != "0" {
			t.Errorf("deploy sudo on %s = %q", n.Name, got)
		}
		if out, err := n.Exec(ctx, "cat", "/proc/1/comm"); err != nil || strings.TrimSpace(out) != "systemd" {
			t.Errorf("PID 1 on %s = %q, %v", n.Name, out, err)
		}
	}

	// apt works through the host's proxy, although the host forwards nothing.
	out := sshRun(t, key, "root", nodes[0].IP, "apt-get update -q 2>&1 && apt-get install -y -q --no-install-recommends zstd 2>&1 && zstd --version")
	if !strings.Contains(out, "Zstandard CLI") {
		t.Errorf("apt inside node: %s", out)
	}

	// The suite stops sshd to test unreachable nodes; Exec still gets in.
	n := nodes[1]
	if _, err := n.Exec(ctx, "systemctl", "stop", "ssh"); err != nil {
		t.Fatal(err)
	}
	if c, err := net.DialTimeout("tcp", n.IP+":22", 2*time.Second); err == nil {
		c.Close()
		t.Fatalf("sshd on %s still answers after systemctl stop ssh", n.Name)
	}
	if _, err := n.Exec(ctx, "systemctl", "start", "ssh"); err != nil {
		t.Fatal(err)
	}
	sshRun(t, key, "root", n.IP, "true")

	// Down leaves nothing behind.
	if err := lab.Down(ctx, n.Name); err != nil {
		t.Fatal(err)
	}
	if err := Down(ctx, n.Name); err != nil {
		t.Fatalf("second down: %v", err)
	}
	assertGone(t, n)
}

func assertGone(t *testing.T, n *Node) {
	t.Helper()
	l := layout{n.Name}
	if sameProcess(n.PID, n.PIDStart) {
		t.Errorf("nspawn %d still running", n.PID)
	}
	if ProxyRunning(n.ProxyAddr()) {
		t.Errorf("apt proxy still answers on %s", n.ProxyAddr())
	}
	if mps, _ := mountsUnder(l.dir()); len(mps) > 0 {
		t.Errorf("still mounted: %v", mps)
	}
	for _, p := range append([]string{l.dir(), filepath.Join("/run/netns", l.netns()), l.propagate(),
		filepath.Join("/sys/class/net", hostVeth(n.Index))}, cgroupDirs(l)...) {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("left behind: %s", p)
		}
	}
}

// A node whose nspawn was killed hard (a crashed run) is cleaned up by Down.
func TestDownAfterCrash(t *testing.T) {
	requireHost(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	n, err := Up(ctx, "e2e-crash")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = Down(context.Background(), n.Name) })
	if err := syscall.Kill(n.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := Down(ctx, n.Name); err != nil {
		t.Fatal(err)
	}
	assertGone(t, n)
}

// A node without systemd still answers SSH and Exec.
func TestWithoutSystemd(t *testing.T) {
	requireHost(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	key, pub := sshKey(t)
	n, err := Up(ctx, "e2e-nosd", WithoutSystemd(), WithAuthorizedKey(pub))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := Down(context.Background(), n.Name); err != nil {
			t.Error(err)
		}
	})
	if got := strings.TrimSpace(sshRun(t, key, "root", n.IP, "hostname")); got != n.Name {
		t.Errorf("hostname = %q", got)
	}
	if out, err := n.Exec(ctx, "test", "-d", "/run/systemd/system"); err == nil {
		t.Errorf("systemd seems to run: %s", out)
	}
}
