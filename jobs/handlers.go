package jobs

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/pressluft/pressluft"
	"github.com/pressluft/pressluft/ansible"
	"github.com/pressluft/pressluft/ssh"
)

// Playbooks runs a playbook on a node; *ansible.Runner implements it.
type Playbooks interface {
	Run(ctx context.Context, run ansible.Run) (*ansible.Outcome, error)
}

// Handlers holds what the job handlers need and registers them.
type Handlers struct {
	Nodes     pressluft.NodeService
	Sites     pressluft.SiteService
	Secrets   pressluft.SecretService
	Settings  pressluft.SettingsService
	SSH       *ssh.Pool
	Playbooks Playbooks
	Logger    *slog.Logger
	// HTTPCheck fetches a preview URL from the control plane, reaching the
	// node by address with the preview host name as Host header.
	HTTPCheck func(ctx context.Context, nodeHost, url string) (status int, body string, err error)
	// WordPressArchiveURL, when set, replaces the distribution's WordPress.
	WordPressArchiveURL string
}

// Register adds every handler to r.
func (h *Handlers) Register(r *Runner) {
	r.Handlers[pressluft.JobNoop] = func(context.Context, *pressluft.Job, pressluft.Progress) (any, error) { return nil, nil }
	r.Handlers[pressluft.JobNodeProvision] = h.nodeProvision
	r.Handlers[pressluft.JobNodeCheck] = h.nodeCheck
	r.Handlers[pressluft.JobSiteCreate] = h.siteCreate
	r.Handlers[pressluft.JobEnvCreate] = h.envCreate
	r.Handlers[pressluft.JobEnvDelete] = h.envDelete
	r.Handlers[pressluft.JobSiteDelete] = h.siteDelete
}

// target returns how Ansible reaches node n, after checking over SSH that
// it answers (which also pins its host key at first contact).
func (h *Handlers) target(ctx context.Context, n *pressluft.Node, p pressluft.Progress) (ansible.Target, error) {
	p.Event("connect", pressluft.LevelInfo, "Connecting to "+n.Host+" over SSH.")
	if err := h.SSH.Probe(ctx, n, 15*time.Second); err != nil {
		return ansible.Target{}, err
	}
	if err := h.Nodes.MarkNodeSeen(ctx, n.ID, true, ""); err != nil {
		return ansible.Target{}, err
	}
	key, err := h.Secrets.GetSecret(ctx, pressluft.SecretSSHKey)
	if err != nil {
		return ansible.Target{}, err
	}
	known, err := ssh.KnownHostsLine(n.Host, n.SSHPort, n.HostKey)
	if err != nil {
		return ansible.Target{}, err
	}
	p.Event("connect", pressluft.LevelInfo, "Connected; host key "+n.HostKeyFingerprint+".")
	return ansible.Target{Host: n.Host, Port: n.SSHPort, User: n.SSHUser, PrivateKey: key, KnownHosts: known}, nil
}

// nodeCheck reaches the node over SSH and runs a trivial playbook through
// the same runner as every other job: it tells whether provisioning can
// work (key authorised, host key pinned, Python present) and changes nothing.
func (h *Handlers) nodeCheck(ctx context.Context, j *pressluft.Job, p pressluft.Progress) (any, error) {
	n, err := h.Nodes.FindNodeByID(ctx, j.NodeID)
	if err != nil {
		return nil, err
	}
	t, err := h.target(ctx, n, p)
	if err != nil {
		return nil, err
	}
	if _, err := h.Playbooks.Run(ctx, ansible.Run{Playbook: "noop", Target: t, Progress: p}); err != nil {
		return nil, err
	}
	return map[string]string{"host_key_fingerprint": n.HostKeyFingerprint}, nil
}

func (h *Handlers) nodeProvision(ctx context.Context, j *pressluft.Job, p pressluft.Progress) (any, error) {
	n, err := h.Nodes.FindNodeByID(ctx, j.NodeID)
	if err != nil {
		return nil, err
	}
	if err := h.Nodes.SetNodeStatus(ctx, n.ID, pressluft.NodeProvisioning, ""); err != nil {
		return nil, err
	}
	t, err := h.target(ctx, n, p)
	if err != nil {
		return nil, err
	}
	vars := map[string]any{}
	if h.WordPressArchiveURL != "" {
		vars["pressluft_wordpress_archive_url"] = h.WordPressArchiveURL
	}
	out, err := h.Playbooks.Run(ctx, ansible.Run{Playbook: "node_provision", Target: t, Vars: vars, Progress: p})
	if err != nil {
		return nil, err
	}
	var facts pressluft.NodeFacts
	if raw, ok := out.Custom["pressluft_facts"]; ok {
		if err := json.Unmarshal(raw, &facts); err != nil {
			return nil, pressluft.Errorf(pressluft.EAnsibleFailed, "Provisioning published unreadable facts.")
		}
	}
	if err := h.Nodes.SetNodeFacts(ctx, n.ID, facts); err != nil {
		return nil, err
	}
	if err := h.Nodes.SetNodeStatus(ctx, n.ID, pressluft.NodeActive, ""); err != nil {
		return nil, err
	}
	p.Event("done", pressluft.LevelInfo, "Node is active: "+facts.OSName+" "+facts.OSVersion+", nginx "+facts.NginxVersion+
		", PHP "+facts.PHPVersion+", MariaDB "+facts.MariaDBVersion+".")
	return facts, nil
}
