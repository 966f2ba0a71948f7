package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"

	"github.com/pressluft/pressluft"
)

const scheduleColumns = `environment_id, frequency, minute, hour, weekday, timezone, scope, keep_last, keep_days, next_run_at, last_job_id`

func scanSchedule(row interface{ Scan(...any) error }) (*pressluft.BackupSchedule, error) {
	var s pressluft.BackupSchedule
	var next string
	if err := row.Scan(&s.EnvironmentID, &s.Frequency, &s.Minute, &s.Hour, &s.Weekday, &s.Timezone, &s.Scope, &s.KeepLast, &s.KeepDays,
		&next, &s.LastJobID); err != nil {
		return nil, err
	}
	s.NextRunAt = parseTS(next)
	return &s, nil
}

// FindBackupSchedule returns an environment's schedule.
func (s *BackupService) FindBackupSchedule(ctx context.Context, envID string) (*pressluft.BackupSchedule, error) {
	if _, err := findEnvByID(ctx, s.db.read, envID); err != nil {
		return nil, err
	}
	sch, err := scanSchedule(s.db.read.QueryRowContext(ctx, `SELECT `+scheduleColumns+` FROM backup_schedules WHERE environment_id = ?`, envID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, pressluft.Errorf(pressluft.ENotFound, "The environment has no backup schedule.")
	}
	return sch, err
}

// PutBackupSchedule creates or replaces an environment's schedule; its
// next run is computed from now.
func (s *BackupService) PutBackupSchedule(ctx context.Context, sch *pressluft.BackupSchedule) (*pressluft.BackupSchedule, error) {
	if err := sch.Validate(); err != nil {
		return nil, err
	}
	tx, err := s.db.BeginTx(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	if _, err := findEnvByID(ctx, tx, sch.EnvironmentID); err != nil {
		return nil, err
	}
	sch.NextRunAt = sch.NextRun(tx.now)
	if _, err := tx.Exec(`INSERT INTO backup_schedules (`+scheduleColumns+`, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', ?, ?)
		ON CONFLICT (environment_id) DO UPDATE SET frequency = excluded.frequency, minute = excluded.minute, hour = excluded.hour,
			weekday = excluded.weekday, timezone = excluded.timezone, scope = excluded.scope, keep_last = excluded.keep_last,
			keep_days = excluded.keep_days, next_run_at = excluded.next_run_at, updated_at = excluded.updated_at`,
		sch.EnvironmentID, sch.Frequency, sch.Minute, sch.Hour, sch.Weekday, sch.Timezone, sch.Scope, sch.KeepLast, sch.KeepDays,
		ts(sch.NextRunAt), ts(tx.now), ts(tx.now)); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	return s.FindBackupSchedule(ctx, sch.EnvironmentID)
}

// DeleteBackupSchedule removes an environment's schedule; its backups stay.
func (s *BackupService) DeleteBackupSchedule(ctx context.Context, envID string) error {
	if _, err := s.FindBackupSchedule(ctx, envID); err != nil {
		return err
	}
	return s.exec(ctx, `DELETE FROM backup_schedules WHERE environment_id = ?2 AND ?1 <> ''`, envID)
}

// enqueueScheduledBackups enqueues a backup for each schedule that is due,
// in the caller's transaction, and moves the schedule to its next run: a
// period is enqueued once however many processes look, and once (not once
// per missed period) after downtime. An environment that is not active
// when its time comes skips that run.
func enqueueScheduledBackups(tx *Tx) (int, error) {
	rows, err := tx.Query(`SELECT `+scheduleColumns+` FROM backup_schedules WHERE next_run_at <= ?`, ts(tx.now))
	if err != nil {
		return 0, err
	}
	var due []*pressluft.BackupSchedule
	for rows.Next() {
		sch, err := scanSchedule(rows)
		if err != nil {
			rows.Close()
			return 0, err
		}
		due = append(due, sch)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	n := 0
	for _, sch := range due {
		jobID := sch.LastJobID
		env, err := findEnvByID(context.Background(), tx, sch.EnvironmentID)
		if err != nil {
			return 0, err
		}
		if env.Status == pressluft.StatusActive {
			j, err := enqueue(tx, pressluft.NewJob{Type: pressluft.JobBackupCreate, SiteID: env.SiteID, EnvironmentID: env.ID, NodeID: env.NodeID,
				UniqueKey: "backup_schedule:" + env.ID + ":" + ts(sch.NextRunAt)})
			if err != nil {
				return 0, err
			}
			if !j.Duplicate {
				b, err := insertBackup(tx, env, sch.Scope, pressluft.TriggerSchedule, j.ID)
				if err != nil {
					return 0, err
				}
				if err := setJobPayload(tx, j, map[string]string{"backup_id": b.ID}); err != nil {
					return 0, err
				}
				n++
			}
			jobID = j.ID
		}
		if _, err := tx.Exec(`UPDATE backup_schedules SET next_run_at = ?, last_job_id = ?, updated_at = ? WHERE environment_id = ?`,
			ts(sch.NextRun(tx.now)), jobID, ts(tx.now), sch.EnvironmentID); err != nil {
			return 0, err
		}
	}
	return n, nil
}

// Offsite settings keys; the secret key is the secret offsiteSecret.
const offsiteSecret = "settings/offsite_secret_key"

var offsiteKeys = []string{"offsite_endpoint", "offsite_use_tls", "offsite_region", "offsite_bucket", "offsite_prefix",
	"offsite_access_key", "offsite_keep_local"}

// Offsite returns the offsite target as settings show it, or nil.
func (s *BackupService) Offsite(ctx context.Context) (*pressluft.OffsiteSettings, error) {
	return offsiteSettings(ctx, s.db.read)
}

func offsiteSettings(ctx context.Context, q querier) (*pressluft.OffsiteSettings, error) {
	rows, err := q.QueryContext(ctx, `SELECT key, value FROM settings WHERE key LIKE 'offsite\_%' ESCAPE '\'`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	v := map[string]string{}
	for rows.Next() {
		var k, val string
		if err := rows.Scan(&k, &val); err != nil {
			return nil, err
		}
		v[k] = val
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if v["offsite_bucket"] == "" {
		return nil, nil
	}
	o := &pressluft.OffsiteSettings{OffsiteTarget: pressluft.OffsiteTarget{Endpoint: v["offsite_endpoint"], UseTLS: v["offsite_use_tls"] == "true",
		Region: v["offsite_region"], Bucket: v["offsite_bucket"], Prefix: v["offsite_prefix"], AccessKey: v["offsite_access_key"]}}
	o.KeepLocal, _ = strconv.Atoi(v["offsite_keep_local"])
	var n int
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM secrets WHERE name = ?`, offsiteSecret).Scan(&n); err != nil {
		return nil, err
	}
	o.SecretKeySet = n > 0
	return o, nil
}

// OffsiteTarget returns the target with its secret key.
func (s *BackupService) OffsiteTarget(ctx context.Context) (*pressluft.OffsiteTarget, error) {
	tx, err := s.db.BeginTx(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	t, err := offsiteTarget(tx)
	if pressluft.ErrorCode(err) == pressluft.EConflict {
		return nil, nil
	}
	return t, err
}

// offsiteTarget returns the configured target, or a conflict error naming
// what to do when there is none.
func offsiteTarget(tx *Tx) (*pressluft.OffsiteTarget, error) {
	o, err := offsiteSettings(context.Background(), tx)
	if err != nil {
		return nil, err
	} else if o == nil || !o.SecretKeySet {
		return nil, pressluft.Errorf(pressluft.EConflict, "No offsite target is set; set one in the settings first.")
	}
	secret, err := getSecret(tx, offsiteSecret)
	if err != nil {
		return nil, err
	}
	t := o.OffsiteTarget
	t.SecretKey = string(secret)
	return &t, nil
}

// PutOffsite validates and stores the offsite target.
func (s *BackupService) PutOffsite(ctx context.Context, u *pressluft.OffsiteUpdate) (*pressluft.OffsiteSettings, error) {
	if err := u.Validate(); err != nil {
		return nil, err
	}
	tx, err := s.db.BeginTx(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	if u.SecretKey == nil {
		var n int
		if err := tx.QueryRow(`SELECT COUNT(*) FROM secrets WHERE name = ?`, offsiteSecret).Scan(&n); err != nil {
			return nil, err
		} else if n == 0 {
			return nil, pressluft.FieldError("secret_key", "secret_key is required.")
		}
	} else if err := putSecret(tx, offsiteSecret, []byte(*u.SecretKey)); err != nil {
		return nil, err
	}
	vals := []string{u.Endpoint, strconv.FormatBool(u.UseTLS), u.Region, u.Bucket, u.Prefix, u.AccessKey, strconv.Itoa(u.KeepLocal)}
	for i, k := range offsiteKeys {
		if _, err := tx.Exec(`INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`, k, vals[i], ts(tx.now)); err != nil {
			return nil, err
		}
	}
	o, err := offsiteSettings(ctx, tx)
	if err != nil {
		return nil, err
	}
	return o, tx.Commit()
}

// DeleteOffsite removes the offsite target; copies already offsite stay
// where they are and are no longer read.
func (s *BackupService) DeleteOffsite(ctx context.Context) error {
	tx, err := s.db.BeginTx(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.Exec(`DELETE FROM settings WHERE key IN ('` + strings.Join(offsiteKeys, "', '") + `')`); err != nil {
		return err
	}
	if _, err := tx.Exec(`DELETE FROM secrets WHERE name = ?`, offsiteSecret); err != nil {
		return err
	}
	return tx.Commit()
}
