package testnode

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Each node has its own apt proxy on its host-side address, owned by
// whoever owns the node: a Lab serves it in-process, the CLI runs it as a
// background process recorded in the node's directory. So the proxy lives
// exactly as long as the node, and test processes running side by side
// never pull each other's proxy away.

// ProxyAddr is where the node's apt expects its proxy.
func (n *Node) ProxyAddr() string { return fmt.Sprintf("%s:%d", n.HostIP, ProxyPort) }

// WithProxy calls start once the node's network exists and before it boots;
// start must leave a proxy answering on n.ProxyAddr() (see StartProxy).
func WithProxy(start func(n *Node) error) Option {
	return func(c *upConfig) { c.startProxy = start }
}

// writeAptProxy points the node's apt at its proxy.
func writeAptProxy(n *Node) error {
	conf := fmt.Sprintf("Acquire::http::Proxy \"http://%s\";\n", n.ProxyAddr())
	return os.WriteFile(filepath.Join(n.Root, "etc/apt/apt.conf.d/01pressluft-proxy"), []byte(conf), 0o644)
}

// RecordProxyProcess notes a background proxy process serving the node, so
// that Down stops it with the node.
func RecordProxyProcess(n *Node, pid int) error {
	start, err := procStart(pid)
	if err != nil {
		return err
	}
	return os.WriteFile(layout{n.Name}.proxyPID(), fmt.Appendf(nil, "%d %d\n", pid, start), 0o644)
}

// stopProxyProcess ends the node's recorded proxy process, if it still is
// the process that was recorded.
func stopProxyProcess(l layout) error {
	b, err := os.ReadFile(l.proxyPID())
	if err != nil {
		return nil
	}
	var pid int
	var start uint64
	if _, err := fmt.Sscan(strings.TrimSpace(string(b)), &pid, &start); err != nil || pid == os.Getpid() {
		return nil
	}
	return stopProcess(pid, start, 5*time.Second)
}
