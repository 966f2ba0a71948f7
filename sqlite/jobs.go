package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/pressluft/pressluft"
)

// outputTailMax bounds the raw output kept per job.
const outputTailMax = 64 << 10

// JobService implements pressluft.JobService and pressluft.JobQueue.
type JobService struct {
	db *DB
	// Notify, when set, is called after a job is enqueued so that idle
	// workers in this process start at once instead of at their next poll.
	Notify func()
}

// NewJobService returns a JobService.
func NewJobService(db *DB) *JobService { return &JobService{db: db} }

const jobColumns = `id, type, status, site_id, environment_id, node_id, payload, result, attempt, max_attempts,
	run_after, timeout_seconds, cancel_requested, error_code, error_message, rolled_back, output_tail, created_at, started_at, finished_at, updated_at`

func scanJob(row interface{ Scan(...any) error }) (*pressluft.Job, error) {
	var j pressluft.Job
	var payload, result, runAfter, created, updated string
	var started, finished sql.NullString
	var timeout int64
	if err := row.Scan(&j.ID, &j.Type, &j.Status, &j.SiteID, &j.EnvironmentID, &j.NodeID, &payload, &result,
		&j.Attempt, &j.MaxAttempts, &runAfter, &timeout, &j.CancelRequest, &j.ErrorCode, &j.ErrorMessage, &j.RolledBack,
		&j.OutputTail, &created, &started, &finished, &updated); err != nil {
		return nil, err
	}
	j.Payload, j.Result = json.RawMessage(payload), json.RawMessage(result)
	j.RunAfter, j.CreatedAt, j.UpdatedAt = parseTS(runAfter), parseTS(created), parseTS(updated)
	j.StartedAt, j.FinishedAt = parseNullTS(started), parseNullTS(finished)
	j.Timeout = time.Duration(timeout) * time.Second
	return &j, nil
}

// Enqueue inserts a job in its own transaction.
func (s *JobService) Enqueue(ctx context.Context, nj pressluft.NewJob) (*pressluft.Job, error) {
	tx, err := s.db.BeginTx(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	return s.commitWithJob(tx, nj)
}

// commitWithJob enqueues nj in tx, commits the caller's change with it and
// wakes idle workers.
func (s *JobService) commitWithJob(tx *Tx, nj pressluft.NewJob) (*pressluft.Job, error) {
	j, err := enqueue(tx, nj)
	if err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	s.notify()
	return j, nil
}

func (s *JobService) notify() {
	if s.Notify != nil {
		s.Notify()
	}
}

// enqueue inserts a job inside the caller's transaction, so a domain change
// and the job that carries it out commit together or not at all.
func enqueue(tx *Tx, nj pressluft.NewJob) (*pressluft.Job, error) {
	kind, ok := pressluft.KindOf(nj.Type)
	if !ok {
		return nil, fmt.Errorf("enqueue: unknown job type %q", nj.Type)
	}
	if nj.UniqueKey != "" {
		j, err := scanJob(tx.QueryRow(`SELECT `+jobColumns+` FROM jobs WHERE unique_key = ? AND status IN ('queued', 'running')`, nj.UniqueKey))
		if err == nil {
			j.Duplicate = true
			return j, nil
		} else if !errors.Is(err, sql.ErrNoRows) {
			return nil, err
		}
	}
	payload := []byte("{}")
	if nj.Payload != nil {
		var err error
		if payload, err = json.Marshal(nj.Payload); err != nil {
			return nil, err
		}
	}
	j := &pressluft.Job{
		ID: uuid.Must(uuid.NewV7()).String(), Type: nj.Type, Status: pressluft.JobQueued,
		SiteID: nj.SiteID, EnvironmentID: nj.EnvironmentID, NodeID: nj.NodeID,
		Payload: payload, Result: json.RawMessage("{}"), MaxAttempts: cmp.Or(nj.MaxAttempts, kind.MaxAttempts, 3),
		RunAfter: nj.RunAfter, Timeout: cmp.Or(nj.Timeout, kind.Timeout).Round(time.Second),
		CreatedAt: tx.now, UpdatedAt: tx.now,
	}
	if j.RunAfter.IsZero() {
		j.RunAfter = tx.now
	}
	_, err := tx.Exec(`INSERT INTO jobs (id, type, status, site_id, environment_id, node_id, payload, max_attempts,
		run_after, timeout_seconds, lock_scope, unique_key, restore_status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		j.ID, j.Type, j.Status, j.SiteID, j.EnvironmentID, j.NodeID, string(payload), j.MaxAttempts,
		ts(j.RunAfter), int64(j.Timeout/time.Second), kind.Lock, nj.UniqueKey, nj.RestoreStatus, ts(tx.now), ts(tx.now))
	if err != nil {
		return nil, err
	}
	if err := addEvent(tx, j.ID, pressluft.JobEvent{Step: "queued", Level: pressluft.LevelInfo, Message: "Job queued."}); err != nil {
		return nil, err
	}
	return j, nil
}

// FindJobByID returns a job with its events.
func (s *JobService) FindJobByID(ctx context.Context, id string) (*pressluft.Job, error) {
	j, err := scanJob(s.db.read.QueryRowContext(ctx, `SELECT `+jobColumns+` FROM jobs WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, pressluft.Errorf(pressluft.ENotFound, "Job not found.")
	} else if err != nil {
		return nil, err
	}
	if j.Events, err = s.FindJobEvents(ctx, id, 0); err != nil {
		return nil, err
	}
	return j, nil
}

// FindJobs lists jobs newest first. Ids are UUIDv7, so they sort by creation
// time and serve as the paging cursor.
func (s *JobService) FindJobs(ctx context.Context, f pressluft.JobFilter) ([]*pressluft.Job, string, error) {
	where, args := []string{"1 = 1"}, []any{}
	for col, v := range map[string]string{"status": f.Status, "type": f.Type, "site_id": f.SiteID,
		"environment_id": f.EnvironmentID, "node_id": f.NodeID} {
		if v != "" {
			where, args = append(where, col+" = ?"), append(args, v)
		}
	}
	if f.Cursor != "" {
		where, args = append(where, "id < ?"), append(args, f.Cursor)
	}
	n := limit(f.Limit)
	rows, err := s.db.read.QueryContext(ctx, `SELECT `+jobColumns+` FROM jobs WHERE `+strings.Join(where, " AND ")+
		` ORDER BY id DESC LIMIT ?`, append(args, n+1)...)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	var jobs []*pressluft.Job
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, "", err
		}
		j.OutputTail = "" // lists stay small; the tail is in the detail view
		jobs = append(jobs, j)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	var next string
	if len(jobs) > n {
		jobs, next = jobs[:n], jobs[n-1].ID
	}
	return jobs, next, nil
}

// FindJobEvents returns a job's events after seq, in order.
func (s *JobService) FindJobEvents(ctx context.Context, id string, afterSeq int64) ([]*pressluft.JobEvent, error) {
	rows, err := s.db.read.QueryContext(ctx, `SELECT seq, job_id, step, level, message, time FROM job_events
		WHERE job_id = ? AND seq > ? ORDER BY seq`, id, afterSeq)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	events := []*pressluft.JobEvent{}
	for rows.Next() {
		var e pressluft.JobEvent
		var t string
		if err := rows.Scan(&e.Seq, &e.JobID, &e.Step, &e.Level, &e.Message, &t); err != nil {
			return nil, err
		}
		e.Time = parseTS(t)
		events = append(events, &e)
	}
	return events, rows.Err()
}

// CancelJob cancels a queued job at once and asks a running job's worker to
// stop it; finished jobs answer job_not_cancellable.
func (s *JobService) CancelJob(ctx context.Context, id string) (*pressluft.Job, error) {
	tx, err := s.db.BeginTx(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	j, err := scanJob(tx.QueryRow(`SELECT `+jobColumns+` FROM jobs WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, pressluft.Errorf(pressluft.ENotFound, "Job not found.")
	} else if err != nil {
		return nil, err
	}
	switch j.Status {
	case pressluft.JobQueued:
		// A queued job may be waiting for a retry after an attempt that
		// ran: only one that never started left its resource untouched.
		msg := "Cancelled before it started."
		if j.Attempt > 0 {
			msg = "Cancelled while waiting to be retried; reset the resource before trying again."
		}
		if _, err := tx.Exec(`UPDATE jobs SET status = 'cancelled', error_code = ?, error_message = ?, finished_at = ?, updated_at = ?
			WHERE id = ? AND status = 'queued'`, pressluft.EJobCancelled, msg, ts(tx.now), ts(tx.now), id); err != nil {
			return nil, err
		}
		if err := addEvent(tx, id, pressluft.JobEvent{Step: "cancelled", Level: pressluft.LevelWarn, Message: msg}); err != nil {
			return nil, err
		}
		ref, err := findJobRef(tx, id)
		if err != nil {
			return nil, err
		}
		// Nothing ran: the resource goes back to what it was, where that
		// is known; else reset recovers it.
		if ref.restore != "" && j.Attempt == 0 {
			err = markResource(tx, ref, ref.restore, ref.restore, pressluft.EJobCancelled+": "+msg)
		} else {
			err = failResource(tx, ref, pressluft.EJobCancelled, msg)
		}
		if err != nil {
			return nil, err
		}
	case pressluft.JobRunning:
		if _, err := tx.Exec(`UPDATE jobs SET cancel_requested = 1, updated_at = ? WHERE id = ? AND status = 'running'`, ts(tx.now), id); err != nil {
			return nil, err
		}
		if err := addEvent(tx, id, pressluft.JobEvent{Step: "cancel", Level: pressluft.LevelWarn, Message: "Cancel requested; stopping the running process."}); err != nil {
			return nil, err
		}
	default:
		return nil, pressluft.Errorf(pressluft.EJobNotCancellable, "Job is %s and can no longer be cancelled.", j.Status)
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	return s.FindJobByID(ctx, id)
}

func addEvent(tx *Tx, jobID string, ev pressluft.JobEvent) error {
	t := ev.Time
	if t.IsZero() {
		t = tx.now
	}
	_, err := tx.Exec(`INSERT INTO job_events (job_id, step, level, message, time) VALUES (?, ?, ?, ?, ?)`,
		jobID, ev.Step, ev.Level, ev.Message, ts(t))
	return err
}
