// Package agent is the control plane's side of the node agent: it carries
// the agent's binaries, installs the right one on each node, and runs
// per-environment operations through it (pressluft.EnvOps).
package agent

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"strings"

	"github.com/pressluft/pressluft"
	"github.com/pressluft/pressluft/agent/protocol"
)

// dist holds the agent builds made by `make agents`: pressluft-agent-linux-<arch>
// and VERSION.
//
//go:embed dist
var dist embed.FS

// build is the agent binary for one architecture.
type build struct {
	arch string
	data []byte
	sum  string // hex sha256 of data
}

// path is where the build lives on a node. It is named by the content, so
// an agent found there is exactly this build: no version check needs
// another round trip, and agents of different control planes never clash.
func (b *build) path() string {
	return protocol.AgentDir + "/" + b.sum[:16] + "/pressluft-agent"
}

// loadBuild returns the embedded build for arch.
func loadBuild(arch string) (*build, error) {
	data, err := dist.ReadFile("dist/pressluft-agent-linux-" + arch)
	if err != nil {
		return nil, pressluft.Errorf(pressluft.EAgentUnavailable,
			"This build of Pressluft carries no node agent for linux/%s; build it with `make build`.", arch)
	}
	sum := sha256.Sum256(data)
	return &build{arch: arch, data: data, sum: hex.EncodeToString(sum[:])}, nil
}

// buildVersion is the version the embedded agents were built with.
func buildVersion() string {
	v, err := dist.ReadFile("dist/VERSION")
	if err != nil {
		return "dev"
	}
	return strings.TrimSpace(string(v))
}

// goArch maps `uname -m` to the architectures agents are built for.
func goArch(machine string) (string, error) {
	switch strings.TrimSpace(machine) {
	case "x86_64", "amd64":
		return "amd64", nil
	case "aarch64", "arm64":
		return "arm64", nil
	}
	return "", pressluft.Errorf(pressluft.EUnsupportedArch,
		"The node's architecture %q is not supported; Pressluft nodes run on x86_64 (amd64) or aarch64 (arm64).", strings.TrimSpace(machine))
}
