package testnode

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

// Node is one booted test server. Its state is saved in StateDir/<name>/node.json
// so that another process (the CLI, a later run) can reach or remove it.
type Node struct {
	Name    string `json:"name"`
	Index   int    `json:"index"`
	IP      string `json:"ip"`
	HostIP  string `json:"host_ip"`
	SSHPort int    `json:"ssh_port"`
	// PID is the systemd-nspawn process; PIDStart tells it apart from a
	// later process that got the same PID.
	PID      int    `json:"pid"`
	PIDStart uint64 `json:"pid_start"`
	Root     string `json:"root"` // the node's / as seen from the host
}

// Running reports whether the node's nspawn process is alive.
func (n *Node) Running() bool { return sameProcess(n.PID, n.PIDStart) }

// Option changes how Up prepares a node before it boots.
type Option func(*upConfig)

type upConfig struct {
	keys       []string
	deployUser bool
	noSystemd  bool
	startProxy func(*Node) error
}

// WithAuthorizedKey lets the public key log in as root (and as deploy, if
// WithDeployUser is given).
func WithAuthorizedKey(pubkey string) Option {
	return func(c *upConfig) { c.keys = append(c.keys, pubkey) }
}

// WithDeployUser adds a user "deploy" with passwordless sudo, for testing
// provisioning as a non-root user with become.
func WithDeployUser() Option { return func(c *upConfig) { c.deployUser = true } }

// WithoutSystemd starts only sshd under a stub PID 1 instead of booting
// systemd, to test nodes where services run from their init scripts.
func WithoutSystemd() Option { return func(c *upConfig) { c.noSystemd = true } }

// sshWait bounds the boot; systemd and sshd are usually up in 1-3 seconds.
const sshWait = 60 * time.Second

// Up creates and boots the node called name and returns once its sshd
// answers. A stale node of that name (from a crashed run) is removed first.
func Up(ctx context.Context, name string, opts ...Option) (_ *Node, err error) {
	if err := ValidName(name); err != nil {
		return nil, err
	}
	if err := checkHost(); err != nil {
		return nil, err
	}
	var cfg upConfig
	for _, o := range opts {
		o(&cfg)
	}
	base, err := Base(ctx)
	if err != nil {
		return nil, err
	}
	l := layout{name}
	n, err := reserve(ctx, l)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = Down(context.Background(), name)
		}
	}()

	for _, d := range []string{l.upper(), l.work(), l.root()} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	opt := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s", base, l.upper(), l.work())
	if err := syscall.Mount("overlay", l.root(), "overlay", 0, opt); err != nil {
		return nil, fmt.Errorf("testnode: overlay mount for %s: %w", name, err)
	}
	if err := personalize(ctx, n, cfg); err != nil {
		return nil, err
	}
	if err := setupNetwork(ctx, l, n.Index); err != nil {
		return nil, err
	}
	if cfg.startProxy != nil {
		if err := cfg.startProxy(n); err != nil {
			return nil, fmt.Errorf("testnode: apt proxy for %s: %w", name, err)
		}
	}
	cmd, err := launch(l, !cfg.noSystemd)
	if err != nil {
		return nil, err
	}
	n.PID = cmd.Process.Pid
	if n.PIDStart, err = procStart(n.PID); err != nil {
		return nil, fmt.Errorf("testnode: nspawn for %s exited at once: %s", name, consoleTail(l))
	}
	if err := n.save(); err != nil {
		return nil, err
	}
	if err := waitSSH(ctx, n); err != nil {
		return nil, err
	}
	return n, nil
}

// reserve claims the name and a network index under a lock shared with
// other processes, and records them before anything is created, so that a
// crash from here on leaves state that Down can clean up.
func reserve(ctx context.Context, l layout) (*Node, error) {
	if err := os.MkdirAll(StateDir, 0o755); err != nil {
		return nil, err
	}
	unlock, err := lockFile(filepath.Join(StateDir, ".lock"))
	if err != nil {
		return nil, err
	}
	defer unlock()
	if old, err := Load(l.name); err == nil {
		if old.Running() {
			return nil, fmt.Errorf("testnode: node %s is already running (pid %d)", l.name, old.PID)
		}
	}
	if err := Down(ctx, l.name); err != nil { // leftovers of a crashed run
		return nil, err
	}
	index, err := allocateIndex()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(l.dir(), 0o755); err != nil {
		return nil, err
	}
	n := &Node{Name: l.name, Index: index, IP: nodeIP(index), HostIP: hostIP(index), SSHPort: 22, Root: l.root()}
	return n, n.save()
}

// personalize gives the node what the base leaves out: its own host keys,
// hostname, its apt proxy, and the keys allowed to log in.
func personalize(ctx context.Context, n *Node, cfg upConfig) error {
	if _, err := run(ctx, "ssh-keygen", "-A", "-f", n.Root); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(n.Root, "etc/hostname"), []byte(n.Name+"\n"), 0o644); err != nil {
		return err
	}
	if err := writeAptProxy(n); err != nil {
		return err
	}
	// Nodes reach no resolver (apt goes through the proxy by address); a
	// local one that refuses at once beats lookups that time out.
	if err := os.WriteFile(filepath.Join(n.Root, "etc/resolv.conf"), []byte("nameserver 127.0.0.1\n"), 0o644); err != nil {
		return err
	}
	hosts := fmt.Sprintf("127.0.0.1\tlocalhost\n127.0.1.1\t%s\n%s\t%s\n::1\tlocalhost ip6-localhost ip6-loopback\n", n.Name, n.IP, n.Name)
	if err := os.WriteFile(filepath.Join(n.Root, "etc/hosts"), []byte(hosts), 0o644); err != nil {
		return err
	}
	if cfg.deployUser {
		if err := addDeployUser(ctx, n); err != nil {
			return err
		}
	}
	for _, k := range cfg.keys {
		if err := AuthorizeKey(n, k); err != nil {
			return err
		}
		if cfg.deployUser {
			if err := AuthorizeKeyFor(n, "deploy", k); err != nil {
				return err
			}
		}
	}
	return nil
}

func waitSSH(ctx context.Context, n *Node) error {
	ctx, cancel := context.WithTimeout(ctx, sshWait)
	defer cancel()
	addr := net.JoinHostPort(n.IP, fmt.Sprint(n.SSHPort))
	for {
		if banner, err := sshBanner(ctx, addr); err == nil && strings.HasPrefix(banner, "SSH-") {
			return nil
		}
		if !n.Running() {
			return fmt.Errorf("testnode: node %s stopped while booting: %s", n.Name, consoleTail(layout{n.Name}))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("testnode: sshd on %s did not answer within %s: %s", addr, sshWait, consoleTail(layout{n.Name}))
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func sshBanner(ctx context.Context, addr string) (string, error) {
	d := net.Dialer{Timeout: time.Second}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	return bufio.NewReader(c).ReadString('\n')
}

// Down stops and removes the node called name. It is idempotent and works
// from whatever a crashed run left behind: every step tolerates missing pieces.
func Down(ctx context.Context, name string) error {
	if err := ValidName(name); err != nil {
		return err
	}
	l := layout{name}
	n, err := Load(name)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	var errs []error
	if n != nil {
		errs = append(errs, stopProcess(n.PID, n.PIDStart, 30*time.Second))
	}
	errs = append(errs, stopProxyProcess(l))
	// Anything still in the node's cgroups belongs to the node (say, after
	// nspawn was killed hard): end it too.
	for _, pid := range cgroupPIDs(l) {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	errs = append(errs, unmountAll(l.root()))
	index := 0
	if n != nil {
		index = n.Index
	}
	errs = append(errs, teardownNetwork(ctx, l, index))
	errs = append(errs, waitCgroupsEmpty(l), removeCgroups(l))
	errs = append(errs, os.RemoveAll(l.propagate()))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("testnode: down %s: %w", name, err)
	}
	return removeTree(l.dir())
}

func waitCgroupsEmpty(l layout) error {
	for i := 0; i < 50; i++ {
		if len(cgroupPIDs(l)) == 0 {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("processes left in the cgroups of %s", l.name)
}

// Load reads a node's saved state.
func Load(name string) (*Node, error) {
	b, err := os.ReadFile(layout{name}.stateFile())
	if err != nil {
		return nil, err
	}
	var n Node
	if err := json.Unmarshal(b, &n); err != nil {
		return nil, fmt.Errorf("testnode: %s: %w", layout{name}.stateFile(), err)
	}
	return &n, nil
}

// List returns the nodes that have state on this host, running or not.
func List() ([]*Node, error) {
	entries, err := os.ReadDir(StateDir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var nodes []*Node
	for _, e := range entries {
		if !e.IsDir() || ValidName(e.Name()) != nil {
			continue
		}
		if n, err := Load(e.Name()); err == nil {
			nodes = append(nodes, n)
		}
	}
	sort.Slice(nodes, func(i, j int) bool { return nodes[i].Index < nodes[j].Index })
	return nodes, nil
}

func (n *Node) save() error {
	b, err := json.MarshalIndent(n, "", "  ")
	if err != nil {
		return err
	}
	f := layout{n.Name}.stateFile()
	if err := os.WriteFile(f+".tmp", b, 0o644); err != nil {
		return err
	}
	return os.Rename(f+".tmp", f)
}

func consoleTail(l layout) string {
	b, _ := os.ReadFile(l.console())
	return tail(string(b), 1500)
}
