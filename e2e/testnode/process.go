package testnode

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// launch boots the node: systemd-nspawn with systemd as the node's PID 1, in
// the node's network namespace. The launcher first moves itself into the
// node's own cgroups so that several booted nodes do not share one group.
// It runs in its own session so it outlives the process that started it
// (the CLI); Down stops it by PID.
func launch(l layout, systemd bool) (*exec.Cmd, error) {
	groups, err := makeCgroups(l)
	if err != nil {
		return nil, err
	}
	console, err := os.OpenFile(l.console(), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, err
	}
	defer console.Close()

	script := `for g in $GROUPS_TO_JOIN; do echo $$ > "$g/cgroup.procs" || exit 1; done; exec "$@"`
	args := []string{"-c", script, "sh",
		"systemd-nspawn",
		"--directory=" + l.root(),
		"--machine=" + l.name,
		"--network-namespace-path=" + filepath.Join("/run/netns", l.netns()),
		"--register=no", // no machined on the host
		"--keep-unit",   // without it nspawn wants the host's system bus
		"--link-journal=no",
		// The node has its own network namespace, so packet filtering inside
		// it (the firewall and fail2ban roles) cannot touch the host's.
		"--capability=CAP_NET_ADMIN",
		"--console=read-only", // boot messages land in console.log
		// The node's resolv.conf (from personalize) stays: the host's
		// resolver is not reachable from the node's network.
		"--resolv-conf=off",
	}
	if systemd {
		args = append(args, "--boot")
	} else {
		// Like a container without an init system: a stub PID 1 and just sshd.
		args = append(args, "--as-pid2", "/bin/sh", "-c", "mkdir -p /run/sshd && exec /usr/sbin/sshd -D -e")
	}
	cmd := exec.Command("/bin/sh", args...)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "GROUPS_TO_JOIN=" + strings.Join(groups, " ")}
	cmd.Stdout = console
	cmd.Stderr = console
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("testnode: start systemd-nspawn: %w", err)
	}
	// Reap it when it exits, so a stopped node does not linger as a zombie
	// in a long-running test process.
	go func() { _ = cmd.Wait() }()
	return cmd, nil
}

// cgroupRoots are the hierarchies nspawn and the node's systemd use: the
// named systemd v1 hierarchy plus the unified one on a hybrid host, or just
// the root on a cgroup2-only host.
func cgroupRoots() []string {
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		return []string{"/sys/fs/cgroup"}
	}
	var roots []string
	for _, r := range []string{"/sys/fs/cgroup/systemd", "/sys/fs/cgroup/unified"} {
		if _, err := os.Stat(filepath.Join(r, "cgroup.procs")); err == nil {
			roots = append(roots, r)
		}
	}
	return roots
}

func cgroupDirs(l layout) []string {
	var dirs []string
	for _, r := range cgroupRoots() {
		dirs = append(dirs, filepath.Join(r, cgroupName, l.name))
	}
	return dirs
}

func makeCgroups(l layout) ([]string, error) {
	dirs := cgroupDirs(l)
	if len(dirs) == 0 {
		return nil, errors.New("testnode: no cgroup hierarchy found under /sys/fs/cgroup")
	}
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("testnode: cgroup: %w", err)
		}
	}
	return dirs, nil
}

// cgroupPIDs lists every process in the node's cgroups and their children.
func cgroupPIDs(l layout) []int {
	seen := map[int]bool{}
	var pids []int
	for _, d := range cgroupDirs(l) {
		_ = filepath.WalkDir(d, func(p string, e os.DirEntry, err error) error {
			if err != nil || e.IsDir() || e.Name() != "cgroup.procs" {
				return nil
			}
			b, _ := os.ReadFile(p)
			for _, f := range strings.Fields(string(b)) {
				if pid, err := strconv.Atoi(f); err == nil && !seen[pid] {
					seen[pid] = true
					pids = append(pids, pid)
				}
			}
			return nil
		})
	}
	return pids
}

// removeCgroups removes the node's cgroup trees bottom-up (cgroupfs only
// allows rmdir of empty groups), then the shared parent if it is empty.
func removeCgroups(l layout) error {
	var errs []error
	for _, d := range cgroupDirs(l) {
		var dirs []string
		_ = filepath.WalkDir(d, func(p string, e os.DirEntry, err error) error {
			if err == nil && e.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		for i := len(dirs) - 1; i >= 0; i-- {
			if err := syscall.Rmdir(dirs[i]); err != nil && !errors.Is(err, syscall.ENOENT) {
				errs = append(errs, fmt.Errorf("testnode: rmdir %s: %w", dirs[i], err))
			}
		}
		_ = syscall.Rmdir(filepath.Dir(d)) // fails while other nodes run: fine
	}
	return errors.Join(errs...)
}

// procStart is the process's start time in clock ticks since boot: with the
// PID it identifies a process, so a recycled PID is never signalled.
func procStart(pid int) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')') // comm may contain spaces
	if i < 0 {
		return 0, fmt.Errorf("bad stat for %d", pid)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 {
		return 0, fmt.Errorf("bad stat for %d", pid)
	}
	if f[0] == "Z" {
		return 0, fmt.Errorf("process %d is a zombie", pid)
	}
	return strconv.ParseUint(f[19], 10, 64)
}

// sameProcess reports whether pid still is the process started at start.
func sameProcess(pid int, start uint64) bool {
	if pid <= 0 {
		return false
	}
	got, err := procStart(pid)
	return err == nil && got == start
}

// stopProcess sends SIGTERM (nspawn turns it into a clean shutdown of the
// node), waits, then SIGKILLs.
func stopProcess(pid int, start uint64, grace time.Duration) error {
	if !sameProcess(pid, start) {
		return nil
	}
	_ = syscall.Kill(pid, syscall.SIGTERM)
	if waitGone(pid, start, grace) {
		return nil
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
	if waitGone(pid, start, 5*time.Second) {
		return nil
	}
	return fmt.Errorf("testnode: process %d did not exit", pid)
}

func waitGone(pid int, start uint64, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if !sameProcess(pid, start) {
			return true
		}
		time.Sleep(100 * time.Millisecond)
	}
	return !sameProcess(pid, start)
}

// leaderPID finds the node's PID 1 as seen from the host: the child of the
// nspawn process.
func leaderPID(nspawn int) (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", nspawn, nspawn))
	if err == nil {
		for _, f := range strings.Fields(string(b)) {
			if pid, err := strconv.Atoi(f); err == nil {
				return pid, nil
			}
		}
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, err
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ppid(pid) == nspawn {
			return pid, nil
		}
	}
	return 0, fmt.Errorf("testnode: no container process under nspawn %d", nspawn)
}

func ppid(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 2 {
		return 0
	}
	p, _ := strconv.Atoi(f[1])
	return p
}
