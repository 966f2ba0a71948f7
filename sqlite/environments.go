package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"

	"github.com/google/uuid"
	"github.com/pressluft/pressluft"
)

const envColumns = `id, site_id, name, slug, type, node_id, source_environment_id, status, system_name, preview_url,
	primary_domain, current_release_id, fastcgi_cache, object_cache, drift_status, promotion_preset, last_error, health_paths, protected_tables, created_at, updated_at`

func scanEnv(row interface{ Scan(...any) error }) (*pressluft.Environment, error) {
	var e pressluft.Environment
	var created, updated, healthPaths, protected string
	if err := row.Scan(&e.ID, &e.SiteID, &e.Name, &e.Slug, &e.Type, &e.NodeID, &e.SourceEnvironmentID, &e.Status, &e.SystemName,
		&e.PreviewURL, &e.PrimaryDomain, &e.CurrentReleaseID, &e.FastCGICache, &e.ObjectCache, &e.DriftStatus, &e.PromotionPreset,
		&e.LastError, &healthPaths, &protected, &created, &updated); err != nil {
		return nil, err
	}
	e.HealthPaths, e.ProtectedTables = []string{}, []string{}
	if err := json.Unmarshal([]byte(healthPaths), &e.HealthPaths); err != nil {
		return nil, err
	} else if err := json.Unmarshal([]byte(protected), &e.ProtectedTables); err != nil {
		return nil, err
	}
	e.CreatedAt, e.UpdatedAt = parseTS(created), parseTS(updated)
	return &e, nil
}

func findEnvByID(ctx context.Context, q rowQuerier, id string) (*pressluft.Environment, error) {
	e, err := scanEnv(q.QueryRowContext(ctx, `SELECT `+envColumns+` FROM environments WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, pressluft.Errorf(pressluft.ENotFound, "Environment not found.")
	}
	return e, err
}

// FindEnvironmentByID returns one environment.
func (s *SiteService) FindEnvironmentByID(ctx context.Context, id string) (*pressluft.Environment, error) {
	return findEnvByID(ctx, s.db.read, id)
}

// FindEnvironments lists a site's environments, production first.
func (s *SiteService) FindEnvironments(ctx context.Context, siteID string) ([]*pressluft.Environment, error) {
	if _, err := s.FindSiteByID(ctx, siteID); err != nil {
		return nil, err
	}
	rows, err := s.db.read.QueryContext(ctx, `SELECT `+envColumns+` FROM environments WHERE site_id = ?
		ORDER BY type <> 'production', created_at, id`, siteID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	envs := []*pressluft.Environment{}
	for rows.Next() {
		e, err := scanEnv(rows)
		if err != nil {
			return nil, err
		}
		envs = append(envs, e)
	}
	return envs, rows.Err()
}

// CreateEnvironment adds a staging or clone environment copied from another
// environment of the same site, on the source's node.
func (s *SiteService) CreateEnvironment(ctx context.Context, siteID string, in pressluft.EnvironmentCreate) (*pressluft.Environment, *pressluft.Job, error) {
	env := &pressluft.Environment{Name: strings.TrimSpace(in.Name), Slug: in.Slug, Type: in.Type, PromotionPreset: in.PromotionPreset,
		ProtectedTables: in.ProtectedTables, SourceEnvironmentID: in.SourceEnvironmentID, Status: pressluft.StatusCreating}
	if env.ProtectedTables == nil {
		env.ProtectedTables = []string{}
	}
	if err := env.Validate(); err != nil {
		return nil, nil, err
	} else if env.Type == pressluft.EnvProduction {
		return nil, nil, pressluft.FieldError("type", "type must be staging or clone; a site has one production environment.")
	} else if err := pressluft.ValidateID("source_environment_id", in.SourceEnvironmentID); err != nil {
		return nil, nil, err
	}
	if env.PromotionPreset == "" && env.Type == pressluft.EnvStaging {
		env.PromotionPreset = pressluft.PresetContent
	}
	if len(env.ProtectedTables) > 0 {
		p := pressluft.Protection{Preset: env.PromotionPreset, Tables: env.ProtectedTables}
		if err := p.Validate(nil); err != nil { // existence: checked against the source by the caller
			return nil, nil, err
		}
	}
	tx, err := s.db.BeginTx(ctx)
	if err != nil {
		return nil, nil, err
	}
	defer tx.Rollback()
	site, err := findSiteByID(ctx, tx, siteID)
	if err != nil {
		return nil, nil, err
	}
	src, err := findEnvByID(ctx, tx, in.SourceEnvironmentID)
	if pressluft.ErrorCode(err) == pressluft.ENotFound {
		return nil, nil, &pressluft.Error{Code: pressluft.ENotFound, Message: "Source environment not found.", Details: map[string]any{"field": "source_environment_id"}}
	} else if err != nil {
		return nil, nil, err
	} else if src.SiteID != site.ID {
		return nil, nil, &pressluft.Error{Code: pressluft.ESourceMismatch, Message: "Source environment belongs to another site.",
			Details: map[string]any{"field": "source_environment_id"}}
	} else if src.Status != pressluft.StatusActive {
		return nil, nil, pressluft.Errorf(pressluft.EConflict, "Source environment is %s; it must be active to be copied.", src.Status)
	}
	node, err := findNodeByID(ctx, tx, src.NodeID)
	if err != nil {
		return nil, nil, err
	} else if node.Status != pressluft.NodeActive {
		return nil, nil, pressluft.Errorf(pressluft.ENodeNotActive, "Node is %s.", node.Status)
	}
	preview, err := previewDomain(tx)
	if err != nil {
		return nil, nil, err
	}
	env.ID, env.SiteID, env.NodeID = uuid.Must(uuid.NewV7()).String(), site.ID, node.ID
	if err := insertEnvironment(tx, site, node, env, preview); err != nil {
		return nil, nil, err
	}
	if err := deriveSiteStatus(tx, site.ID); err != nil {
		return nil, nil, err
	}
	j, err := enqueue(tx, pressluft.NewJob{Type: pressluft.JobEnvCreate, SiteID: site.ID, EnvironmentID: env.ID, NodeID: node.ID})
	if err != nil {
		return nil, nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, nil, err
	}
	s.jobs.notify()
	return env, j, nil
}

// DeleteEnvironment marks a staging or clone environment deleting and
// enqueues env_delete. Production goes with its site.
func (s *SiteService) DeleteEnvironment(ctx context.Context, id string) (*pressluft.Job, error) {
	tx, err := s.db.BeginTx(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	env, err := findEnvByID(ctx, tx, id)
	if err != nil {
		return nil, err
	} else if env.Type == pressluft.EnvProduction {
		return nil, pressluft.Errorf(pressluft.EConflict, "The production environment is deleted with its site.")
	}
	if err := checkNoUnfinishedJobs(tx, "site_id", env.SiteID); err != nil {
		return nil, err
	}
	if _, err := tx.Exec(`UPDATE environments SET status = 'deleting', updated_at = ? WHERE id = ?`, ts(tx.now), id); err != nil {
		return nil, err
	}
	if err := deriveSiteStatus(tx, env.SiteID); err != nil {
		return nil, err
	}
	return s.jobs.commitWithJob(tx, pressluft.NewJob{Type: pressluft.JobEnvDelete, SiteID: env.SiteID, EnvironmentID: id, NodeID: env.NodeID,
		RestoreStatus: env.Status})
}

// ResetEnvironment brings a failed environment back to active once nothing
// runs on its site, its node is active and it has a release to serve.
func (s *SiteService) ResetEnvironment(ctx context.Context, id string) (*pressluft.Environment, error) {
	tx, err := s.db.BeginTx(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	env, err := findEnvByID(ctx, tx, id)
	if err != nil {
		return nil, err
	} else if env.Status != pressluft.StatusFailed {
		return nil, pressluft.Errorf(pressluft.EResourceNotFailed, "Environment is %s, not failed.", env.Status)
	}
	if err := checkNoUnfinishedJobs(tx, "site_id", env.SiteID); err != nil {
		return nil, &pressluft.Error{Code: pressluft.EResetValidation, Message: pressluft.ErrorMessage(err)}
	}
	var nodeStatus string
	if err := tx.QueryRow(`SELECT status FROM nodes WHERE id = ?`, env.NodeID).Scan(&nodeStatus); err != nil {
		return nil, err
	} else if nodeStatus != pressluft.NodeActive {
		return nil, pressluft.Errorf(pressluft.EResetValidation, "Node is %s; it must be active.", nodeStatus)
	} else if env.CurrentReleaseID == "" {
		return nil, pressluft.Errorf(pressluft.EResetValidation, "Environment was never created completely; delete it and create it again.")
	}
	if _, err := tx.Exec(`UPDATE environments SET status = 'active', last_error = '', updated_at = ? WHERE id = ?`, ts(tx.now), id); err != nil {
		return nil, err
	}
	if err := deriveSiteStatus(tx, env.SiteID); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	return s.FindEnvironmentByID(ctx, id)
}

// SetEnvironmentStatus records a status set outside a job's end.
func (s *SiteService) SetEnvironmentStatus(ctx context.Context, id, status, lastError string) error {
	tx, err := s.db.BeginTx(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := setEnvironmentStatus(tx, id, status, lastError); err != nil {
		return err
	}
	return tx.Commit()
}

// SetCurrentRelease records a release outside a job's end.
func (s *SiteService) SetCurrentRelease(ctx context.Context, envID string, r *pressluft.Release) error {
	tx, err := s.db.BeginTx(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := setCurrentRelease(tx, envID, r); err != nil {
		return err
	}
	return tx.Commit()
}
