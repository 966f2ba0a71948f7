package jobs

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/pressluft/pressluft"
)

// Dialer reaches nodes over SSH (*ssh.Pool).
type Dialer interface {
	// Probe dials afresh and runs a trivial command within timeout.
	Probe(ctx context.Context, n *pressluft.Node, timeout time.Duration) error
	// Forget drops the node's cached connection.
	Forget(nodeID string)
}

// Prober checks every active or unreachable node over SSH at an interval
// and moves it between active and unreachable, recording last_seen_at.
type Prober struct {
	Nodes    pressluft.NodeService
	SSH      Dialer
	Interval time.Duration
	Timeout  time.Duration
	Logger   *slog.Logger
}

// Run probes until ctx ends.
func (p *Prober) Run(ctx context.Context) {
	t := time.NewTicker(p.Interval)
	defer t.Stop()
	for {
		p.ProbeAll(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// ProbeAll probes the nodes concurrently, once.
func (p *Prober) ProbeAll(ctx context.Context) {
	nodes, err := p.Nodes.FindNodes(ctx, pressluft.NodeFilter{})
	if err != nil {
		if ctx.Err() == nil {
			p.Logger.Error("list nodes for probing", "err", err)
		}
		return
	}
	var wg sync.WaitGroup
	for _, n := range nodes {
		if n.Status != pressluft.NodeActive && n.Status != pressluft.NodeUnreachable {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := p.SSH.Probe(ctx, n, p.Timeout)
			if ctx.Err() != nil {
				return
			}
			if err != nil {
				p.SSH.Forget(n.ID) // the next command dials afresh
				if n.Status == pressluft.NodeActive {
					p.Logger.Warn("node unreachable", "node_id", n.ID, "host", n.Host, "err", err)
				}
			} else if n.Status == pressluft.NodeUnreachable {
				p.Logger.Info("node reachable again", "node_id", n.ID, "host", n.Host)
			}
			if e := p.Nodes.MarkNodeSeen(ctx, n.ID, err == nil, pressluft.ErrorMessage(err)); e != nil {
				p.Logger.Error("record probe", "node_id", n.ID, "err", e)
			}
		}()
	}
	wg.Wait()
}
