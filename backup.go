package pressluft

import (
	"context"
	"io"
	"regexp"
	"strings"
	"time"
)

// Backup scopes.
const (
	BackupScopeDB    = "db"
	BackupScopeFiles = "files"
	BackupScopeFull  = "full"
)

// Backup statuses.
const (
	BackupPending   = "pending"
	BackupRunning   = "running"
	BackupCompleted = "completed"
	BackupFailed    = "failed"
	BackupExpired   = "expired"
)

// Where a completed backup lives.
const (
	LocationNode    = "node"
	LocationOffsite = "offsite"
	LocationBoth    = "both"
)

// Why a backup was taken.
const (
	TriggerManual     = "manual"
	TriggerSchedule   = "schedule"
	TriggerPreRestore = "pre_restore"
	TriggerSnapshot   = "snapshot" // the database before a deploy, update or rollback
	TriggerPrePromote = "pre_promote"
)

// The parts of a backup, as files in its directory on the node and as
// objects under its offsite key.
const (
	PartDB       = "db.sql.zst"
	PartFiles    = "files.tar.zst"
	PartManifest = "manifest.json"
)

// BackupParts lists the part names a download may ask for.
func BackupParts() []string { return []string{PartManifest, PartDB, PartFiles} }

// BackupManifest describes a backup; it is written last, as manifest.json,
// and its sha256 is the backup's. Every part is checked against it before a
// restore touches anything.
type BackupManifest struct {
	Format         int              `json:"format"` // 1
	BackupID       string           `json:"backup_id"`
	Scope          string           `json:"scope"`
	Environment    string           `json:"environment"` // system name of the environment backed up
	URL            string           `json:"url"`         // the environment's URL when it was backed up
	SiteURL        string           `json:"site_url"`    // WordPress's home then (differs from URL with a domain of its own)
	TablePrefix    string           `json:"table_prefix"`
	CreatedAt      time.Time        `json:"created_at"`
	WPVersion      string           `json:"wp_version"`
	PHPVersion     string           `json:"php_version"`
	MariaDBVersion string           `json:"mariadb_version"`
	Parts          []BackupPart     `json:"parts"`
	Tables         map[string]int64 `json:"tables,omitempty"` // row counts (db and full)
	FileCount      int64            `json:"file_count"`       // regular files in files.tar.zst (files and full)
}

// BackupPart is one file of a backup.
type BackupPart struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	// Unpacked is the size of the part's content once decompressed, so a
	// restore can check for room before it writes anything.
	Unpacked int64 `json:"unpacked"`
}

// Backup is one backup of an environment.
type Backup struct {
	ID             string          `json:"id"`
	EnvironmentID  string          `json:"environment_id"`
	SiteID         string          `json:"site_id"`
	Scope          string          `json:"scope"`
	Status         string          `json:"status"`
	Trigger        string          `json:"trigger"`
	Location       string          `json:"location"` // node | offsite | both; "" until completed
	NodePath       string          `json:"node_path"`
	OffsiteKey     string          `json:"offsite_key"`
	OffsiteError   string          `json:"offsite_error"` // code of the last failed upload
	SizeBytes      int64           `json:"size_bytes"`
	SHA256         string          `json:"sha256"` // of manifest.json
	Manifest       *BackupManifest `json:"manifest"`
	JobID          string          `json:"job_id"`
	Error          string          `json:"error"`
	RetentionUntil *time.Time      `json:"retention_until"`
	CreatedAt      time.Time       `json:"created_at"`
	CompletedAt    *time.Time      `json:"completed_at"`
}

// OffsiteTarget is an S3-compatible bucket that backups are copied to.
type OffsiteTarget struct {
	Endpoint  string `json:"endpoint"` // host[:port]
	UseTLS    bool   `json:"use_tls"`
	Region    string `json:"region"`
	Bucket    string `json:"bucket"`
	Prefix    string `json:"prefix"` // key prefix without leading or trailing slash; may be ""
	AccessKey string `json:"access_key"`
	SecretKey string `json:"-"` // secret: write-only in the API
}

// BackupSpec is a backup to take.
type BackupSpec struct {
	ID        string
	Scope     string
	CreatedAt time.Time
}

// BackupFacts is what a node reports about a finished backup.
type BackupFacts struct {
	Path           string // its directory on the node
	Manifest       BackupManifest
	ManifestSHA256 string
	Size           int64 // the parts and the manifest together
}

// BackupSource names a backup to restore: where it lives on the node (the
// environment that took it) and, when the node copy is gone, offsite.
type BackupSource struct {
	ID             string
	EnvName        string // system name of the environment whose backups/ holds it
	ManifestSHA256 string // what the manifest must hash to
	Offsite        *OffsiteTarget
	OffsiteKey     string
}

// BackupOps does backup work on nodes (the node agent). Every operation
// converges when run again.
type BackupOps interface {
	// CreateBackup writes backup b of env into env's backups directory.
	// It refuses with insufficient_space before writing anything.
	CreateBackup(ctx context.Context, n *Node, env EnvSpec, b BackupSpec, p Progress) (*BackupFacts, error)
	// UploadBackup copies a backup from the node to the offsite target
	// under key and checks the copy by size and checksum.
	UploadBackup(ctx context.Context, n *Node, envName, backupID string, t OffsiteTarget, key string, p Progress) error
	// RestoreBackup checks every part of src, then replaces env's database
	// and files with the backup's (a new release and a database swap), URLs
	// rewritten to env's. A failure before the switch leaves env as it was.
	RestoreBackup(ctx context.Context, n *Node, env EnvSpec, src BackupSource, p Progress) (*EnvFacts, error)
	// DeleteBackup removes the node copy and, with t set, the offsite copy;
	// what is gone is skipped.
	DeleteBackup(ctx context.Context, n *Node, envName, backupID string, t *OffsiteTarget, key string) error
	// ReadBackup streams length bytes (-1: to the end) of a part of a
	// backup on the node from offset, and reports the part's whole size.
	ReadBackup(ctx context.Context, n *Node, envName, backupID, part string, offset, length int64) (io.ReadCloser, int64, error)
}

// Schedule frequencies.
const (
	FrequencyHourly = "hourly"
	FrequencyDaily  = "daily"
	FrequencyWeekly = "weekly"
)

// BackupSchedule takes backups of one environment on a schedule and keeps
// the scheduled ones for a while. A scheduled backup is kept while it is
// one of the last KeepLast or younger than KeepDays (whichever is set);
// the newest completed backup of an environment is never removed.
type BackupSchedule struct {
	EnvironmentID string    `json:"environment_id"`
	Frequency     string    `json:"frequency"`
	Minute        int       `json:"minute"`  // 0-59
	Hour          int       `json:"hour"`    // 0-23; daily and weekly
	Weekday       int       `json:"weekday"` // 0 (Sunday) - 6; weekly
	Timezone      string    `json:"timezone"`
	Scope         string    `json:"scope"`
	KeepLast      int       `json:"keep_last"`
	KeepDays      int       `json:"keep_days"`
	NextRunAt     time.Time `json:"next_run_at"`
	LastJobID     string    `json:"last_job_id"`
}

// Validate checks the fields a user supplies.
func (s *BackupSchedule) Validate() error {
	switch s.Frequency {
	case FrequencyHourly, FrequencyDaily, FrequencyWeekly:
	default:
		return FieldError("frequency", "frequency must be hourly, daily or weekly.")
	}
	if s.Minute < 0 || s.Minute > 59 {
		return FieldError("minute", "minute must be 0 to 59.")
	} else if s.Hour < 0 || s.Hour > 23 {
		return FieldError("hour", "hour must be 0 to 23.")
	} else if s.Weekday < 0 || s.Weekday > 6 {
		return FieldError("weekday", "weekday must be 0 (Sunday) to 6 (Saturday).")
	}
	if s.Timezone == "" {
		s.Timezone = "UTC"
	}
	if len(s.Timezone) > 64 {
		return FieldError("timezone", "timezone must be an IANA time zone name such as Europe/Berlin.")
	} else if _, err := time.LoadLocation(s.Timezone); err != nil || s.Timezone == "Local" {
		return FieldError("timezone", "timezone %q is not an IANA time zone name such as Europe/Berlin.", s.Timezone)
	}
	if s.Scope == "" {
		s.Scope = BackupScopeFull
	}
	if err := ValidateBackupScope(s.Scope); err != nil {
		return err
	}
	if s.KeepLast < 0 || s.KeepLast > 1000 {
		return FieldError("keep_last", "keep_last must be 0 (no limit) to 1000.")
	} else if s.KeepDays < 0 || s.KeepDays > 3650 {
		return FieldError("keep_days", "keep_days must be 0 (no limit) to 3650.")
	} else if s.KeepLast == 0 && s.KeepDays == 0 {
		return FieldError("keep_last", "Set keep_last, keep_days or both: a schedule without retention fills the disk.")
	}
	return nil
}

// NextRun is the first time after t at which the schedule runs.
func (s *BackupSchedule) NextRun(t time.Time) time.Time {
	loc, err := time.LoadLocation(s.Timezone)
	if err != nil {
		loc = time.UTC
	}
	l := t.In(loc)
	var next time.Time
	switch s.Frequency {
	case FrequencyHourly:
		next = time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), s.Minute, 0, 0, loc)
		for !next.After(l) {
			next = next.Add(time.Hour)
		}
	case FrequencyDaily, FrequencyWeekly:
		next = time.Date(l.Year(), l.Month(), l.Day(), s.Hour, s.Minute, 0, 0, loc)
		for !next.After(l) || (s.Frequency == FrequencyWeekly && int(next.Weekday()) != s.Weekday) {
			// AddDate keeps the wall-clock time across daylight saving changes.
			next = time.Date(next.Year(), next.Month(), next.Day()+1, s.Hour, s.Minute, 0, 0, loc)
		}
	default:
		return t.Add(24 * time.Hour)
	}
	return next.UTC()
}

// ValidateBackupScope checks a backup scope.
func ValidateBackupScope(scope string) error {
	switch scope {
	case BackupScopeDB, BackupScopeFiles, BackupScopeFull:
		return nil
	}
	return FieldError("scope", "scope must be db, files or full.")
}

// OffsiteSettings is the offsite target as settings show it; the secret key
// is write-only.
type OffsiteSettings struct {
	OffsiteTarget
	SecretKeySet bool `json:"secret_key_set"`
	// KeepLocal is how many of an environment's newest backups keep their
	// node copy once they are offsite (0: all).
	KeepLocal int `json:"keep_local"`
}

// OffsiteUpdate sets the offsite target; SecretKey nil keeps the stored one.
type OffsiteUpdate struct {
	Endpoint  string  `json:"endpoint"`
	UseTLS    bool    `json:"use_tls"`
	Region    string  `json:"region"`
	Bucket    string  `json:"bucket"`
	Prefix    string  `json:"prefix"`
	AccessKey string  `json:"access_key"`
	SecretKey *string `json:"secret_key"`
	KeepLocal int     `json:"keep_local"`
}

// BackupService stores backups and schedules and starts the jobs that
// take, upload, delete and restore them.
type BackupService interface {
	FindBackups(ctx context.Context, envID string) ([]*Backup, error)
	FindBackupByID(ctx context.Context, id string) (*Backup, error)
	// CreateBackup records a pending backup and enqueues backup_create.
	CreateBackup(ctx context.Context, envID, scope, trigger string) (*Backup, *Job, error)
	// DeleteBackup enqueues backup_delete; backup_in_use while a restore uses it.
	DeleteBackup(ctx context.Context, id string) (*Job, error)
	// UploadBackup enqueues backup_upload for a completed backup without an offsite copy.
	UploadBackup(ctx context.Context, id string) (*Job, error)
	// RestoreEnvironment enqueues env_restore of backupID into envID.
	RestoreEnvironment(ctx context.Context, envID, backupID string) (*Job, error)

	// For the job handlers.
	StartBackup(ctx context.Context, id string) error
	CompleteBackup(ctx context.Context, id string, f *BackupFacts) error
	// SetBackupOffsite records the outcome of an upload: the key on
	// success, the error code on failure.
	SetBackupOffsite(ctx context.Context, id, key, errCode string) error
	// DropLocalCopy records that the node copy is gone (the backup lives offsite).
	DropLocalCopy(ctx context.Context, id string) error
	RemoveBackup(ctx context.Context, id string) error
	// ExpireBackups marks the backups retention no longer keeps expired and
	// returns them, with the node copies beyond the offsite keep_local count.
	ExpireBackups(ctx context.Context) (expired []*Backup, err error)
	LocalCopiesBeyond(ctx context.Context, envID string, keep int) ([]*Backup, error)

	FindBackupSchedule(ctx context.Context, envID string) (*BackupSchedule, error)
	PutBackupSchedule(ctx context.Context, s *BackupSchedule) (*BackupSchedule, error)
	DeleteBackupSchedule(ctx context.Context, envID string) error

	Offsite(ctx context.Context) (*OffsiteSettings, error)
	// OffsiteTarget returns the target with its secret key, or nil when none is set.
	OffsiteTarget(ctx context.Context) (*OffsiteTarget, error)
	PutOffsite(ctx context.Context, u *OffsiteUpdate) (*OffsiteSettings, error)
	DeleteOffsite(ctx context.Context) error
}

var (
	offsiteEndpoint = regexp.MustCompile(`^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?(:[0-9]{1,5})?$`)
	offsiteBucket   = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	offsitePrefix   = regexp.MustCompile(`^([A-Za-z0-9][A-Za-z0-9._-]{0,63})(/[A-Za-z0-9][A-Za-z0-9._-]{0,63}){0,7}$`)
	offsiteRegion   = regexp.MustCompile(`^[a-z0-9-]{0,32}$`)
	offsiteKeyID    = regexp.MustCompile(`^[\x21-\x7e]{1,128}$`)
)

// Validate checks an offsite target as a user supplies it.
func (u *OffsiteUpdate) Validate() error {
	u.Endpoint = strings.ToLower(strings.TrimSpace(u.Endpoint))
	u.Prefix = strings.Trim(u.Prefix, "/")
	switch {
	case !offsiteEndpoint.MatchString(u.Endpoint):
		return FieldError("endpoint", "endpoint must be a host name or address with an optional :port, without scheme or path (e.g. s3.eu-central-1.amazonaws.com).")
	case !offsiteBucket.MatchString(u.Bucket) || strings.Contains(u.Bucket, ".."):
		return FieldError("bucket", "bucket must be 3 to 63 lowercase letters, digits, dots and dashes.")
	case u.Prefix != "" && !offsitePrefix.MatchString(u.Prefix):
		return FieldError("prefix", "prefix must be up to 8 path segments of letters, digits, dots, dashes and underscores.")
	case !offsiteRegion.MatchString(u.Region):
		return FieldError("region", "region must be lowercase letters, digits and dashes (e.g. eu-central-1), or empty.")
	case !offsiteKeyID.MatchString(u.AccessKey):
		return FieldError("access_key", "access_key must be 1 to 128 printable characters without spaces.")
	case u.SecretKey != nil && !offsiteKeyID.MatchString(*u.SecretKey):
		return FieldError("secret_key", "secret_key must be 1 to 128 printable characters without spaces.")
	case u.KeepLocal < 0 || u.KeepLocal > 1000:
		return FieldError("keep_local", "keep_local must be 0 (keep every node copy) to 1000.")
	}
	return nil
}

// OffsiteKey is where a backup's parts live under the target: the prefix,
// the site, the environment and the backup.
func OffsiteKey(t *OffsiteTarget, siteSlug, envSystemName, backupID string) string {
	key := siteSlug + "/" + envSystemName + "/" + backupID
	if t.Prefix != "" {
		key = t.Prefix + "/" + key
	}
	return key
}

// OffsiteClient reaches the offsite target from the control plane: the
// settings' connection test, and downloads of backups whose node copy is gone.
type OffsiteClient interface {
	Test(ctx context.Context, t OffsiteTarget) error
	// Open streams length bytes (-1: to the end) of the object key from
	// offset, and reports the object's whole size.
	Open(ctx context.Context, t OffsiteTarget, key string, offset, length int64) (io.ReadCloser, int64, error)
}
