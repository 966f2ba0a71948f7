package agent

import (
	"context"
	"encoding/json"

	"github.com/pressluft/pressluft"
	"github.com/pressluft/pressluft/agent/protocol"
)

// Client implements the domain's per-environment work.
var _ pressluft.EnvOps = (*Client)(nil)

func wireEnv(e pressluft.EnvSpec) *protocol.Env {
	return &protocol.Env{Name: e.Name, Type: e.Type, ReleaseID: e.ReleaseID, URL: e.URL, ServerNames: e.ServerNames,
		DBName: e.DBName, DBUser: e.DBUser, DBPassword: e.DBPassword}
}

// CreateEnv builds a production environment and installs WordPress.
func (c *Client) CreateEnv(ctx context.Context, n *pressluft.Node, env pressluft.EnvSpec, wp pressluft.WordPressInstall, p pressluft.Progress) (*pressluft.EnvFacts, error) {
	req := protocol.Request{Op: protocol.OpEnvCreate, Env: wireEnv(env), Install: &protocol.Install{
		Title: wp.Title, AdminUser: wp.AdminUser, AdminEmail: wp.AdminEmail, AdminPassword: wp.AdminPassword}}
	return c.envCall(ctx, n, req, p, env.DBPassword, wp.AdminPassword)
}

// CopyEnv builds a staging or clone environment from source.
func (c *Client) CopyEnv(ctx context.Context, n *pressluft.Node, env, source pressluft.EnvSpec, p pressluft.Progress) (*pressluft.EnvFacts, error) {
	req := protocol.Request{Op: protocol.OpEnvCopy, Env: wireEnv(env), Source: wireEnv(source)}
	return c.envCall(ctx, n, req, p, env.DBPassword)
}

// DeleteEnv removes exactly env from n.
func (c *Client) DeleteEnv(ctx context.Context, n *pressluft.Node, env pressluft.EnvSpec, p pressluft.Progress) error {
	_, err := c.call(ctx, n, protocol.Request{Op: protocol.OpEnvDelete, Env: wireEnv(env)}, p)
	return err
}

// EnvHealth reports WordPress's own view of env.
func (c *Client) EnvHealth(ctx context.Context, n *pressluft.Node, env pressluft.EnvSpec) (*pressluft.EnvFacts, error) {
	return c.envCall(ctx, n, protocol.Request{Op: protocol.OpEnvHealth, Env: wireEnv(env)}, discard{})
}

// Version runs the no-op operation: the agent's version and architecture.
func (c *Client) Version(ctx context.Context, n *pressluft.Node) (*protocol.VersionResult, error) {
	raw, err := c.call(ctx, n, protocol.Request{Op: protocol.OpVersion}, discard{})
	if err != nil {
		return nil, err
	}
	var v protocol.VersionResult
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, pressluft.Errorf(pressluft.EAgentFailed, "The node agent answered an unreadable version.")
	}
	return &v, nil
}

func (c *Client) envCall(ctx context.Context, n *pressluft.Node, req protocol.Request, p pressluft.Progress, secrets ...string) (*pressluft.EnvFacts, error) {
	raw, err := c.call(ctx, n, req, p, secrets...)
	if err != nil {
		return nil, err
	}
	var r protocol.EnvResult
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, pressluft.Errorf(pressluft.EAgentFailed, "The node agent answered %s with an unreadable result.", req.Op)
	}
	h := r.Health
	f := &pressluft.EnvFacts{ReleaseID: r.ReleaseID, AlreadyInstalled: r.AlreadyInstalled, Copied: r.Copied,
		Installed: h.Installed, DBOK: h.DBOK, WPVersion: h.WPVersion, PHPVersion: h.PHPVersion, Home: h.Home, SiteURL: h.SiteURL,
		TitleHTML: h.TitleHTML}
	if sr := r.SearchReplace; sr != nil {
		f.SearchReplace = &pressluft.SearchReplace{Hosts: sr.Hosts, Cells: sr.Cells, Unparseable: sr.Unparseable}
	}
	return f, nil
}

// discard is the progress of calls that are not part of a job.
type discard struct{}

func (discard) Event(string, string, string) {}
func (discard) Output(string)                {}
