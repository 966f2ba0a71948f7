package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"

	"github.com/google/uuid"
	"github.com/pressluft/pressluft"
)

// PromotionService implements pressluft.PromotionService.
type PromotionService struct {
	db   *DB
	jobs *JobService
}

var _ pressluft.PromotionService = (*PromotionService)(nil)

// NewPromotionService returns a PromotionService; jobs are enqueued through js.
func NewPromotionService(db *DB, js *JobService) *PromotionService {
	return &PromotionService{db: db, jobs: js}
}

func noBaseline() error {
	return pressluft.Errorf(pressluft.EBaselineMissing,
		"This environment has no record of its source at copy time (it was copied by an earlier version); create a new staging environment to check drift.")
}

// FindBaseline returns the baseline of a copied environment.
func (s *PromotionService) FindBaseline(ctx context.Context, envID string) (*pressluft.Baseline, error) {
	b := &pressluft.Baseline{EnvironmentID: envID}
	var state, at string
	err := s.db.read.QueryRowContext(ctx, `SELECT source_environment_id, state, recorded_at FROM baselines WHERE environment_id = ?`, envID).
		Scan(&b.SourceEnvironmentID, &state, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, noBaseline()
	} else if err != nil {
		return nil, err
	}
	b.RecordedAt = parseTS(at)
	return b, json.Unmarshal([]byte(state), &b.State)
}

const driftColumns = `id, environment_id, source_environment_id, job_id, result, differences, checksums, baseline_at, created_at`

func scanDriftCheck(row interface{ Scan(...any) error }) (*pressluft.DriftCheck, error) {
	var d pressluft.DriftCheck
	var changes, sums, baselineAt, created string
	if err := row.Scan(&d.ID, &d.EnvironmentID, &d.SourceEnvironmentID, &d.JobID, &d.Result, &changes, &sums, &baselineAt, &created); err != nil {
		return nil, err
	}
	var extra struct {
		Protected   []string `json:"protected"`
		ContentHash string   `json:"content_hash"`
	}
	if err := json.Unmarshal([]byte(changes), &d.Changes); err != nil {
		return nil, err
	} else if err := json.Unmarshal([]byte(sums), &extra); err != nil {
		return nil, err
	}
	if d.Changes == nil {
		d.Changes = []pressluft.DriftChange{}
	}
	d.Protected, d.ContentHash = extra.Protected, extra.ContentHash
	d.BaselineAt, d.CreatedAt = parseTS(baselineAt), parseTS(created)
	return &d, nil
}

// FindDriftChecks lists an environment's drift checks, newest first (the
// last 50).
func (s *PromotionService) FindDriftChecks(ctx context.Context, envID string) ([]*pressluft.DriftCheck, error) {
	if _, err := findEnvByID(ctx, s.db.read, envID); err != nil {
		return nil, err
	}
	rows, err := s.db.read.QueryContext(ctx, `SELECT `+driftColumns+` FROM drift_checks WHERE environment_id = ?
		ORDER BY created_at DESC, id DESC LIMIT 50`, envID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*pressluft.DriftCheck{}
	for rows.Next() {
		d, err := scanDriftCheck(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// copiedEnv finds an active staging or clone environment with its source.
func copiedEnv(ctx context.Context, tx *Tx, envID string) (env, src *pressluft.Environment, err error) {
	if env, err = activeEnv(ctx, tx, envID); err != nil {
		return nil, nil, err
	} else if env.Type == pressluft.EnvProduction || env.SourceEnvironmentID == "" {
		return nil, nil, pressluft.Errorf(pressluft.EPromotionInvalid, "Production has no source: drift checks and promotions start from a staging or clone environment.")
	}
	src, err = findEnvByID(ctx, tx, env.SourceEnvironmentID)
	if pressluft.ErrorCode(err) == pressluft.ENotFound {
		return nil, nil, pressluft.Errorf(pressluft.EBaselineMissing, "The environment this one was copied from is gone.")
	}
	return env, src, err
}

// StartDriftCheck enqueues drift_check.
func (s *PromotionService) StartDriftCheck(ctx context.Context, envID string) (*pressluft.Job, error) {
	tx, err := s.db.BeginTx(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	env, _, err := copiedEnv(ctx, tx, envID)
	if err != nil {
		return nil, err
	}
	if err := tx.QueryRow(`SELECT 1 FROM baselines WHERE environment_id = ?`, env.ID).Scan(new(int)); errors.Is(err, sql.ErrNoRows) {
		return nil, noBaseline()
	} else if err != nil {
		return nil, err
	}
	j, err := enqueue(tx, pressluft.NewJob{Type: pressluft.JobDriftCheck, SiteID: env.SiteID, EnvironmentID: env.ID, NodeID: env.NodeID,
		UniqueKey: "drift:" + env.ID})
	if err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	s.jobs.notify()
	return j, nil
}

// Promote checks the gates and enqueues env_promote on the target. The
// job carries a release payload (its database snapshot, recorded now) and
// the source.
func (s *PromotionService) Promote(ctx context.Context, envID string, in pressluft.PromoteRequest) (*pressluft.Job, error) {
	if err := pressluft.ValidateID("target_environment_id", in.TargetEnvironmentID); err != nil {
		return nil, err
	}
	tx, err := s.db.BeginTx(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	src, err := findEnvByID(ctx, tx, envID)
	if err != nil {
		return nil, err
	}
	target, err := findEnvByID(ctx, tx, in.TargetEnvironmentID)
	if pressluft.ErrorCode(err) == pressluft.ENotFound {
		return nil, &pressluft.Error{Code: pressluft.ENotFound, Message: "Target environment not found.", Details: map[string]any{"field": "target_environment_id"}}
	} else if err != nil {
		return nil, err
	}
	switch {
	case src.Type == pressluft.EnvProduction:
		return nil, pressluft.Errorf(pressluft.EPromotionInvalid, "Promotions go to production, not from it: promote from a staging or clone environment.")
	case target.ID == src.ID:
		return nil, pressluft.Errorf(pressluft.EPromotionInvalid, "An environment cannot be promoted to itself.")
	case target.SiteID != src.SiteID:
		return nil, pressluft.Errorf(pressluft.EPromotionInvalid, "The target belongs to another site; promote to an environment of the same site.")
	case target.ID != src.SourceEnvironmentID:
		return nil, pressluft.Errorf(pressluft.EPromotionInvalid, "Promote to the environment this one was copied from: drift is only known against it.")
	case src.Status != pressluft.StatusActive:
		return nil, pressluft.Errorf(pressluft.EConflict, "The source environment is %s; it must be active.", src.Status)
	case target.Status != pressluft.StatusActive:
		return nil, pressluft.Errorf(pressluft.EConflict, "The target environment is %s; it must be active.", target.Status)
	}
	if err := checkDriftGate(tx, src); err != nil {
		return nil, err
	}
	if !in.BackupFirst {
		if err := checkBackupGate(tx, target); err != nil {
			return nil, err
		}
	}
	pl := &pressluft.ReleasePayload{Promote: &pressluft.PromotePayload{SourceEnvironmentID: src.ID}}
	j, err := enqueueChange(tx, target, pressluft.JobEnvPromote, pressluft.StatusPromoting, pl, func(j *pressluft.Job) error {
		if !in.BackupFirst {
			return nil
		}
		b, err := insertBackup(tx, target, pressluft.BackupScopeFull, pressluft.TriggerPrePromote, j.ID)
		if err == nil {
			pl.Promote.BackupID = b.ID
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	s.jobs.notify()
	return j, nil
}

// checkDriftGate refuses a promotion unless the source's latest drift
// check is clean and recent.
func checkDriftGate(tx *Tx, src *pressluft.Environment) error {
	var result, created string
	err := tx.QueryRow(`SELECT result, created_at FROM drift_checks WHERE environment_id = ? ORDER BY created_at DESC, id DESC LIMIT 1`, src.ID).
		Scan(&result, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return pressluft.Errorf(pressluft.EDriftNotClean, "No drift check has run on this environment; run one first.")
	} else if err != nil {
		return err
	}
	if result != pressluft.DriftClean {
		return pressluft.Errorf(pressluft.EDriftNotClean, "The latest drift check found changes on the target since this environment was copied; promoting would overwrite them. See the drift check, then recreate the environment or bring the changes over.")
	}
	if age := tx.now.Sub(parseTS(created)); age > pressluft.DriftFresh {
		return pressluft.Errorf(pressluft.EDriftNotClean, "The latest clean drift check is %d minutes old; run a new one (it must be at most %d minutes old).",
			int(age.Minutes()), int(pressluft.DriftFresh.Minutes()))
	}
	return nil
}

// checkBackupGate refuses a promotion unless the target has a completed
// full backup from the last hour.
func checkBackupGate(tx *Tx, target *pressluft.Environment) error {
	var n int
	if err := tx.QueryRow(`SELECT COUNT(*) FROM backups WHERE environment_id = ? AND scope = ? AND status = ? AND created_at >= ?`,
		target.ID, pressluft.BackupScopeFull, pressluft.BackupCompleted, ts(tx.now.Add(-pressluft.BackupFresh))).Scan(&n); err != nil {
		return err
	} else if n == 0 {
		return pressluft.Errorf(pressluft.EBackupNotFresh, "The target has no completed full backup from the last %d minutes; back it up first, or promote with backup_first.",
			int(pressluft.BackupFresh.Minutes()))
	}
	return nil
}

// Gates reports whether a promotion from envID would pass its gates now.
func (s *PromotionService) Gates(ctx context.Context, envID string) (*pressluft.PromotionGates, error) {
	tx, err := s.db.BeginTx(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	env, err := findEnvByID(ctx, tx, envID)
	if err != nil {
		return nil, err
	} else if env.Type == pressluft.EnvProduction || env.SourceEnvironmentID == "" {
		return nil, pressluft.Errorf(pressluft.EPromotionInvalid, "Promotions go to production, not from it: open a staging or clone environment.")
	}
	target, err := findEnvByID(ctx, tx, env.SourceEnvironmentID)
	if err != nil {
		return nil, err
	}
	g := &pressluft.PromotionGates{TargetEnvironmentID: target.ID, Preset: env.PromotionPreset, ProtectedTables: env.ProtectedTables,
		Protected: pressluft.ProtectedPatterns(env.PromotionPreset, env.ProtectedTables),
		Drift:     gate(checkDriftGate(tx, env), "The latest drift check is clean and recent."),
		Backup:    gate(checkBackupGate(tx, target), "The target has a full backup from the last hour.")}
	return g, nil
}

func gate(err error, ok string) pressluft.Gate {
	if err != nil {
		return pressluft.Gate{Code: pressluft.ErrorCode(err), Message: pressluft.ErrorMessage(err)}
	}
	return pressluft.Gate{OK: true, Message: ok}
}

// SetProtection sets what promotions from an environment leave alone.
func (s *PromotionService) SetProtection(ctx context.Context, envID string, in pressluft.Protection, known map[string]bool) (*pressluft.Environment, error) {
	if in.Tables == nil {
		in.Tables = []string{}
	}
	if err := in.Validate(known); err != nil {
		return nil, err
	}
	tx, err := s.db.BeginTx(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	env, err := findEnvByID(ctx, tx, envID)
	if err != nil {
		return nil, err
	} else if env.Type == pressluft.EnvProduction {
		return nil, pressluft.Errorf(pressluft.EPromotionInvalid, "Promotions go to production, not from it: set protection on a staging or clone environment.")
	}
	if _, err := tx.Exec(`UPDATE environments SET promotion_preset = ?, protected_tables = ?, updated_at = ? WHERE id = ?`,
		in.Preset, jsonList(in.Tables), ts(tx.now), envID); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	return findEnvByID(ctx, s.db.read, envID)
}

// recordBaseline replaces an environment's baseline.
func recordBaseline(tx *Tx, b *pressluft.Baseline) error {
	state, err := json.Marshal(b.State)
	if err != nil {
		return err
	}
	_, err = tx.Exec(`INSERT INTO baselines (environment_id, source_environment_id, state, recorded_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (environment_id) DO UPDATE SET source_environment_id = excluded.source_environment_id, state = excluded.state,
		recorded_at = excluded.recorded_at`, b.EnvironmentID, b.SourceEnvironmentID, string(state), ts(tx.now))
	if err != nil {
		return err
	}
	// A new baseline makes earlier checks moot.
	_, err = tx.Exec(`UPDATE environments SET drift_status = ?, updated_at = ? WHERE id = ?`, pressluft.DriftUnknown, ts(tx.now), b.EnvironmentID)
	return err
}

// recordDriftCheck stores a check and makes its result the environment's
// drift status.
func recordDriftCheck(tx *Tx, d *pressluft.DriftCheck) error {
	if d.ID == "" {
		d.ID = uuid.Must(uuid.NewV7()).String()
	}
	changes, err := json.Marshal(d.Changes)
	if err != nil {
		return err
	}
	sums, err := json.Marshal(map[string]any{"protected": d.Protected, "content_hash": d.ContentHash})
	if err != nil {
		return err
	}
	if _, err := tx.Exec(`INSERT INTO drift_checks (`+driftColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, d.ID, d.EnvironmentID,
		d.SourceEnvironmentID, d.JobID, d.Result, string(changes), string(sums), ts(d.BaselineAt), ts(tx.now)); err != nil {
		return err
	}
	_, err = tx.Exec(`UPDATE environments SET drift_status = ?, updated_at = ? WHERE id = ?`, d.Result, ts(tx.now), d.EnvironmentID)
	return err
}

// jsonList is a list as the JSON text columns hold it ("[]" for none).
func jsonList(items []string) string {
	if items == nil {
		items = []string{}
	}
	raw, _ := json.Marshal(items)
	return string(raw)
}
