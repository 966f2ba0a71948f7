package ansible

import (
	"context"
	"encoding/json"
	"time"

	"github.com/pressluft/pressluft"
	"github.com/pressluft/pressluft/ssh"
)

// NodeConfig implements pressluft.NodeConfig with the embedded playbooks.
type NodeConfig struct {
	Runner  *Runner
	SSH     *ssh.Pool
	Nodes   pressluft.NodeService
	Secrets pressluft.SecretService
	// WordPressArchiveURL, when set, replaces the distribution's WordPress.
	WordPressArchiveURL string
}

// target returns how Ansible reaches node n, after checking over SSH that
// it answers (which also pins its host key at first contact).
func (c *NodeConfig) target(ctx context.Context, n *pressluft.Node, p pressluft.Progress) (Target, error) {
	p.Event("connect", pressluft.LevelInfo, "Connecting to "+n.Host+" over SSH.")
	if err := c.SSH.Probe(ctx, n, 15*time.Second); err != nil {
		return Target{}, err
	}
	if err := c.Nodes.MarkNodeSeen(ctx, n.ID, true, ""); err != nil {
		return Target{}, err
	}
	key, err := c.Secrets.GetSecret(ctx, pressluft.SecretSSHKey)
	if err != nil {
		return Target{}, err
	}
	known, err := ssh.KnownHostsLine(n.Host, n.SSHPort, n.HostKey)
	if err != nil {
		return Target{}, err
	}
	p.Event("connect", pressluft.LevelInfo, "Connected; host key "+n.HostKeyFingerprint+".")
	return Target{Host: n.Host, Port: n.SSHPort, User: n.SSHUser, PrivateKey: key, KnownHosts: known}, nil
}

// Check runs a trivial playbook through the same runner as every other
// job: it tells whether provisioning can work (key authorised, host key
// pinned, Python present) and changes nothing.
func (c *NodeConfig) Check(ctx context.Context, n *pressluft.Node, p pressluft.Progress) error {
	t, err := c.target(ctx, n, p)
	if err != nil {
		return err
	}
	_, err = c.Runner.Run(ctx, Run{Playbook: "noop", Target: t, Progress: p})
	return err
}

// Provision runs node_provision and returns the facts it published.
func (c *NodeConfig) Provision(ctx context.Context, n *pressluft.Node, p pressluft.Progress) (*pressluft.NodeFacts, error) {
	t, err := c.target(ctx, n, p)
	if err != nil {
		return nil, err
	}
	vars := map[string]any{}
	if c.WordPressArchiveURL != "" {
		vars["pressluft_wordpress_archive_url"] = c.WordPressArchiveURL
	}
	out, err := c.Runner.Run(ctx, Run{Playbook: "node_provision", Target: t, Vars: vars, Progress: p})
	if err != nil {
		return nil, err
	}
	var facts pressluft.NodeFacts
	if raw, ok := out.Custom["pressluft_facts"]; ok {
		if err := json.Unmarshal(raw, &facts); err != nil {
			return nil, pressluft.Errorf(pressluft.EAnsibleFailed, "Provisioning published unreadable facts.")
		}
	}
	return &facts, nil
}
