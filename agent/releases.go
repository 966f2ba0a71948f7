package agent

import (
	"context"
	"encoding/json"

	"github.com/pressluft/pressluft"
	"github.com/pressluft/pressluft/agent/protocol"
)

// Client implements the domain's release work.
var _ pressluft.ReleaseOps = (*Client)(nil)

// BuildRelease writes env.ReleaseID from the current release's core and
// src's wp-content; it does not switch.
func (c *Client) BuildRelease(ctx context.Context, n *pressluft.Node, env pressluft.EnvSpec, src pressluft.DeploySource, p pressluft.Progress) (*pressluft.ReleaseFacts, error) {
	req := protocol.Request{Op: protocol.OpReleaseBuild, Env: &protocol.Env{Name: env.Name, ReleaseID: env.ReleaseID},
		Deploy: &protocol.Deploy{Type: src.Type, Repository: src.Repository, Ref: src.Ref, DeployKey: src.DeployKey,
			ArchiveURL: src.ArchiveURL, ArchivePath: src.ArchivePath, Environment: src.Environment, MaxBytes: src.MaxBytes,
			AllowPrivate: src.AllowPrivate}}
	return c.releaseCall(ctx, n, req, p, src.DeployKey)
}

// UpdateRelease writes env.ReleaseID as a copy of the current release
// updated through WordPress's upgrader; it does not switch.
func (c *Client) UpdateRelease(ctx context.Context, n *pressluft.Node, env pressluft.EnvSpec, u pressluft.UpdateSpec, p pressluft.Progress) (*pressluft.ReleaseFacts, error) {
	req := protocol.Request{Op: protocol.OpReleaseUpdate, Env: &protocol.Env{Name: env.Name, ReleaseID: env.ReleaseID},
		Update: &protocol.Update{Scope: u.Scope, Items: u.Items, PackageURLs: u.PackageURLs, AllowPrivate: u.AllowPrivate}}
	return c.releaseCall(ctx, n, req, p)
}

func (c *Client) releaseCall(ctx context.Context, n *pressluft.Node, req protocol.Request, p pressluft.Progress, secrets ...string) (*pressluft.ReleaseFacts, error) {
	raw, err := c.call(ctx, n, req, p, secrets...)
	if err != nil {
		return nil, err
	}
	var r protocol.ReleaseResult
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, unreadable(req.Op)
	}
	f := &pressluft.ReleaseFacts{ReleaseID: r.ReleaseID, Path: r.Path, SizeBytes: r.SizeBytes, Ref: r.Ref}
	for _, ch := range r.Changed {
		f.Changed = append(f.Changed, changeLine(ch))
	}
	return f, nil
}

// changeLine is one change as people read it: "plugin akismet 5.0 → 5.3".
func changeLine(ch protocol.ReleaseChange) string {
	from, to := ch.From, ch.To
	if from == "" {
		from = "(new)"
	}
	if to == "" {
		to = "(removed)"
	}
	return ch.Type + " " + ch.Slug + " " + from + " → " + to
}

// SwitchRelease points current at releases/<releaseID> atomically,
// reloads PHP-FPM, purges the page cache and reports WordPress's own view.
func (c *Client) SwitchRelease(ctx context.Context, n *pressluft.Node, env pressluft.EnvSpec, releaseID string, p pressluft.Progress) (*pressluft.EnvFacts, error) {
	req := protocol.Request{Op: protocol.OpReleaseSwitch, Env: &protocol.Env{Name: env.Name, ReleaseID: releaseID, URL: env.URL}}
	return c.envCall(ctx, n, req, p)
}

// PruneReleases removes the release directories of env not in keep (never
// the current one) and returns the ids it removed.
func (c *Client) PruneReleases(ctx context.Context, n *pressluft.Node, envName string, keep []string) ([]string, error) {
	if keep == nil {
		keep = []string{}
	}
	req := protocol.Request{Op: protocol.OpReleasePrune, Env: &protocol.Env{Name: envName}, Prune: &protocol.Prune{Keep: keep}}
	raw, err := c.call(ctx, n, req, discard{})
	if err != nil {
		return nil, err
	}
	var r protocol.PruneResult
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, unreadable(req.Op)
	}
	return r.Removed, nil
}

// Updates lists what env runs and what wordpress.org offers for it.
func (c *Client) Updates(ctx context.Context, n *pressluft.Node, env pressluft.EnvSpec) (*pressluft.UpdateInfo, error) {
	req := protocol.Request{Op: protocol.OpEnvUpdates, Env: &protocol.Env{Name: env.Name}}
	raw, err := c.call(ctx, n, req, discard{})
	if err != nil {
		return nil, err
	}
	var r protocol.UpdatesResult
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, unreadable(req.Op)
	}
	info := &pressluft.UpdateInfo{Items: make([]pressluft.Installed, 0, len(r.Items)), Checked: r.Checked, Problem: r.Problem}
	for _, it := range r.Items {
		info.Items = append(info.Items, pressluft.Installed{Type: it.Type, Slug: it.Slug, Name: it.Name, Version: it.Version,
			Available: it.Available, Active: it.Active})
	}
	return info, nil
}
