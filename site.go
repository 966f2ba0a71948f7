package pressluft

import (
	"context"
	"path"
	"strings"
	"time"
)

// Site and environment statuses.
const (
	StatusCreating  = "creating"
	StatusActive    = "active"
	StatusFailed    = "failed"
	StatusDeploying = "deploying"
	StatusUpdating  = "updating"
	StatusRestoring = "restoring"
	StatusPromoting = "promoting"
	StatusCloning   = "cloning"
	StatusDeleting  = "deleting"
	StatusDeleted   = "deleted"
)

// Environment types.
const (
	EnvProduction = "production"
	EnvStaging    = "staging"
	EnvClone      = "clone"
)

// Slug limits keep "<site>-<env>" within Linux's 32-character user names.
const (
	MaxSiteSlug = 20
	MaxEnvSlug  = 10
)

// Site is a WordPress site with one production environment and any number of
// staging and clone environments.
type Site struct {
	ID                      string    `json:"id"`
	Name                    string    `json:"name"`
	Slug                    string    `json:"slug"`
	Status                  string    `json:"status"`
	NodeID                  string    `json:"node_id"`
	ProductionEnvironmentID string    `json:"production_environment_id"`
	CreatedAt               time.Time `json:"created_at"`
	UpdatedAt               time.Time `json:"updated_at"`
}

// Validate checks the fields a user supplies.
func (s *Site) Validate() error {
	if err := ValidateName("name", s.Name); err != nil {
		return err
	} else if err := ValidateSlug("slug", s.Slug, MaxSiteSlug); err != nil {
		return err
	} else if err := ValidateID("node_id", s.NodeID); err != nil {
		return err
	}
	return nil
}

// Environment is one isolated copy of a site on a node.
type Environment struct {
	ID                  string `json:"id"`
	SiteID              string `json:"site_id"`
	Name                string `json:"name"`
	Slug                string `json:"slug"`
	Type                string `json:"type"`
	NodeID              string `json:"node_id"`
	SourceEnvironmentID string `json:"source_environment_id"`
	Status              string `json:"status"`
	SystemName          string `json:"system_name"`
	PreviewURL          string `json:"preview_url"`
	PrimaryDomain       string `json:"primary_domain"`
	CurrentReleaseID    string `json:"current_release_id"`
	FastCGICache        bool   `json:"fastcgi_cache"`
	ObjectCache         bool   `json:"object_cache"`
	DriftStatus         string `json:"drift_status"`
	PromotionPreset     string `json:"promotion_preset"`
	// ProtectedTables are tables a promotion from this environment leaves
	// alone besides the preset's (with PresetCustom, the only ones).
	ProtectedTables []string `json:"protected_tables"`
	LastError       string   `json:"last_error"`
	// HealthPaths are checked besides the home page after a deploy, an
	// update or a rollback.
	HealthPaths []string  `json:"health_paths"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// Validate checks the fields a user supplies for a new environment.
func (e *Environment) Validate() error {
	if err := ValidateName("name", e.Name); err != nil {
		return err
	} else if err := ValidateSlug("slug", e.Slug, MaxEnvSlug); err != nil {
		return err
	}
	switch e.Type {
	case EnvProduction, EnvStaging, EnvClone:
	default:
		return FieldError("type", "type must be staging or clone.")
	}
	switch e.PromotionPreset {
	case "", PresetContent, PresetCommerce, PresetCustom:
	default:
		return FieldError("promotion_preset", "promotion_preset must be content-protect, commerce-protect or custom.")
	}
	return nil
}

// SystemNameFor is the name an environment carries on its node: its Linux
// user, PHP-FPM pool, vhost and directory. The database name is derived
// from it with dashes turned into underscores.
func SystemNameFor(siteSlug, envSlug string) string {
	return siteSlug + "-" + envSlug
}

// DatabaseName is the MariaDB database and user name of an environment.
func (e *Environment) DatabaseName() string {
	return strings.ReplaceAll(e.SystemName, "-", "_")
}

// Root is the environment's directory on its node.
func (e *Environment) Root() string {
	return "/srv/pressluft/" + e.SystemName
}

// PreviewHost returns the host name of an environment's preview URL: under
// the preview domain when one is configured, else under sslip.io with the
// node's address.
func PreviewHost(systemName, nodeHost, previewDomain string) string {
	if previewDomain != "" {
		return systemName + "." + previewDomain
	}
	return systemName + "." + strings.NewReplacer(".", "-", ":", "-").Replace(nodeHost) + ".sslip.io"
}

// PreviewURL is an environment's preview URL: https under the preview
// domain (a wildcard certificate), else plain http under sslip.io.
func PreviewURL(systemName, nodeHost, previewDomain string) string {
	if previewDomain != "" {
		return "https://" + PreviewHost(systemName, nodeHost, previewDomain)
	}
	return "http://" + PreviewHost(systemName, nodeHost, previewDomain)
}

// SiteCreate is what POST /api/sites asks for.
type SiteCreate struct {
	Name       string `json:"name"`
	Slug       string `json:"slug"`
	NodeID     string `json:"node_id"`
	Title      string `json:"title"`
	AdminEmail string `json:"admin_email"`
}

// SiteCreated is the answer to a site creation: the admin password is
// returned here once and kept only encrypted until the job has used it.
type SiteCreated struct {
	Site          *Site        `json:"site"`
	Environment   *Environment `json:"environment"`
	Job           *Job         `json:"-"`
	AdminUser     string       `json:"admin_user"`
	AdminPassword string       `json:"admin_password"`
}

// EnvironmentCreate is what POST /api/sites/{id}/environments asks for.
type EnvironmentCreate struct {
	Name                string `json:"name"`
	Slug                string `json:"slug"`
	Type                string `json:"type"`
	SourceEnvironmentID string `json:"source_environment_id"`
	PromotionPreset     string `json:"promotion_preset"`
	// ProtectedTables must exist in the source (names without *).
	ProtectedTables []string `json:"protected_tables"`
}

// SiteService stores sites and environments and starts the jobs that change them.
type SiteService interface {
	FindSiteByID(ctx context.Context, id string) (*Site, error)
	FindSites(ctx context.Context) ([]*Site, error)
	CreateSite(ctx context.Context, in SiteCreate) (*SiteCreated, error)
	DeleteSite(ctx context.Context, id string) (*Job, error)
	ResetSite(ctx context.Context, id string) (*Site, error)
	// ForgetSite removes a site whose node is gone from the control plane,
	// without contacting the node.
	ForgetSite(ctx context.Context, id string) (*Forgotten, error)

	FindEnvironmentByID(ctx context.Context, id string) (*Environment, error)
	FindEnvironments(ctx context.Context, siteID string) ([]*Environment, error)
	CreateEnvironment(ctx context.Context, siteID string, in EnvironmentCreate) (*Environment, *Job, error)
	DeleteEnvironment(ctx context.Context, id string) (*Job, error)
	ResetEnvironment(ctx context.Context, id string) (*Environment, error)
	// ForgetEnvironment removes a staging or clone environment whose node is
	// gone from the control plane, without contacting the node.
	ForgetEnvironment(ctx context.Context, id string) (*Forgotten, error)

	// SetEnvironmentStatus records a status and derives the site's status
	// from its environments. (A job's own outcome is recorded by JobDone.)
	SetEnvironmentStatus(ctx context.Context, id, status, lastError string) error
	// SetCurrentRelease records a release that a failing job switched to
	// (a rollback), which its end cannot record.
	SetCurrentRelease(ctx context.Context, envID string, r *Release) error
}

// Release sources and health values.
const (
	ReleaseInitial = "initial"
	ReleaseRestore = "restore" // written by a restore from a backup
	HealthUnknown  = "unknown"
	HealthHealthy  = "healthy"
)

// Release is one immutable WordPress tree of an environment.
type Release struct {
	ID            string `json:"id"`
	EnvironmentID string `json:"environment_id"`
	Source        string `json:"source"`
	Ref           string `json:"ref"`
	Path          string `json:"path"`
	Health        string `json:"health"`
	SizeBytes     int64  `json:"size_bytes"`
	// SnapshotID is the database backup taken before this release replaced
	// the one before it ("" when none was taken or it was pruned).
	SnapshotID string    `json:"snapshot_id"`
	JobID      string    `json:"job_id"`
	Current    bool      `json:"current"`
	CreatedAt  time.Time `json:"created_at"`
}

// Dir is the release's directory name under the environment's releases/.
func (r *Release) Dir() string { return path.Base(r.Path) }
