package testnode

import (
	"fmt"
	"path/filepath"
	"regexp"
)

// Where nodes live on the host. Fixed paths (not per test) because the base
// tree is large and meant to be shared by every run, and because a node left
// over from a crashed run must be found again by name alone.
const (
	CacheDir   = "/var/cache/pressluft-testnode"
	BaseDir    = CacheDir + "/base"
	AptCache   = CacheDir + "/apt"
	StateDir   = "/var/lib/pressluft-testnode"
	cgroupName = "pressluft-testnode"
)

// The nodes' network: node N gets 10.77.N.2 with the host at 10.77.N.1. The
// node's apt proxy listens on the host side, 10.77.N.1:ProxyPort, which the
// node reaches without the host forwarding any packet.
const (
	subnetPrefix = "10.77"
	ProxyPort    = 3142
	maxNodes     = 254
)

// Names become hostnames, machine names and part of the netns name.
var nameRE = regexp.MustCompile(`^[a-z][a-z0-9-]{0,19}$`)

// ValidName reports whether name can be used for a node.
func ValidName(name string) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("testnode: invalid node name %q: want 1-20 of [a-z0-9-], starting with a letter", name)
	}
	return nil
}

// layout is where one node's files and kernel objects are.
type layout struct {
	name string
}

func (l layout) dir() string       { return filepath.Join(StateDir, l.name) }
func (l layout) upper() string     { return filepath.Join(l.dir(), "upper") }
func (l layout) work() string      { return filepath.Join(l.dir(), "work") }
func (l layout) root() string      { return filepath.Join(l.dir(), "root") }
func (l layout) stateFile() string { return filepath.Join(l.dir(), "node.json") }
func (l layout) console() string   { return filepath.Join(l.dir(), "console.log") }
func (l layout) proxyPID() string  { return filepath.Join(l.dir(), "proxy.pid") }
func (l layout) netns() string     { return "pl-" + l.name }
func (l layout) propagate() string { return filepath.Join("/run/systemd/nspawn/propagate", l.name) }

func hostIP(index int) string { return fmt.Sprintf("%s.%d.1", subnetPrefix, index) }
func nodeIP(index int) string { return fmt.Sprintf("%s.%d.2", subnetPrefix, index) }

// hostVeth is the host end of node N's veth pair; short because interface
// names are limited to 15 bytes.
func hostVeth(index int) string { return fmt.Sprintf("plh%d", index) }
