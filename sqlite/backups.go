package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/pressluft/pressluft"
)

// BackupService implements pressluft.BackupService.
type BackupService struct {
	db   *DB
	jobs *JobService
}

var _ pressluft.BackupService = (*BackupService)(nil)

// NewBackupService returns a BackupService; jobs are enqueued through js.
func NewBackupService(db *DB, js *JobService) *BackupService { return &BackupService{db: db, jobs: js} }

// preRestoreKeep is how long the backup a restore takes first is kept, and
// a database snapshot that no kept release refers to (that of a change
// that was rolled back, or of a rollback).
const preRestoreKeep = 7 * 24 * time.Hour

const backupColumns = `id, environment_id, site_id, scope, status, trigger_kind, location, node_path, offsite_key, offsite_error,
	size_bytes, sha256, manifest, job_id, error, retention_until, created_at, completed_at`

func scanBackup(row interface{ Scan(...any) error }) (*pressluft.Backup, error) {
	var b pressluft.Backup
	var manifest, created string
	var retention, completed sql.NullString
	if err := row.Scan(&b.ID, &b.EnvironmentID, &b.SiteID, &b.Scope, &b.Status, &b.Trigger, &b.Location, &b.NodePath, &b.OffsiteKey,
		&b.OffsiteError, &b.SizeBytes, &b.SHA256, &manifest, &b.JobID, &b.Error, &retention, &created, &completed); err != nil {
		return nil, err
	}
	if manifest != "" {
		b.Manifest = new(pressluft.BackupManifest)
		if err := json.Unmarshal([]byte(manifest), b.Manifest); err != nil {
			return nil, err
		}
	}
	b.RetentionUntil, b.CreatedAt, b.CompletedAt = parseNullTS(retention), parseTS(created), parseNullTS(completed)
	return &b, nil
}

func findBackup(ctx context.Context, q rowQuerier, id string) (*pressluft.Backup, error) {
	b, err := scanBackup(q.QueryRowContext(ctx, `SELECT `+backupColumns+` FROM backups WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, pressluft.Errorf(pressluft.ENotFound, "Backup not found.")
	}
	return b, err
}

// FindBackupByID returns one backup.
func (s *BackupService) FindBackupByID(ctx context.Context, id string) (*pressluft.Backup, error) {
	return findBackup(ctx, s.db.read, id)
}

// FindBackups lists an environment's backups, newest first.
func (s *BackupService) FindBackups(ctx context.Context, envID string) ([]*pressluft.Backup, error) {
	if _, err := findEnvByID(ctx, s.db.read, envID); err != nil {
		return nil, err
	}
	return s.queryBackups(ctx, s.db.read, `WHERE environment_id = ? ORDER BY created_at DESC, id DESC`, envID)
}

func (s *BackupService) queryBackups(ctx context.Context, q querier, where string, args ...any) ([]*pressluft.Backup, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+backupColumns+` FROM backups `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*pressluft.Backup{}
	for rows.Next() {
		b, err := scanBackup(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// CreateBackup records a pending backup of an active environment and
// enqueues backup_create in one transaction.
func (s *BackupService) CreateBackup(ctx context.Context, envID, scope, trigger string) (*pressluft.Backup, *pressluft.Job, error) {
	if err := pressluft.ValidateBackupScope(scope); err != nil {
		return nil, nil, err
	}
	tx, err := s.db.BeginTx(ctx)
	if err != nil {
		return nil, nil, err
	}
	defer tx.Rollback()
	env, err := activeEnv(ctx, tx, envID)
	if err != nil {
		return nil, nil, err
	}
	j, err := enqueue(tx, pressluft.NewJob{Type: pressluft.JobBackupCreate, SiteID: env.SiteID, EnvironmentID: env.ID, NodeID: env.NodeID})
	if err != nil {
		return nil, nil, err
	}
	b, err := insertBackup(tx, env, scope, trigger, j.ID)
	if err != nil {
		return nil, nil, err
	}
	if err := setJobPayload(tx, j, map[string]string{"backup_id": b.ID}); err != nil {
		return nil, nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, nil, err
	}
	s.jobs.notify()
	return b, j, nil
}

func activeEnv(ctx context.Context, tx *Tx, envID string) (*pressluft.Environment, error) {
	env, err := findEnvByID(ctx, tx, envID)
	if err != nil {
		return nil, err
	} else if env.Status != pressluft.StatusActive {
		return nil, pressluft.Errorf(pressluft.EConflict, "Environment is %s; it must be active.", env.Status)
	}
	return env, nil
}

func insertBackup(tx *Tx, env *pressluft.Environment, scope, trigger, jobID string) (*pressluft.Backup, error) {
	b := &pressluft.Backup{ID: uuid.Must(uuid.NewV7()).String(), EnvironmentID: env.ID, SiteID: env.SiteID, Scope: scope,
		Status: pressluft.BackupPending, Trigger: trigger, JobID: jobID, CreatedAt: tx.now}
	if trigger == pressluft.TriggerPreRestore || trigger == pressluft.TriggerSnapshot {
		until := tx.now.Add(preRestoreKeep)
		b.RetentionUntil = &until
	}
	_, err := tx.Exec(`INSERT INTO backups (id, environment_id, site_id, scope, status, trigger_kind, job_id, retention_until, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, b.ID, b.EnvironmentID, b.SiteID, b.Scope, b.Status, b.Trigger, b.JobID,
		nullTS(b.RetentionUntil), ts(tx.now), ts(tx.now))
	return b, err
}

// setJobPayload sets the payload of a job enqueued in the same transaction
// (its payload names rows inserted after it).
func setJobPayload(tx *Tx, j *pressluft.Job, payload any) error {
	raw, err := json.Marshal(payload)
	if err != nil {
		return err
	}
	j.Payload = raw
	_, err = tx.Exec(`UPDATE jobs SET payload = ? WHERE id = ?`, string(raw), j.ID)
	return err
}

// restoreUsing counts the queued or running restores that read a backup.
func restoreUsing(tx *Tx, backupID string) (int, error) {
	var n int
	err := tx.QueryRow(`SELECT COUNT(*) FROM jobs WHERE type = ?1 AND status IN ('queued', 'running')
		AND (json_extract(payload, '$.backup_id') = ?2 OR json_extract(payload, '$.pre_backup_id') = ?2)`,
		pressluft.JobEnvRestore, backupID).Scan(&n)
	return n, err
}

// DeleteBackup enqueues the removal of a backup from its node and the
// offsite target. A backup a queued or running restore uses is refused.
func (s *BackupService) DeleteBackup(ctx context.Context, id string) (*pressluft.Job, error) {
	tx, err := s.db.BeginTx(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	b, err := findBackup(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	if n, err := restoreUsing(tx, id); err != nil {
		return nil, err
	} else if n > 0 {
		return nil, pressluft.Errorf(pressluft.EBackupInUse, "A queued or running restore uses this backup; wait for it or cancel it first.")
	}
	if b.Status == pressluft.BackupPending || b.Status == pressluft.BackupRunning {
		return nil, pressluft.Errorf(pressluft.EResourceBusy, "The backup is still being taken; cancel its job (%s) first.", b.JobID)
	}
	env, err := findEnvByID(ctx, tx, b.EnvironmentID)
	if err != nil {
		return nil, err
	}
	return s.jobs.commitWithJob(tx, pressluft.NewJob{Type: pressluft.JobBackupDelete, SiteID: env.SiteID, EnvironmentID: env.ID,
		NodeID: env.NodeID, Payload: map[string]string{"backup_id": id}, UniqueKey: "backup_delete:" + id})
}

// UploadBackup enqueues a new upload of a completed backup that has no
// offsite copy yet (after a failed upload, or once a target is set).
func (s *BackupService) UploadBackup(ctx context.Context, id string) (*pressluft.Job, error) {
	tx, err := s.db.BeginTx(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	b, err := findBackup(ctx, tx, id)
	if err != nil {
		return nil, err
	} else if b.Status != pressluft.BackupCompleted {
		return nil, pressluft.Errorf(pressluft.EConflict, "Backup is %s; only a completed backup is uploaded.", b.Status)
	} else if b.Location != pressluft.LocationNode {
		return nil, pressluft.Errorf(pressluft.EConflict, "Backup is already offsite.")
	}
	if _, err := offsiteTarget(tx); err != nil {
		return nil, err
	}
	env, err := findEnvByID(ctx, tx, b.EnvironmentID)
	if err != nil {
		return nil, err
	}
	return s.jobs.commitWithJob(tx, pressluft.NewJob{Type: pressluft.JobBackupUpload, SiteID: env.SiteID, EnvironmentID: env.ID,
		NodeID: env.NodeID, Payload: map[string]string{"backup_id": id}, UniqueKey: "backup_upload:" + id})
}

// RestoreEnvironment enqueues a restore of a completed backup of any
// environment of the same site into envID. The job takes a full backup of
// the target first; its row is made here so the job converges on it.
func (s *BackupService) RestoreEnvironment(ctx context.Context, envID, backupID string) (*pressluft.Job, error) {
	tx, err := s.db.BeginTx(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	env, err := activeEnv(ctx, tx, envID)
	if err != nil {
		return nil, err
	}
	b, err := findBackup(ctx, tx, backupID)
	if err != nil {
		return nil, err
	} else if b.SiteID != env.SiteID {
		// Another site's backup is not even acknowledged.
		return nil, pressluft.Errorf(pressluft.ENotFound, "Backup not found.")
	} else if b.Status != pressluft.BackupCompleted {
		return nil, pressluft.Errorf(pressluft.EConflict, "Backup is %s; only a completed backup can be restored.", b.Status)
	}
	var deleting int
	if err := tx.QueryRow(`SELECT COUNT(*) FROM jobs WHERE unique_key = ? AND status IN ('queued', 'running')`, "backup_delete:"+backupID).
		Scan(&deleting); err != nil {
		return nil, err
	} else if deleting > 0 {
		return nil, pressluft.Errorf(pressluft.EConflict, "The backup is being deleted.")
	}
	if _, err := tx.Exec(`UPDATE environments SET status = 'restoring', last_error = '', updated_at = ? WHERE id = ?`, ts(tx.now), env.ID); err != nil {
		return nil, err
	}
	if err := deriveSiteStatus(tx, env.SiteID); err != nil {
		return nil, err
	}
	j, err := enqueue(tx, pressluft.NewJob{Type: pressluft.JobEnvRestore, SiteID: env.SiteID, EnvironmentID: env.ID, NodeID: env.NodeID,
		RestoreStatus: pressluft.StatusActive})
	if err != nil {
		return nil, err
	}
	pre, err := insertBackup(tx, env, pressluft.BackupScopeFull, pressluft.TriggerPreRestore, j.ID)
	if err != nil {
		return nil, err
	}
	if err := setJobPayload(tx, j, map[string]string{"backup_id": backupID, "pre_backup_id": pre.ID}); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	s.jobs.notify()
	return j, nil
}

// StartBackup marks a pending backup running (a retried job finds it running).
func (s *BackupService) StartBackup(ctx context.Context, id string) error {
	return s.exec(ctx, `UPDATE backups SET status = 'running', error = '', updated_at = ?1 WHERE id = ?2 AND status IN ('pending', 'running')`, id)
}

// CompleteBackup records what the node reported about a finished backup.
func (s *BackupService) CompleteBackup(ctx context.Context, id string, f *pressluft.BackupFacts) error {
	manifest, err := json.Marshal(f.Manifest)
	if err != nil {
		return err
	}
	tx, err := s.db.BeginTx(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	res, err := tx.Exec(`UPDATE backups SET status = 'completed', location = 'node', node_path = ?, size_bytes = ?, sha256 = ?, manifest = ?,
		wp_version = ?, php_version = ?, completed_at = COALESCE(completed_at, ?), error = '', updated_at = ?
		WHERE id = ? AND status IN ('pending', 'running', 'completed')`, f.Path, f.Size, f.ManifestSHA256, string(manifest),
		f.Manifest.WPVersion, f.Manifest.PHPVersion, ts(tx.now), ts(tx.now), id)
	if err != nil {
		return err
	} else if n, _ := res.RowsAffected(); n == 0 {
		return pressluft.Errorf(pressluft.ENotFound, "Backup %s is gone or failed.", id)
	}
	return tx.Commit()
}

// SetBackupOffsite records an upload's outcome.
func (s *BackupService) SetBackupOffsite(ctx context.Context, id, key, errCode string) error {
	if errCode != "" {
		return s.exec(ctx, `UPDATE backups SET offsite_error = ?3, updated_at = ?1 WHERE id = ?2`, id, errCode)
	}
	return s.exec(ctx, `UPDATE backups SET offsite_key = ?3, offsite_error = '', updated_at = ?1,
		location = CASE location WHEN 'offsite' THEN 'offsite' ELSE 'both' END WHERE id = ?2`, id, key)
}

// DropLocalCopy records that only the offsite copy of a backup is left.
func (s *BackupService) DropLocalCopy(ctx context.Context, id string) error {
	return s.exec(ctx, `UPDATE backups SET location = 'offsite', node_path = '', updated_at = ?1 WHERE id = ?2 AND offsite_key <> ''`, id)
}

// RemoveBackup removes a backup's row once its copies are gone.
func (s *BackupService) RemoveBackup(ctx context.Context, id string) error {
	return s.exec(ctx, `DELETE FROM backups WHERE id = ?2 AND ?1 <> ''`, id)
}

// exec runs one statement with ?1 = now and ?2 = id, then extra args.
func (s *BackupService) exec(ctx context.Context, query, id string, args ...any) error {
	tx, err := s.db.BeginTx(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.Exec(query, append([]any{ts(tx.now), id}, args...)...); err != nil {
		return err
	}
	return tx.Commit()
}

// LocalCopiesBeyond returns the backups of an environment that are offsite
// and still on the node, past its newest keep.
func (s *BackupService) LocalCopiesBeyond(ctx context.Context, envID string, keep int) ([]*pressluft.Backup, error) {
	return s.queryBackups(ctx, s.db.read, `WHERE environment_id = ?1 AND status = 'completed' AND location = 'both'
		AND id NOT IN (SELECT id FROM backups WHERE environment_id = ?1 AND status = 'completed' AND location IN ('node', 'both')
			ORDER BY created_at DESC, id DESC LIMIT ?2)
		ORDER BY created_at`, envID, keep)
}

// ExpireBackups applies retention and returns every expired backup (those
// it expires now, and earlier ones whose removal has not finished). A
// scheduled backup is kept while it is one of its schedule's last keep_last
// or younger than keep_days; a backup with retention_until (taken before a
// restore) is kept until then. The newest completed backup of an
// environment is never expired.
func (s *BackupService) ExpireBackups(ctx context.Context) ([]*pressluft.Backup, error) {
	tx, err := s.db.BeginTx(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	rows, err := tx.Query(`SELECT b.id, b.created_at, b.retention_until, COALESCE(s.keep_last, 0), COALESCE(s.keep_days, 0),
			ROW_NUMBER() OVER (PARTITION BY b.environment_id, b.trigger_kind ORDER BY b.created_at DESC, b.id DESC),
			ROW_NUMBER() OVER (PARTITION BY b.environment_id ORDER BY b.created_at DESC, b.id DESC),
			b.trigger_kind
		FROM backups b LEFT JOIN backup_schedules s ON s.environment_id = b.environment_id
		WHERE b.status = 'completed' AND b.id NOT IN (SELECT snapshot_id FROM releases)`)
	if err != nil {
		return nil, err
	}
	var expire []string
	for rows.Next() {
		var id, created, trigger string
		var until sql.NullString
		var keepLast, keepDays, rank, newest int
		if err := rows.Scan(&id, &created, &until, &keepLast, &keepDays, &rank, &newest, &trigger); err != nil {
			rows.Close()
			return nil, err
		}
		if newest == 1 {
			continue
		}
		age := tx.now.Sub(parseTS(created))
		switch {
		case until.Valid && parseTS(until.String).Before(tx.now):
			expire = append(expire, id)
		case trigger == pressluft.TriggerSchedule && (keepLast > 0 || keepDays > 0):
			keptByCount := keepLast > 0 && rank <= keepLast
			keptByAge := keepDays > 0 && age < time.Duration(keepDays)*24*time.Hour
			if !keptByCount && !keptByAge {
				expire = append(expire, id)
			}
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, id := range expire {
		if _, err := tx.Exec(`UPDATE backups SET status = 'expired', updated_at = ? WHERE id = ?`, ts(tx.now), id); err != nil {
			return nil, err
		}
	}
	out, err := s.queryBackups(ctx, tx, `WHERE status = 'expired' ORDER BY created_at`)
	if err != nil {
		return nil, err
	}
	return out, tx.Commit()
}
