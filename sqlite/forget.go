package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/pressluft/pressluft"
)

// Forgetting removes resources whose node is gone from the control plane in
// one transaction, without contacting the node: their queued jobs are
// cancelled, their rows (and by cascade releases, backups, domains,
// schedules) and secrets deleted, and the answer names what may remain on
// the node. A running job refuses it: its worker still holds the resource.

// ForgetNode forgets every environment on a node that is gone and
// decommissions the node, so that its host can be added again.
func (s *NodeService) ForgetNode(ctx context.Context, id string) (*pressluft.Forgotten, error) {
	tx, err := s.db.BeginTx(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	n, err := findNodeByID(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	if err := checkNodeGone(tx, n); err != nil {
		return nil, err
	}
	if err := checkNothingRunning(tx, "node_id", id, "node"); err != nil {
		return nil, err
	}
	envs, err := findEnvs(tx, `node_id = ?`, id)
	if err != nil {
		return nil, err
	}
	f, err := forget(ctx, tx, envs, "node_id", id, "Cancelled: its node was forgotten.")
	if err != nil {
		return nil, err
	}
	f.NodeID = id
	if _, err := tx.Exec(`UPDATE nodes SET status = ?, updated_at = ? WHERE id = ?`, pressluft.NodeDecommissioned, ts(tx.now), id); err != nil {
		return nil, err
	}
	return f, tx.Commit()
}

// ForgetSite forgets a site and all its environments when their node is gone.
func (s *SiteService) ForgetSite(ctx context.Context, id string) (*pressluft.Forgotten, error) {
	tx, err := s.db.BeginTx(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	site, err := findSiteByID(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	envs, err := findEnvs(tx, `site_id = ?`, id)
	if err != nil {
		return nil, err
	}
	nodeIDs := map[string]bool{site.NodeID: true}
	for _, e := range envs {
		nodeIDs[e.NodeID] = true
	}
	for nodeID := range nodeIDs {
		n, err := findNodeByID(ctx, tx, nodeID)
		if err != nil {
			return nil, err
		} else if err := checkNodeGone(tx, n); err != nil {
			return nil, err
		}
	}
	if err := checkNothingRunning(tx, "site_id", id, "site"); err != nil {
		return nil, err
	}
	f, err := forget(ctx, tx, envs, "site_id", id, "Cancelled: its site was forgotten.")
	if err != nil {
		return nil, err
	}
	// purgeEnvironment removed the site with its last environment; a site
	// without any is removed here.
	if res, err := tx.Exec(`DELETE FROM sites WHERE id = ?`, id); err != nil {
		return nil, err
	} else if n, _ := res.RowsAffected(); n > 0 {
		f.SiteIDs = append(f.SiteIDs, id)
	}
	return f, tx.Commit()
}

// ForgetEnvironment forgets a staging or clone environment whose node is
// gone; production is forgotten with its site.
func (s *SiteService) ForgetEnvironment(ctx context.Context, id string) (*pressluft.Forgotten, error) {
	tx, err := s.db.BeginTx(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	env, err := findEnvByID(ctx, tx, id)
	if err != nil {
		return nil, err
	} else if env.Type == pressluft.EnvProduction {
		return nil, pressluft.Errorf(pressluft.EConflict, "The production environment is forgotten with its site.")
	}
	n, err := findNodeByID(ctx, tx, env.NodeID)
	if err != nil {
		return nil, err
	} else if err := checkNodeGone(tx, n); err != nil {
		return nil, err
	}
	// Environment work holds its site: a running job of the site may be
	// copying from or into this environment.
	if err := checkNothingRunning(tx, "site_id", env.SiteID, "environment's site"); err != nil {
		return nil, err
	}
	f, err := forget(ctx, tx, []*pressluft.Environment{env}, "environment_id", id, "Cancelled: its environment was forgotten.")
	if err != nil {
		return nil, err
	}
	return f, tx.Commit()
}

// checkNodeGone refuses a forget unless n is unreachable, decommissioned, or
// failed with its last connection attempt unable to reach it.
func checkNodeGone(tx *Tx, n *pressluft.Node) error {
	var lastCode string
	if n.Status == pressluft.NodeFailed {
		// Cancelled attempts say nothing about the node; finished ones do.
		err := tx.QueryRow(`SELECT error_code FROM jobs WHERE node_id = ? AND type IN (?, ?) AND status IN ('succeeded', 'failed')
			ORDER BY finished_at DESC, id DESC LIMIT 1`, n.ID, pressluft.JobNodeCheck, pressluft.JobNodeProvision).Scan(&lastCode)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
	}
	if pressluft.NodeGone(n, lastCode) {
		return nil
	}
	var msg string
	switch n.Status {
	case pressluft.NodeActive:
		msg = fmt.Sprintf("Node %s answers (it is active); delete normally.", n.Name)
	case pressluft.NodeFailed:
		msg = fmt.Sprintf("Node %s is failed, but its last connection test did not find it unreachable; test the connection: "+
			"if SSH does not answer, forget is allowed, else delete normally.", n.Name)
	default:
		msg = fmt.Sprintf("Node %s is %s; forget is only for a node that is unreachable or decommissioned. Delete normally.", n.Name, n.Status)
	}
	return &pressluft.Error{Code: pressluft.ENodeReachable, Message: msg, Details: map[string]any{"node_id": n.ID, "node_status": n.Status}}
}

// checkNothingRunning refuses a forget while a job runs on the resource:
// its worker holds it and would write to rows that are gone.
func checkNothingRunning(tx *Tx, column, id, what string) error {
	var jobID, typ string
	err := tx.QueryRow(`SELECT id, type FROM jobs WHERE `+column+` = ? AND status = 'running' ORDER BY id LIMIT 1`, id).Scan(&jobID, &typ)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	} else if err != nil {
		return err
	}
	return &pressluft.Error{Code: pressluft.EResourceBusy,
		Message: fmt.Sprintf("Job %s (%s) is running on this %s; cancel it first, then forget once it has stopped.", jobID, typ, what),
		Details: map[string]any{"job_id": jobID}}
}

// findEnvs lists the environments matching where, oldest first.
func findEnvs(tx *Tx, where string, args ...any) ([]*pressluft.Environment, error) {
	rows, err := tx.Query(`SELECT `+envColumns+` FROM environments WHERE `+where+` ORDER BY created_at, id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var envs []*pressluft.Environment
	for rows.Next() {
		e, err := scanEnv(rows)
		if err != nil {
			return nil, err
		}
		envs = append(envs, e)
	}
	return envs, rows.Err()
}

// forget cancels the queued jobs whose column is id, then removes envs (a
// site goes with its last environment) and lists what they may have left.
func forget(ctx context.Context, tx *Tx, envs []*pressluft.Environment, column, id, reason string) (*pressluft.Forgotten, error) {
	f := &pressluft.Forgotten{SiteIDs: []string{}, EnvironmentIDs: []string{}, CancelledJobs: []string{}, MayRemain: []pressluft.Leftovers{}}
	var err error
	if f.CancelledJobs, err = cancelQueued(tx, column, id, reason); err != nil {
		return nil, err
	}
	nodes := map[string]*pressluft.Node{}
	sites := map[string]bool{}
	for _, e := range envs {
		n, ok := nodes[e.NodeID]
		if !ok {
			if n, err = findNodeByID(ctx, tx, e.NodeID); err != nil {
				return nil, err
			}
			nodes[e.NodeID] = n
		}
		left := e.Leftovers(n)
		if left.OffsiteBackups, err = backupOffsiteKeys(tx, e.ID); err != nil {
			return nil, err
		}
		if err := purgeEnvironment(tx, e.ID); err != nil {
			return nil, err
		}
		f.EnvironmentIDs = append(f.EnvironmentIDs, e.ID)
		f.MayRemain = append(f.MayRemain, left)
		sites[e.SiteID] = true
	}
	for _, e := range envs {
		if !sites[e.SiteID] {
			continue
		}
		delete(sites, e.SiteID)
		var n int
		if err := tx.QueryRow(`SELECT COUNT(*) FROM sites WHERE id = ?`, e.SiteID).Scan(&n); err != nil {
			return nil, err
		} else if n == 0 {
			f.SiteIDs = append(f.SiteIDs, e.SiteID)
		}
	}
	return f, nil
}

// backupOffsiteKeys lists the offsite copies of an environment's backups: their
// records go with it, the objects stay in the bucket.
func backupOffsiteKeys(tx *Tx, envID string) ([]string, error) {
	rows, err := tx.Query(`SELECT offsite_key FROM backups WHERE environment_id = ? AND offsite_key <> '' ORDER BY created_at, id`, envID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	keys := []string{}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, rows.Err()
}

// cancelQueued cancels the queued jobs whose column is id. Their resources
// are being forgotten, so nothing is marked failed.
func cancelQueued(tx *Tx, column, id, reason string) ([]string, error) {
	rows, err := tx.Query(`SELECT id FROM jobs WHERE `+column+` = ? AND status = 'queued' ORDER BY id`, id)
	if err != nil {
		return nil, err
	}
	ids := []string{}
	for rows.Next() {
		var jobID string
		if err := rows.Scan(&jobID); err != nil {
			rows.Close()
			return nil, err
		}
		ids = append(ids, jobID)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, jobID := range ids {
		if _, err := tx.Exec(`UPDATE jobs SET status = 'cancelled', error_code = ?, error_message = ?, finished_at = ?, updated_at = ?
			WHERE id = ? AND status = 'queued'`, pressluft.EJobCancelled, reason, ts(tx.now), ts(tx.now), jobID); err != nil {
			return nil, err
		}
		if err := addEvent(tx, jobID, pressluft.JobEvent{Step: "cancelled", Level: pressluft.LevelWarn, Message: reason}); err != nil {
			return nil, err
		}
	}
	return ids, nil
}
