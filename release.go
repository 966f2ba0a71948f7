package pressluft

import (
	"context"
	"io"
	"net/url"
	"regexp"
	"strings"
)

// Release sources besides ReleaseInitial and ReleaseRestore.
const (
	ReleaseGit      = "git"
	ReleaseArchive  = "archive"
	ReleaseUpdate   = "update"
	ReleaseRollback = "rollback"
)

// Update scopes.
const (
	UpdateCore    = "core"
	UpdatePlugins = "plugins"
	UpdateThemes  = "themes"
	UpdateAll     = "all"
)

// DeploySource is what a deploy puts into a new release: the wp-content of
// a git repository at a ref, or of an archive. Core comes from the previous
// release; uploads stay shared.
type DeploySource struct {
	Type       string // git | archive
	Repository string // git: https://, ssh:// or git@host:path URL
	Ref        string // git: branch, tag or commit
	DeployKey  string // git over SSH: the site's private deploy key (secret)
	ArchiveURL string // archive: http(s) URL of a .zip, .tar.gz or .tar.zst
	// ArchivePath is an archive already on the node (an upload through the
	// control plane), under the environment's tmp directory.
	ArchivePath string
	// Environment is, for a promotion (type "environment"), the system
	// name of the environment on the same node whose wp-content is copied.
	Environment string
	// MaxBytes bounds the download and the unpacked size.
	MaxBytes int64
	// AllowPrivate lets the archive URL or repository name a private,
	// loopback or link-local address (off by default: SSRF guard).
	AllowPrivate bool
}

// UpdateSpec is an update through WordPress's own upgrader in a new release.
type UpdateSpec struct {
	Scope string   // core | plugins | themes | all
	Items []string // plugin or theme slugs; empty: every one with an update
	// PackageURLs maps a slug ("core" for WordPress itself) to the package
	// to install instead of the one wordpress.org offers.
	PackageURLs  map[string]string
	AllowPrivate bool
}

// ReleaseFacts is what a node reports about a release it built.
type ReleaseFacts struct {
	ReleaseID string
	Path      string
	SizeBytes int64
	Ref       string // git: the commit deployed
	// Changed lists what an update changed: "plugin akismet 5.0 → 5.3".
	Changed []string
}

// Installed is one component of a WordPress install and its versions.
type Installed struct {
	Type      string `json:"type"` // core | plugin | theme
	Slug      string `json:"slug"`
	Name      string `json:"name"`
	Version   string `json:"version"`
	Available string `json:"available"` // "" when none is known
	Active    bool   `json:"active"`
}

// UpdateInfo is what an environment runs and what is available for it.
type UpdateInfo struct {
	Items []Installed `json:"items"`
	// Checked is false when wordpress.org could not be asked (an offline
	// node): Available is then unknown, not "none".
	Checked bool   `json:"checked"`
	Problem string `json:"problem"`
}

// ReleaseOps builds and switches releases on nodes (the node agent). A
// release directory is immutable once built.
type ReleaseOps interface {
	// BuildRelease writes env.ReleaseID from the current release's core
	// and src's wp-content; it does not switch.
	BuildRelease(ctx context.Context, n *Node, env EnvSpec, src DeploySource, p Progress) (*ReleaseFacts, error)
	// UpdateRelease writes env.ReleaseID as a copy of the current release
	// updated through WordPress's upgrader; it does not switch.
	UpdateRelease(ctx context.Context, n *Node, env EnvSpec, u UpdateSpec, p Progress) (*ReleaseFacts, error)
	// SwitchRelease points current at releases/<releaseID> atomically,
	// reloads PHP-FPM so opcache serves it, purges the page cache and
	// reports WordPress's own view.
	SwitchRelease(ctx context.Context, n *Node, env EnvSpec, releaseID string, p Progress) (*EnvFacts, error)
	// PruneReleases removes the release directories of env not in keep
	// (never the current one).
	PruneReleases(ctx context.Context, n *Node, envName string, keep []string) ([]string, error)
	// Updates lists what env runs and what is available.
	Updates(ctx context.Context, n *Node, env EnvSpec) (*UpdateInfo, error)
}

// ReleaseInfo is a release as the API lists it.
type ReleaseInfo struct {
	Release
	SizeBytes  int64  `json:"size_bytes"`
	SnapshotID string `json:"snapshot_id"` // the database backup taken before it replaced the previous release
	Current    bool   `json:"current"`
	JobID      string `json:"job_id"`
}

// DeployRequest is what POST /api/environments/{id}/deploy asks for.
type DeployRequest struct {
	SourceType string `json:"source_type"` // git | archive
	Repository string `json:"repository"`  // git
	SourceRef  string `json:"source_ref"`  // git: branch, tag or commit
	ArchiveURL string `json:"archive_url"` // archive
	// Upload is an archive the request's body carried, already on the
	// node: set by the control plane, never read from JSON.
	Upload *ArchiveUpload `json:"-"`
}

// MaxUploadBytes bounds an archive uploaded as a deploy's request body.
const MaxUploadBytes = 512 << 20

// ArchiveUpload is an archive streamed through the control plane into the
// environment's tmp directory on its node, for one deploy.
type ArchiveUpload struct {
	ID     string `json:"id"`
	Path   string `json:"path"` // relative to the environment's root: tmp/upload-<id>.archive
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// UploadOps puts uploaded archives on nodes and takes them away (the node
// agent).
type UploadOps interface {
	// ReceiveUpload streams exactly size bytes of body into upload id of
	// the environment. A body over max is refused before a byte is sent;
	// a body that ends early leaves nothing on the node.
	ReceiveUpload(ctx context.Context, n *Node, envName, id string, size, max int64, body io.Reader) (*ArchiveUpload, error)
	// DiscardUpload removes upload id; one already gone is no error.
	DiscardUpload(ctx context.Context, n *Node, envName, id string) error
}

// UpdateRequest is what POST /api/environments/{id}/updates asks for.
type UpdateRequest struct {
	Scope string   `json:"scope"`
	Items []string `json:"items"`
	// PackageURL installs this package instead of wordpress.org's: for
	// core, or for the one item named.
	PackageURL string `json:"package_url"`
	// VerifyOnClone applies the update to a temporary copy of the
	// environment first; the live environment is updated only when the
	// copy passes its checks.
	VerifyOnClone bool `json:"verify_on_clone,omitempty"`
}

// RollbackRequest is what POST /api/environments/{id}/rollback asks for.
type RollbackRequest struct {
	ReleaseID string `json:"release_id"`
	// RestoreDatabase also restores the database snapshot taken when that
	// release was replaced: content written since then is lost.
	RestoreDatabase *bool `json:"restore_database"`
}

var (
	gitRefPattern  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._/-]{0,127}$`)
	gitRepoPattern = regexp.MustCompile(`^(https://[A-Za-z0-9.-]+(:[0-9]{1,5})?/[A-Za-z0-9._~/-]+|ssh://[A-Za-z0-9._-]+@[A-Za-z0-9.-]+(:[0-9]{1,5})?/[A-Za-z0-9._~/-]+|git://[A-Za-z0-9.-]+(:[0-9]{1,5})?/[A-Za-z0-9._~/-]+|[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[A-Za-z0-9._~/-]+)$`)
	slugPattern    = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,99}$`)
	// uploadIDPattern is the agent's shape of an upload id.
	uploadIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)
)

// Validate checks a deploy request.
func (d *DeployRequest) Validate() error {
	switch d.SourceType {
	case ReleaseGit:
		if !gitRepoPattern.MatchString(d.Repository) || strings.Contains(d.Repository, "..") || len(d.Repository) > 512 {
			return FieldError("repository", "repository must be an https://, ssh://, git:// or user@host:path URL of a git repository.")
		} else if !gitRefPattern.MatchString(d.SourceRef) || strings.Contains(d.SourceRef, "..") {
			return FieldError("source_ref", "source_ref must be a branch, tag or commit name (letters, digits, . _ / -).")
		} else if d.ArchiveURL != "" {
			return FieldError("archive_url", "archive_url is for source_type archive.")
		}
	case ReleaseArchive:
		if d.Upload != nil {
			if d.ArchiveURL != "" || d.Repository != "" || d.SourceRef != "" {
				return FieldError("archive_url", "An uploaded archive is the deploy's whole source.")
			} else if !uploadIDPattern.MatchString(d.Upload.ID) || d.Upload.Path != "tmp/upload-"+d.Upload.ID+".archive" {
				return Errorf(EBadRequest, "The upload is not named as the node agent names it.")
			}
			return nil
		}
		if err := ValidateSourceURL("archive_url", d.ArchiveURL); err != nil {
			return err
		} else if d.Repository != "" || d.SourceRef != "" {
			return FieldError("repository", "repository and source_ref are for source_type git.")
		}
	default:
		return FieldError("source_type", "source_type must be git or archive.")
	}
	return nil
}

// ValidateSourceURL checks an http(s) URL a node is to download from.
func ValidateSourceURL(field, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || len(raw) > 2048 ||
		strings.ContainsAny(raw, " \t\r\n") {
		return FieldError(field, "%s must be an http:// or https:// URL without credentials.", field)
	}
	return nil
}

// Validate checks an update request.
func (u *UpdateRequest) Validate() error {
	switch u.Scope {
	case UpdateCore, UpdatePlugins, UpdateThemes, UpdateAll:
	default:
		return FieldError("scope", "scope must be core, plugins, themes or all.")
	}
	if len(u.Items) > 100 {
		return FieldError("items", "items may name at most 100 plugins or themes.")
	}
	for _, it := range u.Items {
		if !slugPattern.MatchString(it) {
			return FieldError("items", "items must be plugin or theme slugs (lower-case letters, digits, . _ -).")
		}
	}
	if len(u.Items) > 0 && (u.Scope == UpdateCore || u.Scope == UpdateAll) {
		return FieldError("items", "items are for scope plugins or themes.")
	}
	if u.PackageURL != "" {
		if err := ValidateSourceURL("package_url", u.PackageURL); err != nil {
			return err
		} else if u.Scope != UpdateCore && len(u.Items) != 1 {
			return FieldError("package_url", "package_url needs exactly one item (or scope core).")
		}
	}
	return nil
}

// Spec is the update the node runs for u.
func (u *UpdateRequest) Spec(allowPrivate bool) UpdateSpec {
	s := UpdateSpec{Scope: u.Scope, Items: u.Items, AllowPrivate: allowPrivate}
	if u.PackageURL != "" {
		slug := "core"
		if u.Scope != UpdateCore {
			slug = u.Items[0]
		}
		s.PackageURLs = map[string]string{slug: u.PackageURL}
	}
	return s
}

// ValidateHealthPaths checks the extra paths of a health check.
func ValidateHealthPaths(paths []string) error {
	if len(paths) > 10 {
		return FieldError("health_paths", "health_paths may list at most 10 paths.")
	}
	for _, p := range paths {
		if !strings.HasPrefix(p, "/") || len(p) > 200 || strings.ContainsAny(p, " \t\r\n#") || strings.Contains(p, "..") {
			return FieldError("health_paths", "health_paths must be paths such as /shop/ (starting with /, without spaces or #).")
		}
	}
	return nil
}

// ReleaseService stores releases and starts deploys, updates and rollbacks.
type ReleaseService interface {
	FindReleases(ctx context.Context, envID string) ([]*Release, error)
	FindReleaseByID(ctx context.Context, id string) (*Release, error)
	// Deploy, Update and Rollback mark the environment and enqueue their
	// job, which takes a database snapshot first (recorded now as a
	// pending backup, so a retried job converges on it).
	Deploy(ctx context.Context, envID string, in DeployRequest) (*Job, error)
	Update(ctx context.Context, envID string, in UpdateRequest) (*Job, error)
	Rollback(ctx context.Context, envID string, in RollbackRequest) (*Job, error)
	SetHealthPaths(ctx context.Context, envID string, paths []string) (*Environment, error)
	// DeployKey returns the site's public deploy key, made at first use.
	DeployKey(ctx context.Context, siteID string) (string, error)
	// ReleasesKeep is how many releases an environment keeps.
	ReleasesKeep(ctx context.Context) (int, error)
	// AllowPrivateSources reports whether deploy and update sources may
	// be on private, loopback or link-local addresses.
	AllowPrivateSources(ctx context.Context) (bool, error)
}

// ReleasePayload is what env_deploy, env_update and release_rollback carry.
type ReleasePayload struct {
	Deploy   *DeployRequest `json:"deploy,omitempty"`
	Update   *UpdateRequest `json:"update,omitempty"`
	Rollback *struct {
		ReleaseID string `json:"release_id"`
		// RestoreSnapshotID is the database backup to restore ("" keeps the database).
		RestoreSnapshotID string `json:"restore_snapshot_id"`
	} `json:"rollback,omitempty"`
	Promote *PromotePayload `json:"promote,omitempty"`
	// Upload is the archive an env_deploy builds from, on the node; the
	// job removes it when it ends.
	Upload *ArchiveUpload `json:"upload,omitempty"`
	// SnapshotID is the database backup the job takes first.
	SnapshotID string `json:"snapshot_id"`
}
