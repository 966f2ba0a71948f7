package testnode

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// Command prepares args to run inside the node, in all of its namespaces,
// with a clean root environment — like a command from a root shell on the
// server. It does not need SSH, so it works while the suite has sshd stopped.
func (n *Node) Command(ctx context.Context, args ...string) (*exec.Cmd, error) {
	if !n.Running() {
		return nil, fmt.Errorf("testnode: node %s is not running", n.Name)
	}
	leader, err := leaderPID(n.PID)
	if err != nil {
		return nil, err
	}
	full := append([]string{"-t", strconv.Itoa(leader), "-a", "--",
		"/usr/bin/env", "-i", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"HOME=/root", "LANG=C.UTF-8", "TERM=dumb",
	}, args...)
	return exec.CommandContext(ctx, "nsenter", full...), nil
}

// Exec runs args inside the node and returns stdout and stderr together.
func (n *Node) Exec(ctx context.Context, args ...string) (string, error) {
	cmd, err := n.Command(ctx, args...)
	if err != nil {
		return "", err
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("testnode: %s: %s: %w: %s", n.Name, strings.Join(args, " "), err, strings.TrimSpace(tail(string(out), 2000)))
	}
	return string(out), nil
}

// AuthorizeKey lets pubkey log in as root. It writes through the node's
// root on the host, so it works before boot and while the node runs.
func AuthorizeKey(n *Node, pubkey string) error { return AuthorizeKeyFor(n, "root", pubkey) }

// AuthorizeKeyFor adds pubkey to user's authorized_keys (once).
func AuthorizeKeyFor(n *Node, user, pubkey string) error {
	pubkey = strings.TrimSpace(pubkey)
	if !strings.HasPrefix(pubkey, "ssh-") && !strings.HasPrefix(pubkey, "ecdsa-") {
		return fmt.Errorf("testnode: not an OpenSSH public key: %.30q", pubkey)
	}
	uid, gid, home, err := lookupUser(n.Root, user)
	if err != nil {
		return err
	}
	dir := filepath.Join(n.Root, home, ".ssh")
	file := filepath.Join(dir, "authorized_keys")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	existing, _ := os.ReadFile(file)
	if strings.Contains(string(existing), pubkey) {
		return nil
	}
	f, err := os.OpenFile(file, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(pubkey + "\n"); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	// sshd's StrictModes rejects keys the user does not own.
	for _, p := range []string{dir, file} {
		if err := os.Chown(p, uid, gid); err != nil {
			return err
		}
	}
	return nil
}

// lookupUser reads the node's /etc/passwd (not the host's).
func lookupUser(root, user string) (uid, gid int, home string, err error) {
	f, err := os.Open(filepath.Join(root, "etc/passwd"))
	if err != nil {
		return 0, 0, "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		p := strings.Split(sc.Text(), ":")
		if len(p) < 7 || p[0] != user {
			continue
		}
		uid, _ = strconv.Atoi(p[2])
		gid, _ = strconv.Atoi(p[3])
		return uid, gid, p[5], nil
	}
	return 0, 0, "", fmt.Errorf("testnode: no user %s on node", user)
}

// addDeployUser creates "deploy" with passwordless sudo, before boot, by
// running useradd in a chroot of the node's root.
func addDeployUser(ctx context.Context, n *Node) error {
	if _, _, _, err := lookupUser(n.Root, "deploy"); err == nil {
		return nil
	}
	if _, err := run(ctx, "chroot", n.Root, "useradd", "--create-home", "--shell", "/bin/bash", "--groups", "sudo", "deploy"); err != nil {
		return err
	}
	sudoers := filepath.Join(n.Root, "etc/sudoers.d/deploy")
	return os.WriteFile(sudoers, []byte("deploy ALL=(ALL) NOPASSWD:ALL\n"), 0o440)
}
