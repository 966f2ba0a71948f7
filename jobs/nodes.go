package jobs

import (
	"context"

	"github.com/pressluft/pressluft"
)

// nodeCheck tests the connection the way provisioning makes it; it changes
// nothing.
func (h *Handlers) nodeCheck(ctx context.Context, j *pressluft.Job, p pressluft.Progress) (*pressluft.JobDone, error) {
	n, err := h.Nodes.FindNodeByID(ctx, j.NodeID)
	if err != nil {
		return nil, err
	}
	if err := h.Config.Check(ctx, n, p); err != nil {
		return nil, err
	}
	return &pressluft.JobDone{Result: map[string]string{"host_key_fingerprint": n.HostKeyFingerprint}}, nil
}

// nodeProvision configures the node, then installs the agent that does the
// per-environment work on it.
func (h *Handlers) nodeProvision(ctx context.Context, j *pressluft.Job, p pressluft.Progress) (*pressluft.JobDone, error) {
	n, err := h.Nodes.FindNodeByID(ctx, j.NodeID)
	if err != nil {
		return nil, err
	}
	facts, err := h.Config.Provision(ctx, n, p)
	if err != nil {
		return nil, err
	}
	if err := h.Envs.InstallAgent(ctx, n, p); err != nil {
		return nil, err
	}
	p.Event("done", pressluft.LevelInfo, "Node is active: "+facts.OSName+" "+facts.OSVersion+", nginx "+facts.NginxVersion+
		", PHP "+facts.PHPVersion+", MariaDB "+facts.MariaDBVersion+".")
	return &pressluft.JobDone{Result: facts, NodeStatus: pressluft.NodeActive, NodeFacts: facts}, nil
}
