package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/pressluft/pressluft"
)

// Claim takes the oldest runnable job whose locks are free (see the lock
// scopes in pressluft.JobKind). The check and the claim are one UPDATE, so
// two workers can never both start conflicting work; waiting jobs simply
// stay queued.
func (s *JobService) Claim(ctx context.Context, workerID string, lease time.Duration) (*pressluft.Job, error) {
	now := s.db.Now()
	j, err := scanJob(s.db.write.QueryRowContext(ctx, `
		UPDATE jobs SET status = 'running', attempt = attempt + 1, worker_id = ?1, started_at = ?2,
			lease_expires_at = ?3, cancel_requested = 0, updated_at = ?2
		WHERE id = (
			SELECT j.id FROM jobs j
			WHERE j.status = 'queued' AND j.run_after <= ?2
			AND NOT EXISTS (
				SELECT 1 FROM jobs r WHERE r.status = 'running' AND (
					-- a site's work: its site is free, and no job holds its node alone
					(j.lock_scope = 'site' AND ((j.site_id <> '' AND r.site_id = j.site_id AND r.lock_scope = 'site')
						OR (j.node_id <> '' AND r.node_id = j.node_id AND r.lock_scope = 'node')))
					-- a node's configuration: nothing at all runs on the node
					OR (j.lock_scope = 'node' AND r.node_id = j.node_id AND r.lock_scope <> 'none'))
			)
			-- a node job waiting its turn is not overtaken by later site work
			AND NOT (j.lock_scope = 'site' AND j.node_id <> '' AND EXISTS (
				SELECT 1 FROM jobs q WHERE q.status = 'queued' AND q.lock_scope = 'node' AND q.node_id = j.node_id
				AND q.run_after <= ?2 AND q.id < j.id))
			ORDER BY j.run_after, j.id LIMIT 1
		) AND status = 'queued'
		RETURNING `+jobColumns,
		workerID, ts(now), ts(now.Add(lease))))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	msg := fmt.Sprintf("Started attempt %d of %d.", j.Attempt, j.MaxAttempts)
	if err := s.AddEvent(ctx, j.ID, pressluft.JobEvent{Step: "started", Level: pressluft.LevelInfo, Message: msg}); err != nil {
		return nil, err
	}
	return j, nil
}

// Heartbeat extends a running job's lease and reports a cancel request.
func (s *JobService) Heartbeat(ctx context.Context, id, workerID string, lease time.Duration) (bool, error) {
	now := s.db.Now()
	var cancel bool
	err := s.db.write.QueryRowContext(ctx, `UPDATE jobs SET lease_expires_at = ? WHERE id = ? AND worker_id = ? AND status = 'running'
		RETURNING cancel_requested`, ts(now.Add(lease)), id, workerID).Scan(&cancel)
	if errors.Is(err, sql.ErrNoRows) {
		// Another process rescued or finished it: this worker must stop.
		return true, nil
	}
	return cancel, err
}

// Complete marks a running job succeeded with its result and applies its
// domain changes in the same transaction.
func (s *JobService) Complete(ctx context.Context, id, workerID string, done *pressluft.JobDone) error {
	if done == nil {
		done = &pressluft.JobDone{}
	}
	body := []byte("{}")
	if done.Result != nil {
		var err error
		if body, err = json.Marshal(done.Result); err != nil {
			return err
		}
	}
	return s.finish(ctx, id, workerID, `status = 'succeeded', result = ?, error_code = '', error_message = ''`,
		pressluft.JobEvent{Step: "succeeded", Level: pressluft.LevelInfo, Message: "Job succeeded."},
		func(tx *Tx, ref jobRef) error { return applyDone(tx, ref, done) }, string(body))
}

// Fail records err on a running job: back to queued with a later run_after
// when retry is set and attempts remain, else failed. It returns the job's
// new status.
func (s *JobService) Fail(ctx context.Context, id, workerID string, jerr error, retry bool) (string, error) {
	tx, err := s.db.BeginTx(ctx)
	if err != nil {
		return "", err
	}
	defer tx.Rollback()
	var attempt, max int
	if err := tx.QueryRow(`SELECT attempt, max_attempts FROM jobs WHERE id = ? AND worker_id = ? AND status = 'running'`,
		id, workerID).Scan(&attempt, &max); errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("job %s is no longer running on this worker", id)
	} else if err != nil {
		return "", err
	}
	code, msg := pressluft.ErrorCode(jerr), pressluft.ErrorMessage(jerr)
	status := pressluft.JobFailed
	ref, err := findJobRef(tx, id)
	if err != nil {
		return "", err
	}
	if retry && attempt < max {
		status = pressluft.JobQueued
		runAfter := tx.now.Add(pressluft.RetryDelay(attempt))
		if _, err := tx.Exec(`UPDATE jobs SET status = 'queued', run_after = ?, worker_id = '', lease_expires_at = NULL,
			error_code = ?, error_message = ?, updated_at = ? WHERE id = ?`, ts(runAfter), code, msg, ts(tx.now), id); err != nil {
			return "", err
		}
		ev := fmt.Sprintf("Attempt %d failed (%s): %s Retrying at %s.", attempt, code, msg, runAfter.Format(time.RFC3339))
		if err := addEvent(tx, id, pressluft.JobEvent{Step: "retry", Level: pressluft.LevelWarn, Message: ev}); err != nil {
			return "", err
		}
	} else {
		// What this attempt left as it was, an earlier one stopped half way
		// (its worker lost, or shut down) may have changed.
		interrupted, err := wasInterrupted(tx, id)
		if err != nil {
			return "", err
		}
		untouched := code == pressluft.ENodeUnreachable && pressluft.IsUntouched(jerr) && ref.restore != "" && !interrupted
		rolledBack := pressluft.IsRolledBack(jerr) && ref.restore != "" && !interrupted
		if _, err := tx.Exec(`UPDATE jobs SET status = 'failed', worker_id = '', lease_expires_at = NULL, error_code = ?,
			error_message = ?, rolled_back = ?, finished_at = ?, updated_at = ? WHERE id = ?`, code, msg, rolledBack, ts(tx.now), ts(tx.now), id); err != nil {
			return "", err
		}
		ev := code + ": " + msg
		if untouched {
			ev += " Nothing ran on the node; what the job would have changed is as it was."
		} else if rolledBack {
			ev += " Rolled back: what the job changed was put back."
		}
		if err := addEvent(tx, id, pressluft.JobEvent{Step: "failed", Level: pressluft.LevelError, Message: ev}); err != nil {
			return "", err
		}
		if untouched || rolledBack {
			err = restoreResource(tx, ref, code, msg)
		} else {
			err = failResource(tx, ref, code, msg)
		}
		if err != nil {
			return "", err
		}
	}
	return status, tx.Commit()
}

// wasInterrupted reports whether an attempt of the job stopped half way:
// its worker was lost (rescued) or a shutdown handed it back (released).
func wasInterrupted(tx *Tx, id string) (bool, error) {
	var n int
	err := tx.QueryRow(`SELECT COUNT(*) FROM job_events WHERE job_id = ? AND step IN ('rescued', 'released')`, id).Scan(&n)
	return n > 0, err
}

// cancelledRunning is the message of a job stopped while it ran.
const cancelledRunning = "Cancelled while running; reset the resource before retrying."

// MarkCancelled ends a running job whose cancel was requested.
func (s *JobService) MarkCancelled(ctx context.Context, id, workerID string) error {
	return s.finish(ctx, id, workerID, `status = 'cancelled', error_code = ?, error_message = ?`,
		pressluft.JobEvent{Step: "cancelled", Level: pressluft.LevelWarn, Message: "Job cancelled; its process was stopped."},
		func(tx *Tx, ref jobRef) error {
			return failResource(tx, ref, pressluft.EJobCancelled, cancelledRunning)
		},
		pressluft.EJobCancelled, cancelledRunning)
}

// finish moves a running job to a final status and lets then record its
// effect on the job's resources, in one transaction.
func (s *JobService) finish(ctx context.Context, id, workerID, set string, ev pressluft.JobEvent, then func(*Tx, jobRef) error, args ...any) error {
	tx, err := s.db.BeginTx(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	args = append(args, ts(tx.now), ts(tx.now), id, workerID)
	res, err := tx.Exec(`UPDATE jobs SET `+set+`, worker_id = '', lease_expires_at = NULL, finished_at = ?, updated_at = ?
		WHERE id = ? AND worker_id = ? AND status = 'running'`, args...)
	if err != nil {
		return err
	} else if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("job %s is no longer running on this worker", id)
	}
	if err := addEvent(tx, id, ev); err != nil {
		return err
	}
	ref, err := findJobRef(tx, id)
	if err != nil {
		return err
	}
	if err := then(tx, ref); err != nil {
		return err
	}
	return tx.Commit()
}

// Release hands a running job back to the queue without using an attempt.
func (s *JobService) Release(ctx context.Context, id, workerID string) error {
	tx, err := s.db.BeginTx(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.Exec(`UPDATE jobs SET status = 'queued', attempt = attempt - 1, worker_id = '', lease_expires_at = NULL,
		run_after = ?, updated_at = ? WHERE id = ? AND worker_id = ? AND status = 'running'`, ts(tx.now), ts(tx.now), id, workerID); err != nil {
		return err
	}
	if err := addEvent(tx, id, pressluft.JobEvent{Step: "released", Level: pressluft.LevelWarn, Message: "Control plane shutting down; job handed back to the queue."}); err != nil {
		return err
	}
	return tx.Commit()
}

// Rescue finds running jobs whose lease expired (their worker died) and
// queues them again while attempts remain, else fails them.
func (s *JobService) Rescue(ctx context.Context) (int, error) {
	tx, err := s.db.BeginTx(ctx)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	rows, err := tx.Query(`SELECT id, attempt, max_attempts, cancel_requested FROM jobs WHERE status = 'running' AND lease_expires_at < ?`, ts(tx.now))
	if err != nil {
		return 0, err
	}
	type lost struct {
		id            string
		attempt, max  int
		cancelRequest bool
	}
	var found []lost
	for rows.Next() {
		var l lost
		if err := rows.Scan(&l.id, &l.attempt, &l.max, &l.cancelRequest); err != nil {
			rows.Close()
			return 0, err
		}
		found = append(found, l)
	}
	rows.Close()
	const msg = "The worker running this job stopped responding."
	for _, l := range found {
		var ev pressluft.JobEvent
		switch {
		case l.cancelRequest:
			_, err = tx.Exec(`UPDATE jobs SET status = 'cancelled', worker_id = '', lease_expires_at = NULL, error_code = ?, error_message = ?,
				finished_at = ?, updated_at = ? WHERE id = ?`, pressluft.EJobCancelled, msg, ts(tx.now), ts(tx.now), l.id)
			ev = pressluft.JobEvent{Step: "cancelled", Level: pressluft.LevelWarn, Message: msg + " Cancelled as requested."}
		case l.attempt < l.max:
			_, err = tx.Exec(`UPDATE jobs SET status = 'queued', worker_id = '', lease_expires_at = NULL, run_after = ?, error_code = ?,
				error_message = ?, updated_at = ? WHERE id = ?`, ts(tx.now.Add(pressluft.RetryDelay(l.attempt))), pressluft.EWorkerLost, msg, ts(tx.now), l.id)
			ev = pressluft.JobEvent{Step: "rescued", Level: pressluft.LevelWarn, Message: msg + " Queued for another attempt."}
		default:
			_, err = tx.Exec(`UPDATE jobs SET status = 'failed', worker_id = '', lease_expires_at = NULL, error_code = ?, error_message = ?,
				finished_at = ?, updated_at = ? WHERE id = ?`, pressluft.EWorkerLost, msg, ts(tx.now), ts(tx.now), l.id)
			ev = pressluft.JobEvent{Step: "failed", Level: pressluft.LevelError, Message: msg + " No attempts left."}
		}
		if err != nil {
			return 0, err
		}
		if err := addEvent(tx, l.id, ev); err != nil {
			return 0, err
		}
		if ev.Step == "rescued" {
			continue
		}
		ref, err := findJobRef(tx, l.id)
		if err != nil {
			return 0, err
		}
		if err := failResource(tx, ref, pressluft.EWorkerLost, msg); err != nil {
			return 0, err
		}
	}
	return len(found), tx.Commit()
}

// AddEvent appends a progress event to a job.
func (s *JobService) AddEvent(ctx context.Context, id string, ev pressluft.JobEvent) error {
	tx, err := s.db.BeginTx(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := addEvent(tx, id, ev); err != nil {
		return err
	}
	return tx.Commit()
}

// AppendOutput adds raw output to the job's tail, keeping the last
// outputTailMax bytes.
func (s *JobService) AppendOutput(ctx context.Context, id, text string) error {
	_, err := s.db.write.ExecContext(ctx, `UPDATE jobs SET output_tail = substr(output_tail || ?, -?) WHERE id = ?`, text, outputTailMax, id)
	return err
}
