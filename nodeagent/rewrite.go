package nodeagent

import (
	"context"
	"fmt"
	"strings"

	"github.com/pressluft/pressluft/agent/protocol"
)

// otherHosts lists the hosts of urls that are not the host of target, each
// once: the hosts a copy, restore or promotion rewrites.
func otherHosts(target string, urls ...string) []string {
	host := urlHost(target)
	var hosts []string
	for _, u := range urls {
		if h := urlHost(u); h != "" && h != host && !contains(hosts, h) {
			hosts = append(hosts, h)
		}
	}
	return hosts
}

// rewriteHosts rewrites every one of hosts to the host of target, then the
// other scheme of that host to target's own (links now name the host but
// may carry the source's scheme), in serialized and JSON-escaped data: one
// helper run, so WordPress loads once. database is the one to rewrite when
// it is not the environment's own (u must be allowed to use it).
func (a *agent) rewriteHosts(ctx context.Context, u envUser, root, target string, hosts []string, database string) (*protocol.SearchReplace, error) {
	host := urlHost(target)
	scheme, other := "https", "http"
	if strings.HasPrefix(target, "http://") {
		scheme, other = "http", "https"
	}
	type pair struct {
		From string `json:"from"`
		To   string `json:"to"`
	}
	var pairs []pair
	for _, h := range hosts {
		pairs = append(pairs, pair{"//" + h, "//" + host})
	}
	pairs = append(pairs, pair{other + "://" + host, scheme + "://" + host})
	var out struct {
		Runs []struct {
			From       string `json:"from"`
			To         string `json:"to"`
			TotalCells int    `json:"total_cells"`
		} `json:"runs"`
		TotalCells  int `json:"total_cells"`
		Unparseable struct {
			Count int `json:"count"`
		} `json:"unparseable"`
	}
	var args []string
	if database != "" {
		args = []string{"--database=" + database}
	}
	if err := a.runHelper(ctx, u, root, "search-replace-many", args, map[string]any{"pairs": pairs}, &out); err != nil {
		return nil, err
	}
	for _, run := range out.Runs {
		a.event("search_replace", fmt.Sprintf("%s → %s: %d cells changed", run.From, run.To, run.TotalCells))
	}
	// Each pass counts the cells still holding its own source host; with one
	// source host (the usual case) the largest count is exact, else a lower bound.
	sr := &protocol.SearchReplace{Hosts: hosts, Cells: out.TotalCells, Unparseable: out.Unparseable.Count}
	if sr.Unparseable > 0 {
		a.warn("search_replace", fmt.Sprintf("%d values could not be parsed and may still point at %s", sr.Unparseable, strings.Join(hosts, ", ")))
	}
	return sr, nil
}
