package agent

import (
	"context"
	"encoding/json"

	"github.com/pressluft/pressluft"
	"github.com/pressluft/pressluft/agent/protocol"
)

// Client implements the domain's drift checks and promotions.
var _ pressluft.PromoteOps = (*Client)(nil)

// EnvState reads env's tables, components and wp-content; it changes
// nothing.
func (c *Client) EnvState(ctx context.Context, n *pressluft.Node, env pressluft.EnvSpec, p pressluft.Progress) (*pressluft.EnvState, error) {
	req := protocol.Request{Op: protocol.OpEnvState, Env: &protocol.Env{Name: env.Name, DBName: env.DBName, DBUser: env.DBUser}}
	raw, err := c.call(ctx, n, req, p)
	if err != nil {
		return nil, err
	}
	return envState(raw)
}

// envState reads env_state's answer; missing maps are empty ones.
func envState(raw json.RawMessage) (*pressluft.EnvState, error) {
	var r protocol.EnvStateResult
	if err := json.Unmarshal(raw, &r); err != nil || r.ContentHash == "" {
		return nil, unreadable(protocol.OpEnvState)
	}
	return &pressluft.EnvState{Tables: orEmpty(r.Tables), Components: orEmpty(r.Components), Paths: orEmpty(r.Paths),
		ContentHash: r.ContentHash}, nil
}

// PromoteDatabase replaces env's tables with source's but for those
// matching protect, URLs rewritten to env's.
func (c *Client) PromoteDatabase(ctx context.Context, n *pressluft.Node, env, source pressluft.EnvSpec, protect []string, runID string, p pressluft.Progress) (*pressluft.PromoteFacts, error) {
	if protect == nil {
		protect = []string{}
	}
	req := protocol.Request{Op: protocol.OpDBPromote,
		Env:     &protocol.Env{Name: env.Name, Type: env.Type, URL: env.URL, DBName: env.DBName, DBUser: env.DBUser},
		Source:  &protocol.Env{Name: source.Name, Type: source.Type, URL: source.URL, DBName: source.DBName, DBUser: source.DBUser},
		Promote: &protocol.Promote{Protect: protect, RunID: runID}}
	raw, err := c.call(ctx, n, req, p)
	if err != nil {
		return nil, err
	}
	return promoteFacts(raw)
}

// promoteFacts reads db_promote's answer.
func promoteFacts(raw json.RawMessage) (*pressluft.PromoteFacts, error) {
	var r protocol.PromoteResult
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, unreadable(protocol.OpDBPromote)
	}
	f := &pressluft.PromoteFacts{Moved: orNone(r.Moved), Protected: orNone(r.Protected)}
	if sr := r.SearchReplace; sr != nil {
		f.SearchReplace = &pressluft.SearchReplace{Hosts: sr.Hosts, Cells: sr.Cells, Unparseable: sr.Unparseable}
	}
	return f, nil
}

func orEmpty(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func orNone(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
