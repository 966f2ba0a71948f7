package testnode

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
)

// basePackages are what a fresh cloud image of Debian 12 would have that
// minbase lacks: sshd, Python for Ansible, sudo, and systemd as init.
const basePackages = "openssh-server,python3,sudo,iproute2,ca-certificates,systemd-sysv,dbus,libpam-systemd"

// Base returns the directory of the shared Debian 12 tree, building it on
// first use (about 1.5 minutes). It is built in a temporary directory and
// renamed into place, so an interrupted build never leaves a half tree that
// later runs would trust.
func Base(ctx context.Context) (string, error) {
	if _, err := os.Stat(BaseDir); err == nil {
		return BaseDir, nil
	}
	if err := checkHost(); err != nil {
		return "", err
	}
	if err := os.MkdirAll(CacheDir, 0o755); err != nil {
		return "", err
	}
	unlock, err := lockFile(filepath.Join(CacheDir, ".base.lock"))
	if err != nil {
		return "", err
	}
	defer unlock()
	if _, err := os.Stat(BaseDir); err == nil { // another process built it meanwhile
		return BaseDir, nil
	}
	// Builds interrupted earlier may have left their trees (with /proc still mounted).
	stale, _ := filepath.Glob(filepath.Join(CacheDir, "base.tmp-*"))
	for _, dir := range stale {
		if err := removeTree(dir); err != nil {
			return "", err
		}
	}

	sources, err := HostAptSources()
	if err != nil {
		return "", err
	}
	mirror, err := DebianMirror(sources)
	if err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(CacheDir, "base.tmp-")
	if err != nil {
		return "", err
	}
	defer removeTree(tmp) // no-op once renamed

	cmd := exec.CommandContext(ctx, "debootstrap", "--variant=minbase", "--include="+basePackages, "bookworm", tmp, mirror)
	// On cancel stop dpkg and friends too, not just the debootstrap script.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("testnode: debootstrap: %w\n%s", err, tail(string(out), 2000))
	}
	if err := prepareBase(tmp, sources); err != nil {
		return "", err
	}
	if err := unmountAll(tmp); err != nil { // debootstrap normally unmounts; make sure
		return "", err
	}
	if err := os.Rename(tmp, BaseDir); err != nil {
		return "", err
	}
	return BaseDir, nil
}

// prepareBase turns the debootstrapped tree into something every node can
// share: no identity (machine-id, host keys, hostname), sshd enabled, the
// host's apt sources (each node gets its proxy address in personalize).
func prepareBase(root string, sources []AptSource) error {
	files := map[string]string{
		// Empty: systemd generates a fresh machine-id on each node's boot.
		"etc/machine-id":       "",
		"etc/hostname":         "localhost\n",
		"etc/apt/sources.list": sourcesList(sources),
		// The proxy keeps the packages on the host; nodes need no copy.
		"etc/apt/apt.conf.d/01pressluft-keep": "APT::Keep-Downloaded-Packages \"false\";\n",
		// Nodes are thrown away: skipping fsyncs makes package installs faster.
		"etc/dpkg/dpkg.cfg.d/01pressluft-unsafe-io": "force-unsafe-io\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(root, name), []byte(content), 0o644); err != nil {
			return fmt.Errorf("testnode: prepare base: %w", err)
		}
	}
	// dbus keeps its own copy of the machine-id; make it follow /etc.
	dbusID := filepath.Join(root, "var/lib/dbus/machine-id")
	_ = os.Remove(dbusID)
	if err := os.Symlink("/etc/machine-id", dbusID); err != nil {
		return fmt.Errorf("testnode: prepare base: %w", err)
	}
	keys, _ := filepath.Glob(filepath.Join(root, "etc/ssh/ssh_host_*"))
	for _, k := range keys {
		if err := os.Remove(k); err != nil {
			return err
		}
	}
	wants := filepath.Join(root, "etc/systemd/system/multi-user.target.wants")
	if err := os.MkdirAll(wants, 0o755); err != nil {
		return err
	}
	// What "systemctl enable ssh" does: start at boot, and the sshd alias.
	for _, link := range []string{filepath.Join(wants, "ssh.service"), filepath.Join(root, "etc/systemd/system/sshd.service")} {
		if _, err := os.Lstat(link); errors.Is(err, os.ErrNotExist) {
			if err := os.Symlink("/lib/systemd/system/ssh.service", link); err != nil {
				return err
			}
		}
	}
	debs, _ := filepath.Glob(filepath.Join(root, "var/cache/apt/archives/*.deb"))
	for _, d := range debs {
		_ = os.Remove(d)
	}
	return nil
}

// checkHost fails with an actionable message when the host cannot run nodes.
func checkHost() error {
	if os.Geteuid() != 0 {
		return errors.New("testnode: must run as root (network namespaces, mounts, systemd-nspawn)")
	}
	var missing []string
	for _, bin := range []string{"debootstrap", "systemd-nspawn", "ip", "nsenter", "ssh-keygen"} {
		if _, err := exec.LookPath(bin); err != nil {
			missing = append(missing, bin)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("testnode: missing %s on the host: run scripts/install-e2e-deps.sh", strings.Join(missing, ", "))
	}
	return nil
}

// lockFile takes an exclusive lock that other processes (a second test
// binary, the CLI) also honour; the returned func releases it.
func lockFile(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return func() { f.Close() }, nil
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}
