package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/pressluft/pressluft"
)

// EnqueueDue enqueues the periodic jobs whose time has come. Each schedule's
// row is read and moved on in the transaction that enqueues its run, and
// write transactions are serialised, so two processes calling this at once
// enqueue a period once. After downtime a schedule runs once, not once per
// missed period; while its previous run is still queued or running it is
// not enqueued again (the run's unique key).
func (s *JobService) EnqueueDue(ctx context.Context, periodic []pressluft.PeriodicJob) (int, error) {
	tx, err := s.db.BeginTx(ctx)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	enqueued := 0
	for _, p := range periodic {
		if p.Every <= 0 {
			continue
		}
		var next string
		err := tx.QueryRow(`SELECT next_run_at FROM periodic_jobs WHERE name = ?`, p.Name).Scan(&next)
		if errors.Is(err, sql.ErrNoRows) {
			// A new schedule runs at once, then every period.
			next = ts(tx.now)
			if _, err := tx.Exec(`INSERT INTO periodic_jobs (name, next_run_at, updated_at) VALUES (?, ?, ?)`, p.Name, next, ts(tx.now)); err != nil {
				return 0, err
			}
		} else if err != nil {
			return 0, err
		}
		due := parseTS(next)
		if due.After(tx.now) {
			continue
		}
		nj := p.Job
		nj.UniqueKey = "periodic:" + p.Name
		j, err := enqueue(tx, nj)
		if err != nil {
			return 0, err
		}
		if !j.Duplicate {
			enqueued++
		}
		if _, err := tx.Exec(`UPDATE periodic_jobs SET next_run_at = ?, last_job_id = ?, updated_at = ? WHERE name = ?`,
			ts(nextRun(due, p.Every, tx.now)), j.ID, ts(tx.now), p.Name); err != nil {
			return 0, err
		}
	}
	// Backup schedules are rows, not code: they are due in the same pass.
	n, err := enqueueScheduledBackups(tx)
	if err != nil {
		return 0, err
	}
	enqueued += n
	if err := tx.Commit(); err != nil {
		return 0, err
	}
	if enqueued > 0 {
		s.notify()
	}
	return enqueued, nil
}

// nextRun is the first time after now on the grid due + k·every: missed
// periods are skipped, not made up.
func nextRun(due time.Time, every time.Duration, now time.Time) time.Time {
	missed := now.Sub(due) / every
	return due.Add((missed + 1) * every)
}
