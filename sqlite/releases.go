package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strconv"

	"github.com/pressluft/pressluft"
)

// ReleaseService implements pressluft.ReleaseService.
type ReleaseService struct {
	db   *DB
	jobs *JobService
	// NewKey makes a deploy key pair: the private key (OpenSSH PEM) and
	// its authorized_keys line.
	NewKey func() (private []byte, public string, err error)
}

var _ pressluft.ReleaseService = (*ReleaseService)(nil)

// NewReleaseService returns a ReleaseService; jobs are enqueued through js.
func NewReleaseService(db *DB, js *JobService) *ReleaseService {
	return &ReleaseService{db: db, jobs: js}
}

const releaseColumns = `id, environment_id, source, ref, path, health, size_bytes, snapshot_id, job_id, created_at`

func scanRelease(row interface{ Scan(...any) error }) (*pressluft.Release, error) {
	var r pressluft.Release
	var created string
	if err := row.Scan(&r.ID, &r.EnvironmentID, &r.Source, &r.Ref, &r.Path, &r.Health, &r.SizeBytes, &r.SnapshotID, &r.JobID, &created); err != nil {
		return nil, err
	}
	r.CreatedAt = parseTS(created)
	return &r, nil
}

// FindReleases lists an environment's releases, newest first.
func (s *ReleaseService) FindReleases(ctx context.Context, envID string) ([]*pressluft.Release, error) {
	env, err := findEnvByID(ctx, s.db.read, envID)
	if err != nil {
		return nil, err
	}
	return findReleases(ctx, s.db.read, env)
}

func findReleases(ctx context.Context, q querier, env *pressluft.Environment) ([]*pressluft.Release, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+releaseColumns+` FROM releases WHERE environment_id = ? ORDER BY created_at DESC, id DESC`, env.ID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*pressluft.Release{}
	for rows.Next() {
		r, err := scanRelease(rows)
		if err != nil {
			return nil, err
		}
		r.Current = r.ID == env.CurrentReleaseID
		out = append(out, r)
	}
	return out, rows.Err()
}

// FindReleaseByID returns one release.
func (s *ReleaseService) FindReleaseByID(ctx context.Context, id string) (*pressluft.Release, error) {
	r, err := scanRelease(s.db.read.QueryRowContext(ctx, `SELECT `+releaseColumns+` FROM releases WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, pressluft.Errorf(pressluft.ENotFound, "Release not found.")
	}
	return r, err
}

// Deploy enqueues env_deploy.
func (s *ReleaseService) Deploy(ctx context.Context, envID string, in pressluft.DeployRequest) (*pressluft.Job, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	return s.start(ctx, envID, pressluft.JobEnvDeploy, pressluft.StatusDeploying, &pressluft.ReleasePayload{Deploy: &in, Upload: in.Upload}, nil)
}

// Update enqueues env_update.
func (s *ReleaseService) Update(ctx context.Context, envID string, in pressluft.UpdateRequest) (*pressluft.Job, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	return s.start(ctx, envID, pressluft.JobEnvUpdate, pressluft.StatusUpdating, &pressluft.ReleasePayload{Update: &in}, nil)
}

// Rollback enqueues release_rollback to an earlier release of the
// environment, with the database snapshot taken when that release was
// replaced when asked for.
func (s *ReleaseService) Rollback(ctx context.Context, envID string, in pressluft.RollbackRequest) (*pressluft.Job, error) {
	if err := pressluft.ValidateID("release_id", in.ReleaseID); err != nil {
		return nil, err
	} else if in.RestoreDatabase == nil {
		return nil, pressluft.FieldError("restore_database", "restore_database must be given: true also restores the database snapshot taken when that release was replaced (content written since then is lost); false keeps the database as it is.")
	}
	pl := &pressluft.ReleasePayload{}
	pl.Rollback = &struct {
		ReleaseID         string `json:"release_id"`
		RestoreSnapshotID string `json:"restore_snapshot_id"`
	}{ReleaseID: in.ReleaseID}
	check := func(tx *Tx, env *pressluft.Environment) error {
		var created string
		err := tx.QueryRow(`SELECT created_at FROM releases WHERE id = ? AND environment_id = ?`, in.ReleaseID, env.ID).Scan(&created)
		if errors.Is(err, sql.ErrNoRows) {
			return pressluft.Errorf(pressluft.ENotFound, "The environment has no such release.")
		} else if err != nil {
			return err
		} else if in.ReleaseID == env.CurrentReleaseID {
			return pressluft.Errorf(pressluft.EConflict, "That release is the current one.")
		}
		if !*in.RestoreDatabase {
			return nil
		}
		// The snapshot was taken by the release that replaced this one.
		var snap, status string
		err = tx.QueryRow(`SELECT r.snapshot_id, COALESCE(b.status, '') FROM releases r LEFT JOIN backups b ON b.id = r.snapshot_id
			WHERE r.environment_id = ?1 AND (r.created_at > ?2 OR (r.created_at = ?2 AND r.id > ?3)) ORDER BY r.created_at, r.id LIMIT 1`,
			env.ID, created, in.ReleaseID).Scan(&snap, &status)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		} else if snap == "" || status != pressluft.BackupCompleted {
			return pressluft.Errorf(pressluft.ESnapshotUnavailable, "No database snapshot of that release is kept; roll back with restore_database false, or restore a backup.")
		}
		pl.Rollback.RestoreSnapshotID = snap
		return nil
	}
	return s.start(ctx, envID, pressluft.JobReleaseRollback, pressluft.StatusDeploying, pl, check)
}

// start marks an active environment and enqueues a release job with the
// database snapshot it takes first.
func (s *ReleaseService) start(ctx context.Context, envID, jobType, status string, pl *pressluft.ReleasePayload, check func(*Tx, *pressluft.Environment) error) (*pressluft.Job, error) {
	tx, err := s.db.BeginTx(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	env, err := activeEnv(ctx, tx, envID)
	if err != nil {
		return nil, err
	}
	if check != nil {
		if err := check(tx, env); err != nil {
			return nil, err
		}
	}
	j, err := enqueueChange(tx, env, jobType, status, pl, nil)
	if err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	s.jobs.notify()
	return j, nil
}

// enqueueChange marks env with status and enqueues a job of jobType that
// changes its release, with the database snapshot the job takes first
// (recorded now as a pending backup, so a retried job converges on it).
// more, when set, adds to the payload once the job exists.
func enqueueChange(tx *Tx, env *pressluft.Environment, jobType, status string, pl *pressluft.ReleasePayload, more func(*pressluft.Job) error) (*pressluft.Job, error) {
	if err := setEnvironmentStatus(tx, env.ID, status, ""); err != nil {
		return nil, err
	}
	j, err := enqueue(tx, pressluft.NewJob{Type: jobType, SiteID: env.SiteID, EnvironmentID: env.ID, NodeID: env.NodeID,
		RestoreStatus: pressluft.StatusActive})
	if err != nil {
		return nil, err
	}
	if more != nil {
		if err := more(j); err != nil {
			return nil, err
		}
	}
	snap, err := insertBackup(tx, env, pressluft.BackupScopeDB, pressluft.TriggerSnapshot, j.ID)
	if err != nil {
		return nil, err
	}
	pl.SnapshotID = snap.ID
	return j, setJobPayload(tx, j, pl)
}

// SetHealthPaths sets the paths checked besides the home page.
func (s *ReleaseService) SetHealthPaths(ctx context.Context, envID string, paths []string) (*pressluft.Environment, error) {
	if paths == nil {
		paths = []string{}
	}
	if err := pressluft.ValidateHealthPaths(paths); err != nil {
		return nil, err
	}
	raw, _ := json.Marshal(paths)
	tx, err := s.db.BeginTx(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	if res, err := tx.Exec(`UPDATE environments SET health_paths = ?, updated_at = ? WHERE id = ?`, string(raw), ts(tx.now), envID); err != nil {
		return nil, err
	} else if n, _ := res.RowsAffected(); n == 0 {
		return nil, pressluft.Errorf(pressluft.ENotFound, "Environment not found.")
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	return findEnvByID(ctx, s.db.read, envID)
}

// DeployKey returns the site's public deploy key, made at first use; its
// private half is a secret the deploy job hands to the node.
func (s *ReleaseService) DeployKey(ctx context.Context, siteID string) (string, error) {
	tx, err := s.db.BeginTx(ctx)
	if err != nil {
		return "", err
	}
	defer tx.Rollback()
	if _, err := findSiteByID(ctx, tx, siteID); err != nil {
		return "", err
	}
	pub, err := getSecret(tx, pressluft.SecretDeployKeyPublic(siteID))
	if err == nil {
		return string(pub), nil
	} else if pressluft.ErrorCode(err) != pressluft.ENotFound {
		return "", err
	}
	private, public, err := s.NewKey()
	if err != nil {
		return "", err
	}
	if err := putSecret(tx, pressluft.SecretDeployKey(siteID), private); err != nil {
		return "", err
	}
	if err := putSecret(tx, pressluft.SecretDeployKeyPublic(siteID), []byte(public)); err != nil {
		return "", err
	}
	return public, tx.Commit()
}

// ReleasesKeep reads the releases_keep setting.
func (s *ReleaseService) ReleasesKeep(ctx context.Context) (int, error) {
	v, err := settingValue(ctx, s.db.read, "releases_keep")
	if err != nil || v == "" {
		return defaultReleasesKeep, err
	}
	return strconv.Atoi(v)
}

// AllowPrivateSources reads the allow_private_sources setting.
func (s *ReleaseService) AllowPrivateSources(ctx context.Context) (bool, error) {
	v, err := settingValue(ctx, s.db.read, "allow_private_sources")
	return v == "true", err
}

func settingValue(ctx context.Context, q querier, key string) (string, error) {
	var v string
	err := q.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return v, err
}
