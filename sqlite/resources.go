package sqlite

import (
	"github.com/pressluft/pressluft"
)

// jobRef is what a terminal transition needs to know about a job.
type jobRef struct {
	typ, siteID, envID, nodeID string
}

func findJobRef(tx *Tx, id string) (jobRef, error) {
	var r jobRef
	err := tx.QueryRow(`SELECT type, site_id, environment_id, node_id FROM jobs WHERE id = ?`, id).Scan(&r.typ, &r.siteID, &r.envID, &r.nodeID)
	return r, err
}

// failResource marks the resource of a job that ended failed or cancelled,
// in the transaction that ends the job, so that no path (a worker's
// failure, a cancel of a queued job, a rescue) leaves a node provisioning
// or an environment creating forever. Reset recovers from failed.
func failResource(tx *Tx, r jobRef, code, message string) error {
	msg := code + ": " + message
	var err error
	switch r.typ {
	case pressluft.JobNodeProvision:
		_, err = tx.Exec(`UPDATE nodes SET status = 'failed', last_error = ?, updated_at = ? WHERE id = ?`, msg, ts(tx.now), r.nodeID)
		return err
	case pressluft.JobSiteCreate, pressluft.JobEnvCreate, pressluft.JobEnvDelete:
		_, err = tx.Exec(`UPDATE environments SET status = 'failed', last_error = ?, updated_at = ? WHERE id = ?`, msg, ts(tx.now), r.envID)
	case pressluft.JobSiteDelete:
		_, err = tx.Exec(`UPDATE environments SET status = 'failed', last_error = ?, updated_at = ? WHERE site_id = ?`, msg, ts(tx.now), r.siteID)
	default:
		return nil
	}
	if err != nil {
		return err
	}
	return deriveSiteStatus(tx, r.siteID)
}
