package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/google/uuid"
	"github.com/pressluft/pressluft"
)

// SiteService implements pressluft.SiteService.
type SiteService struct {
	db   *DB
	jobs *JobService
}

// NewSiteService returns a SiteService; jobs are enqueued through js.
func NewSiteService(db *DB, js *JobService) *SiteService { return &SiteService{db: db, jobs: js} }

const siteColumns = `id, name, slug, status, node_id, production_environment_id, created_at, updated_at`

func scanSite(row interface{ Scan(...any) error }) (*pressluft.Site, error) {
	var s pressluft.Site
	var created, updated string
	if err := row.Scan(&s.ID, &s.Name, &s.Slug, &s.Status, &s.NodeID, &s.ProductionEnvironmentID, &created, &updated); err != nil {
		return nil, err
	}
	s.CreatedAt, s.UpdatedAt = parseTS(created), parseTS(updated)
	return &s, nil
}

func findSiteByID(ctx context.Context, q rowQuerier, id string) (*pressluft.Site, error) {
	s, err := scanSite(q.QueryRowContext(ctx, `SELECT `+siteColumns+` FROM sites WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, pressluft.Errorf(pressluft.ENotFound, "Site not found.")
	}
	return s, err
}

// FindSiteByID returns one site.
func (s *SiteService) FindSiteByID(ctx context.Context, id string) (*pressluft.Site, error) {
	return findSiteByID(ctx, s.db.read, id)
}

// FindSites lists all sites by name.
func (s *SiteService) FindSites(ctx context.Context) ([]*pressluft.Site, error) {
	rows, err := s.db.read.QueryContext(ctx, `SELECT `+siteColumns+` FROM sites ORDER BY name, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	sites := []*pressluft.Site{}
	for rows.Next() {
		site, err := scanSite(rows)
		if err != nil {
			return nil, err
		}
		sites = append(sites, site)
	}
	return sites, rows.Err()
}

// CreateSite stores the site and its production environment, keeps the
// generated passwords as secrets and enqueues site_create, all in one
// transaction.
func (s *SiteService) CreateSite(ctx context.Context, in pressluft.SiteCreate) (*pressluft.SiteCreated, error) {
	in.Name, in.Title, in.AdminEmail = strings.TrimSpace(in.Name), strings.TrimSpace(in.Title), strings.TrimSpace(in.AdminEmail)
	site := &pressluft.Site{Name: in.Name, Slug: in.Slug, NodeID: in.NodeID}
	if err := site.Validate(); err != nil {
		return nil, err
	}
	if in.Title == "" {
		in.Title = in.Name
	} else if err := pressluft.ValidateName("title", in.Title); err != nil {
		return nil, err
	}
	if in.AdminEmail == "" {
		in.AdminEmail = pressluft.ActorName(ctx)
	}
	if err := pressluft.ValidateEmail("admin_email", in.AdminEmail); err != nil {
		return nil, err
	}

	tx, err := s.db.BeginTx(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	node, err := findNodeByID(ctx, tx, in.NodeID)
	if err != nil {
		return nil, err
	} else if node.Status != pressluft.NodeActive {
		return nil, &pressluft.Error{Code: pressluft.ENodeNotActive, Message: "Node is " + node.Status + "; provision it first.",
			Details: map[string]any{"field": "node_id"}}
	}
	preview, err := previewDomain(tx)
	if err != nil {
		return nil, err
	}

	site.ID, site.Status, site.CreatedAt, site.UpdatedAt = uuid.Must(uuid.NewV7()).String(), pressluft.StatusCreating, tx.now, tx.now
	env := &pressluft.Environment{ID: uuid.Must(uuid.NewV7()).String(), SiteID: site.ID, Name: "Production", Slug: pressluft.EnvProduction,
		Type: pressluft.EnvProduction, NodeID: node.ID, Status: pressluft.StatusCreating}
	site.ProductionEnvironmentID = env.ID
	if _, err := tx.Exec(`INSERT INTO sites (id, name, slug, status, node_id, production_environment_id, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, site.ID, site.Name, site.Slug, site.Status, site.NodeID, env.ID, ts(tx.now), ts(tx.now)); isUniqueViolation(err) {
		return nil, &pressluft.Error{Code: pressluft.EConflict, Message: "A site with this slug already exists.", Details: map[string]any{"field": "slug"}}
	} else if err != nil {
		return nil, err
	}
	if err := insertEnvironment(tx, site, node, env, preview); err != nil {
		return nil, err
	}

	created := &pressluft.SiteCreated{Site: site, Environment: env, AdminUser: "admin", AdminPassword: pressluft.NewPassword(24)}
	if err := putSecret(tx, pressluft.SecretAdminPassword(env.ID), []byte(created.AdminPassword)); err != nil {
		return nil, err
	}
	payload := pressluft.SiteCreatePayload{Title: in.Title, AdminUser: created.AdminUser, AdminEmail: in.AdminEmail}
	if created.Job, err = enqueue(tx, pressluft.NewJob{Type: pressluft.JobSiteCreate, SiteID: site.ID, EnvironmentID: env.ID,
		NodeID: node.ID, Payload: payload}); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	s.jobs.notify()
	return created, nil
}

// insertEnvironment stores env with its derived names and a fresh database
// password secret.
func insertEnvironment(tx *Tx, site *pressluft.Site, node *pressluft.Node, env *pressluft.Environment, previewDomain string) error {
	env.SystemName = pressluft.SystemNameFor(site.Slug, env.Slug)
	env.PreviewURL = pressluft.PreviewURL(env.SystemName, node.Host, previewDomain)
	env.DriftStatus, env.CreatedAt, env.UpdatedAt = "unknown", tx.now, tx.now
	if _, err := tx.Exec(`INSERT INTO environments (id, site_id, name, slug, type, node_id, source_environment_id, status, system_name,
		preview_url, promotion_preset, protected_tables, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		env.ID, env.SiteID, env.Name, env.Slug, env.Type, env.NodeID, env.SourceEnvironmentID, env.Status, env.SystemName,
		env.PreviewURL, env.PromotionPreset, jsonList(env.ProtectedTables), ts(tx.now), ts(tx.now)); isUniqueViolation(err) {
		return &pressluft.Error{Code: pressluft.EConflict, Message: "An environment with this slug already exists on this site or node.",
			Details: map[string]any{"field": "slug"}}
	} else if err != nil {
		return err
	}
	return putSecret(tx, pressluft.SecretDBPassword(env.ID), []byte(pressluft.NewPassword(32)))
}

// DeleteSite marks the site and all its environments deleting and enqueues
// site_delete.
func (s *SiteService) DeleteSite(ctx context.Context, id string) (*pressluft.Job, error) {
	tx, err := s.db.BeginTx(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	site, err := findSiteByID(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	if err := checkNoUnfinishedJobs(tx, "site_id", id); err != nil {
		return nil, err
	}
	// One status to return to when the node cannot be reached: active, when
	// every environment was (else they are marked failed, as on any failure).
	var notActive int
	if err := tx.QueryRow(`SELECT COUNT(*) FROM environments WHERE site_id = ? AND status <> 'active'`, id).Scan(&notActive); err != nil {
		return nil, err
	}
	restore := ""
	if notActive == 0 {
		restore = pressluft.StatusActive
	}
	if _, err := tx.Exec(`UPDATE environments SET status = 'deleting', updated_at = ? WHERE site_id = ?`, ts(tx.now), id); err != nil {
		return nil, err
	}
	if _, err := tx.Exec(`UPDATE sites SET status = 'deleting', updated_at = ? WHERE id = ?`, ts(tx.now), id); err != nil {
		return nil, err
	}
	return s.jobs.commitWithJob(tx, pressluft.NewJob{Type: pressluft.JobSiteDelete, SiteID: id, NodeID: site.NodeID, RestoreStatus: restore})
}

// checkNoUnfinishedJobs refuses a change while another job on the same
// resource is queued or running, so that a delete cannot overtake a create.
func checkNoUnfinishedJobs(tx *Tx, column, id string) error {
	var n int
	if err := tx.QueryRow(`SELECT COUNT(*) FROM jobs WHERE `+column+` = ? AND status IN ('queued', 'running')`, id).Scan(&n); err != nil {
		return err
	} else if n > 0 {
		return pressluft.Errorf(pressluft.EResourceBusy, "A job is still queued or running here; wait for it or cancel it first.")
	}
	return nil
}

// ResetSite brings a failed site back to active once none of its
// environments is failed or busy.
func (s *SiteService) ResetSite(ctx context.Context, id string) (*pressluft.Site, error) {
	tx, err := s.db.BeginTx(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	site, err := findSiteByID(ctx, tx, id)
	if err != nil {
		return nil, err
	} else if site.Status != pressluft.StatusFailed {
		return nil, pressluft.Errorf(pressluft.EResourceNotFailed, "Site is %s, not failed.", site.Status)
	}
	if err := checkNoUnfinishedJobs(tx, "site_id", id); err != nil {
		return nil, &pressluft.Error{Code: pressluft.EResetValidation, Message: pressluft.ErrorMessage(err)}
	}
	var bad int
	if err := tx.QueryRow(`SELECT COUNT(*) FROM environments WHERE site_id = ? AND status <> 'active'`, id).Scan(&bad); err != nil {
		return nil, err
	} else if bad > 0 {
		return nil, pressluft.Errorf(pressluft.EResetValidation, "%d environment(s) of this site are not active; reset or delete them first.", bad)
	}
	if _, err := tx.Exec(`UPDATE sites SET status = 'active', updated_at = ? WHERE id = ?`, ts(tx.now), id); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	return s.FindSiteByID(ctx, id)
}
