package sqlite

import (
	"database/sql"
	"errors"

	"github.com/pressluft/pressluft"
)

// jobRef is what a terminal transition needs to know about a job.
type jobRef struct {
	id, typ, siteID, envID, nodeID, restore string
}

func findJobRef(tx *Tx, id string) (jobRef, error) {
	r := jobRef{id: id}
	err := tx.QueryRow(`SELECT type, site_id, environment_id, node_id, restore_status FROM jobs WHERE id = ?`, id).
		Scan(&r.typ, &r.siteID, &r.envID, &r.nodeID, &r.restore)
	return r, err
}

// restoreResource puts back the status the job's resource had before the
// job, for a job that failed before anything ran on the node. A node that
// had been reachable is marked unreachable: the probes watch it and turn it
// active again when SSH answers.
func restoreResource(tx *Tx, r jobRef, code, message string) error {
	node := r.restore
	if node == pressluft.NodeActive {
		node = pressluft.NodeUnreachable
	}
	return markResource(tx, r, node, r.restore, code+": "+message)
}

// failResource marks what the job's kind says a failure leaves failed, in
// the transaction that ends the job, so that no path (a worker's failure, a
// cancel of a queued job, a rescue) leaves a node provisioning or an
// environment creating forever. Reset recovers from failed.
func failResource(tx *Tx, r jobRef, code, message string) error {
	return markResource(tx, r, pressluft.NodeFailed, pressluft.StatusFailed, code+": "+message)
}

// markResource sets the status of what the job's kind marks: its node, its
// environment, or every environment of its site.
func markResource(tx *Tx, r jobRef, nodeStatus, envStatus, lastError string) error {
	kind, _ := pressluft.KindOf(r.typ)
	// A backup the job did not complete fails with it, whatever the job's
	// kind (a restore takes one first): a half backup is never listed as
	// completed.
	if _, err := tx.Exec(`UPDATE backups SET status = 'failed', error = ?, updated_at = ? WHERE job_id = ? AND status IN ('pending', 'running')`,
		lastError, ts(tx.now), r.id); err != nil {
		return err
	}
	var err error
	switch kind.Marks {
	case pressluft.MarksNode:
		_, err = tx.Exec(`UPDATE nodes SET status = ?, last_error = ?, updated_at = ? WHERE id = ?`, nodeStatus, lastError, ts(tx.now), r.nodeID)
		return err
	case pressluft.MarksEnvironment:
		_, err = tx.Exec(`UPDATE environments SET status = ?, last_error = ?, updated_at = ? WHERE id = ?`, envStatus, lastError, ts(tx.now), r.envID)
	case pressluft.MarksSite:
		_, err = tx.Exec(`UPDATE environments SET status = ?, last_error = ?, updated_at = ? WHERE site_id = ?`, envStatus, lastError, ts(tx.now), r.siteID)
	case pressluft.MarksBackup:
		return nil // above
	default:
		return nil
	}
	if err != nil {
		return err
	}
	return deriveSiteStatus(tx, r.siteID)
}

// applyDone records a succeeded job's domain changes in the transaction
// that marks it succeeded.
func applyDone(tx *Tx, r jobRef, d *pressluft.JobDone) error {
	if d.Release != nil {
		if err := setCurrentRelease(tx, r.envID, d.Release); err != nil {
			return err
		}
	}
	if d.EnvironmentStatus != "" {
		if err := setEnvironmentStatus(tx, r.envID, d.EnvironmentStatus, ""); err != nil {
			return err
		}
	}
	for _, id := range d.PurgeEnvironments {
		if err := purgeEnvironment(tx, id); err != nil {
			return err
		}
	}
	for _, id := range d.PruneReleases {
		if _, err := tx.Exec(`DELETE FROM releases WHERE id = ? AND environment_id = ?`, id, r.envID); err != nil {
			return err
		}
	}
	for _, name := range d.DeleteSecrets {
		if _, err := tx.Exec(`DELETE FROM secrets WHERE name = ?`, name); err != nil {
			return err
		}
	}
	if f := d.NodeFacts; f != nil {
		if _, err := tx.Exec(`UPDATE nodes SET os_name = ?, os_version = ?, nginx_version = ?, php_version = ?,
			mariadb_version = ?, redis_version = ?, updated_at = ? WHERE id = ?`, f.OSName, f.OSVersion, f.NginxVersion, f.PHPVersion,
			f.MariaDBVersion, f.RedisVersion, ts(tx.now), r.nodeID); err != nil {
			return err
		}
	}
	if d.Baseline != nil {
		if err := recordBaseline(tx, d.Baseline); err != nil {
			return err
		}
	}
	if d.DriftCheck != nil {
		if err := recordDriftCheck(tx, d.DriftCheck); err != nil {
			return err
		}
	}
	if d.NodeStatus != "" {
		if _, err := tx.Exec(`UPDATE nodes SET status = ?, last_error = '', updated_at = ? WHERE id = ?`, d.NodeStatus, ts(tx.now), r.nodeID); err != nil {
			return err
		}
	}
	return nil
}

// setEnvironmentStatus records a status and derives the site's from it.
func setEnvironmentStatus(tx *Tx, id, status, lastError string) error {
	var siteID string
	if err := tx.QueryRow(`UPDATE environments SET status = ?, last_error = ?, updated_at = ? WHERE id = ? RETURNING site_id`,
		status, lastError, ts(tx.now), id).Scan(&siteID); errors.Is(err, sql.ErrNoRows) {
		return pressluft.Errorf(pressluft.ENotFound, "Environment not found.")
	} else if err != nil {
		return err
	}
	return deriveSiteStatus(tx, siteID)
}

// deriveSiteStatus makes a site's status follow its environments: a change
// in progress on any of them shows first, then a failure, else active.
func deriveSiteStatus(tx *Tx, siteID string) error {
	_, err := tx.Exec(`UPDATE sites SET updated_at = ?1, status = COALESCE(
		(SELECT status FROM environments WHERE site_id = ?2 AND status NOT IN ('active', 'failed', 'deleted') ORDER BY type <> 'production' LIMIT 1),
		(SELECT 'failed' FROM environments WHERE site_id = ?2 AND status = 'failed' LIMIT 1),
		'active') WHERE id = ?2`, ts(tx.now), siteID)
	return err
}

// setCurrentRelease records a release and points the environment at it.
func setCurrentRelease(tx *Tx, envID string, r *pressluft.Release) error {
	if r.CreatedAt.IsZero() {
		r.CreatedAt = tx.now
	}
	r.EnvironmentID = envID
	if _, err := tx.Exec(`INSERT INTO releases (id, environment_id, source, ref, path, health, size_bytes, snapshot_id, job_id, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`, r.ID, envID, r.Source, r.Ref, r.Path, r.Health, r.SizeBytes,
		r.SnapshotID, r.JobID, ts(r.CreatedAt)); err != nil {
		return err
	}
	_, err := tx.Exec(`UPDATE environments SET current_release_id = ?, updated_at = ? WHERE id = ?`, r.ID, ts(tx.now), envID)
	return err
}

// purgeEnvironment removes a deleted environment's row and secrets, and the
// site's row when no environment remains.
func purgeEnvironment(tx *Tx, id string) error {
	var siteID string
	if err := tx.QueryRow(`DELETE FROM environments WHERE id = ? RETURNING site_id`, id).Scan(&siteID); errors.Is(err, sql.ErrNoRows) {
		return nil
	} else if err != nil {
		return err
	}
	if _, err := tx.Exec(`DELETE FROM secrets WHERE name LIKE ?`, "env/"+id+"/%"); err != nil {
		return err
	}
	var left int
	if err := tx.QueryRow(`SELECT COUNT(*) FROM environments WHERE site_id = ?`, siteID).Scan(&left); err != nil {
		return err
	}
	if left == 0 {
		if _, err := tx.Exec(`DELETE FROM secrets WHERE name LIKE ?`, "site/"+siteID+"/%"); err != nil {
			return err
		}
		_, err := tx.Exec(`DELETE FROM sites WHERE id = ?`, siteID)
		return err
	}
	return deriveSiteStatus(tx, siteID)
}
