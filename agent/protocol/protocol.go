// Package protocol is the wire format between the control plane and the node
// agent: one JSON request on the agent's stdin, JSON lines on its stdout.
// Both sides import it; it imports nothing of the project.
//
// The control plane runs one SSH exec per operation:
//
//	[sudo -n] /usr/local/lib/pressluft/agent/<version>/pressluft-agent
//
// writes one Request as a single JSON line on stdin and keeps stdin open
// while it waits: when stdin reaches EOF (the job was cancelled and the SSH
// session closed), the agent stops its child processes and exits. The agent
// answers with Messages, one per line: any number of "event" and "output"
// lines, then exactly one "result" or "error" line, then it exits (0 after a
// result, 1 after an error).
package protocol

import (
	"encoding/json"
	"time"
)

// Operations.
const (
	// OpVersion changes nothing: it answers the agent's version and the
	// node's architecture (the no-op round trip).
	OpVersion = "version"
	// OpEnvCreate builds a production environment and installs WordPress
	// into it (Request.Env, Request.Install).
	OpEnvCreate = "env_create"
	// OpEnvCopy builds a staging or clone environment as a copy of another
	// environment on the same node (Request.Env, Request.Source).
	OpEnvCopy = "env_copy"
	// OpEnvDelete removes exactly one environment (Request.Env: name and
	// database identifiers are used).
	OpEnvDelete = "env_delete"
	// OpEnvHealth reports WordPress's own view of an environment.
	OpEnvHealth = "env_health"
	// OpBackupCreate writes a backup of an environment into its backups
	// directory (Request.Env: name, url, db_name, db_user; Request.Backup:
	// id, scope, created_at). A complete backup of that id is left as it is.
	OpBackupCreate = "backup_create"
	// OpBackupUpload copies a backup to an offsite bucket and checks the
	// copy (Request.Env: name; Request.Backup: id; Request.Offsite).
	OpBackupUpload = "backup_upload"
	// OpBackupRestore replaces an environment's database and files with a
	// backup's (Request.Env: the target, with the release_id to write;
	// Request.Backup: id, env, manifest_sha256; Request.Offsite optional).
	OpBackupRestore = "backup_restore"
	// OpBackupDelete removes a backup from the node and, with
	// Request.Offsite, from the bucket (Request.Env: name; Request.Backup: id).
	OpBackupDelete = "backup_delete"
	// OpBackupRead streams a range of one part of a backup (Request.Env:
	// name; Request.Backup: id, part, offset, length). Raw mode: the agent
	// writes one JSON line (a result ReadResult or an error), then exactly
	// the bytes of the range, and exits.
	OpBackupRead = "backup_read"
	// OpReleaseBuild writes a new release (Request.Env: name, release_id)
	// from the current release's core and a deploy source's wp-content
	// (Request.Deploy); uploads stay shared. It does not switch.
	OpReleaseBuild = "release_build"
	// OpReleaseUpdate writes a new release (Request.Env: name, release_id)
	// as a copy of the current one updated through WordPress's own
	// upgrader (Request.Update). It does not switch.
	OpReleaseUpdate = "release_update"
	// OpReleaseSwitch points current at releases/<Env.ReleaseID>, reloads
	// PHP-FPM, purges the page cache, runs WordPress's database upgrade
	// when the release's core is newer than the database, and answers
	// WordPress's view (EnvResult). The current release again is a no-op.
	OpReleaseSwitch = "release_switch"
	// OpReleasePrune removes the releases of Env.Name not named in
	// Request.Prune.Keep; the current release always stays.
	OpReleasePrune = "release_prune"
	// OpEnvUpdates lists what an environment runs and what wordpress.org
	// offers for it (UpdatesResult); it changes no file.
	OpEnvUpdates = "env_updates"
	// OpArchiveReceive writes an archive to the environment's tmp/ for a
	// deploy (Request.Env: name; Request.Upload: id, size, max_bytes).
	// Raw-input mode: the agent checks the request and answers a "ready"
	// line (or an error), then reads exactly Upload.Size bytes from stdin
	// after the request line into tmp/upload-<id>.partial, renames it to
	// tmp/upload-<id>.archive and answers ReceiveResult. A shorter input
	// (the session closed) is an error and leaves nothing. Uploads in tmp/
	// older than a day are removed first.
	OpArchiveReceive = "archive_receive"
	// OpArchiveDiscard removes an upload (Request.Env: name;
	// Request.Upload: id); one already gone is no error.
	OpArchiveDiscard = "archive_discard"
	// OpEnvState reads what a drift check compares (EnvStateResult):
	// checksums of the tables, versions of core, plugins and themes, and
	// hashes of wp-content (Request.Env: name, db_name, db_user). It
	// changes nothing.
	OpEnvState = "env_state"
	// OpDBPromote replaces the target's tables (Request.Env: name, url,
	// db_name, db_user) with the source's (Request.Source, same node), but
	// for those matching Request.Promote.Protect, with the source's URLs
	// rewritten to the target's; tables only the target has stay. One
	// RENAME TABLE swaps them in (PromoteResult). A run of the same
	// run_id converges.
	OpDBPromote = "db_promote"
)

// Request is the one JSON line the agent reads from stdin.
type Request struct {
	Op string `json:"op"`
	// Version is the agent version the control plane expects; a different
	// agent answers ErrVersionMismatch and does nothing.
	Version string   `json:"version"`
	Env     *Env     `json:"env,omitempty"`
	Source  *Env     `json:"source,omitempty"`
	Install *Install `json:"install,omitempty"`
	Backup  *Backup  `json:"backup,omitempty"`
	Offsite *Offsite `json:"offsite,omitempty"`
	Deploy  *Deploy  `json:"deploy,omitempty"`
	Update  *Update  `json:"update,omitempty"`
	Prune   *Prune   `json:"prune,omitempty"`
	Upload  *Upload  `json:"upload,omitempty"`
	Promote *Promote `json:"promote,omitempty"`
}

// Promote is what db_promote leaves alone and the name of the run.
type Promote struct {
	// Protect holds table names or path.Match patterns ("wp_posts",
	// "wp_wc_*"), the table prefix included.
	Protect []string `json:"protect"`
	RunID   string   `json:"run_id"` // ^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$
}

// Upload is an archive streamed onto the node for a deploy.
type Upload struct {
	ID string `json:"id"` // ^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$
	// archive_receive: the bytes that follow the request line, and the
	// most accepted (0: 512 MiB).
	Size     int64 `json:"size,omitempty"`
	MaxBytes int64 `json:"max_bytes,omitempty"`
}

// Deploy is where release_build takes the new release's wp-content from:
// the wp-content/ directory at the root of a git repository or an archive,
// or the current wp-content of another environment on the node.
type Deploy struct {
	Type string `json:"type"` // git | archive | environment
	// environment: the name of the environment whose wp-content is copied
	// (without uploads and what WordPress writes at runtime).
	Environment string `json:"environment,omitempty"`
	// git: an https://, http://, ssh:// or git:// URL, or user@host:path.
	Repository string `json:"repository,omitempty"`
	Ref        string `json:"ref,omitempty"`        // branch, tag or full commit id
	DeployKey  string `json:"deploy_key,omitempty"` // OpenSSH private key for ssh (secret)
	// archive: an http(s) URL, or a file under the environment's tmp/
	// (.zip, .tar.gz or .tar.zst, told apart by their content).
	ArchiveURL  string `json:"archive_url,omitempty"`
	ArchivePath string `json:"archive_path,omitempty"`
	// MaxBytes bounds the download and the unpacked size (0: 512 MiB).
	MaxBytes int64 `json:"max_bytes,omitempty"`
	// AllowPrivate lets the URL or repository name a private, loopback or
	// link-local address.
	AllowPrivate bool `json:"allow_private,omitempty"`
}

// Update is what release_update changes through WordPress's upgrader.
type Update struct {
	Scope string   `json:"scope"`           // core | plugins | themes | all
	Items []string `json:"items,omitempty"` // slugs; empty: every one with an update
	// PackageURLs maps a slug ("core" for WordPress) to the http(s) URL of
	// the zip to install instead of asking wordpress.org.
	PackageURLs  map[string]string `json:"package_urls,omitempty"`
	AllowPrivate bool              `json:"allow_private,omitempty"`
}

// Prune names the releases release_prune keeps besides the current one.
type Prune struct {
	Keep []string `json:"keep"`
}

// Backup names a backup and what an operation does with it.
type Backup struct {
	ID string `json:"id"` // ^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$
	// backup_create
	Scope     string    `json:"scope,omitempty"` // db | files | full
	CreatedAt time.Time `json:"created_at,omitzero"`
	// backup_restore: the environment whose backups/ holds it, and what
	// its manifest.json must hash to (hex sha256).
	Env            string `json:"env,omitempty"`
	ManifestSHA256 string `json:"manifest_sha256,omitempty"`
	// backup_read: a part (manifest.json, db.sql.zst, files.tar.zst) and
	// a range; Length -1 reads to the end.
	Part   string `json:"part,omitempty"`
	Offset int64  `json:"offset,omitempty"`
	Length int64  `json:"length,omitempty"`
}

// Offsite is an S3-compatible bucket and the key under which one backup's
// objects live: <key>/db.sql.zst, <key>/files.tar.zst, <key>/manifest.json.
type Offsite struct {
	Endpoint  string `json:"endpoint"` // host[:port]
	UseTLS    bool   `json:"use_tls"`
	Region    string `json:"region"`
	Bucket    string `json:"bucket"`
	AccessKey string `json:"access_key"`
	SecretKey string `json:"secret_key"` // secret: redacted from everything the agent writes
	Key       string `json:"key"`        // segments of [A-Za-z0-9_.=-] joined by "/", no ".."
}

// Env describes one environment. Its root is always /srv/pressluft/<Name>.
type Env struct {
	Name        string   `json:"name"`         // ^[a-z][a-z0-9-]{0,31}$: Linux user, pool, vhost, directory
	Type        string   `json:"type"`         // production | staging | clone
	ReleaseID   string   `json:"release_id"`   // ^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$
	URL         string   `json:"url"`          // http(s)://host[:port], no path
	ServerNames []string `json:"server_names"` // lowercase host names nginx answers for; includes URL's host
	DBName      string   `json:"db_name"`      // ^[a-z][a-z0-9_]{1,63}$
	DBUser      string   `json:"db_user"`      // ^[a-z][a-z0-9_]{1,63}$
	DBPassword  string   `json:"db_password,omitempty"`
}

// Install is the first administrator of a new WordPress site.
type Install struct {
	Title         string `json:"title"`
	AdminUser     string `json:"admin_user"`
	AdminEmail    string `json:"admin_email"`
	AdminPassword string `json:"admin_password"`
}

// Message types.
const (
	TypeEvent  = "event"
	TypeOutput = "output"
	TypeResult = "result"
	TypeError  = "error"
	// TypeReady tells the control plane to send the raw input of
	// archive_receive now.
	TypeReady = "ready"
)

// Message is one line the agent writes to stdout.
type Message struct {
	Type string `json:"type"`
	// event
	Step    string `json:"step,omitempty"`
	Level   string `json:"level,omitempty"` // info | warn | error
	Message string `json:"message,omitempty"`
	// output: raw text of a child process, secrets never included
	Text string `json:"text,omitempty"`
	// result
	Result json.RawMessage `json:"result,omitempty"`
	// error (Message carries the text)
	Code string `json:"code,omitempty"`
}

// VersionResult answers OpVersion.
type VersionResult struct {
	Version string `json:"version"`
	Arch    string `json:"arch"` // GOARCH of the agent
}

// EnvResult answers OpEnvCreate, OpEnvCopy and OpEnvHealth.
type EnvResult struct {
	ReleaseID        string `json:"release_id,omitempty"`
	AlreadyInstalled bool   `json:"already_installed,omitempty"`
	// Copied is false when a finished copy was found and left as it is.
	Copied        bool           `json:"copied,omitempty"`
	SearchReplace *SearchReplace `json:"search_replace,omitempty"`
	Health        Health         `json:"health"`
}

// SearchReplace sums the rewrites of a copy.
type SearchReplace struct {
	Hosts []string `json:"hosts"` // the source hosts that were rewritten
	Cells int      `json:"cells"` // cells changed
	// Unparseable counts cells that still hold a source URL inside a part
	// the helper could not rewrite safely (serialized data that does not
	// parse, or a C: payload): the values that still point at the source.
	Unparseable int `json:"unparseable"`
}

// Health is WordPress's own view of an environment (the helper's health
// command).
type Health struct {
	Installed  bool   `json:"installed"`
	DBOK       bool   `json:"db_ok"`
	WPVersion  string `json:"wp_version"`
	PHPVersion string `json:"php_version"`
	Home       string `json:"home"`
	SiteURL    string `json:"siteurl"`
	// TitleHTML is the title as WordPress prints it in <title>.
	TitleHTML string `json:"title_html"`
}

// Part names of a backup: files in its directory and objects under its key.
const (
	PartDB       = "db.sql.zst"
	PartFiles    = "files.tar.zst"
	PartManifest = "manifest.json"
)

// Manifest is manifest.json, written last into a backup: what each part
// holds and must hash to. The control plane's BackupManifest reads it.
type Manifest struct {
	Format      int    `json:"format"` // 1
	BackupID    string `json:"backup_id"`
	Scope       string `json:"scope"`
	Environment string `json:"environment"`
	// URL is the environment's URL when it was backed up; SiteURL is
	// WordPress's home then (they differ when the site has its own domain).
	URL            string           `json:"url"`
	SiteURL        string           `json:"site_url"`
	TablePrefix    string           `json:"table_prefix"`
	CreatedAt      time.Time        `json:"created_at"`
	WPVersion      string           `json:"wp_version"`
	PHPVersion     string           `json:"php_version"`
	MariaDBVersion string           `json:"mariadb_version"`
	Parts          []ManifestPart   `json:"parts"`
	Tables         map[string]int64 `json:"tables,omitempty"`
	FileCount      int64            `json:"file_count"`
}

// ManifestPart is one part of a backup.
type ManifestPart struct {
	Name     string `json:"name"`
	Size     int64  `json:"size"`
	SHA256   string `json:"sha256"`
	Unpacked int64  `json:"unpacked"` // decompressed size
}

// BackupResult answers OpBackupCreate.
type BackupResult struct {
	Path           string   `json:"path"`
	Manifest       Manifest `json:"manifest"`
	ManifestSHA256 string   `json:"manifest_sha256"`
	Size           int64    `json:"size"` // parts and manifest together
	// Reused is true when a complete backup of that id was found and kept.
	Reused bool `json:"reused,omitempty"`
}

// UploadResult answers OpBackupUpload.
type UploadResult struct {
	Objects []UploadedObject `json:"objects"`
}

// UploadedObject is one object copied offsite and how it was checked.
type UploadedObject struct {
	Key      string `json:"key"`
	Size     int64  `json:"size"`
	SHA256   string `json:"sha256"`
	Verified string `json:"verified"` // etag | read-back
}

// DeleteResult answers OpBackupDelete.
type DeleteResult struct {
	Local          bool `json:"local"`           // the node copy was there and is gone
	OffsiteObjects int  `json:"offsite_objects"` // objects removed offsite
}

// ReadResult is the JSON line before the raw bytes of OpBackupRead.
type ReadResult struct {
	Size int64 `json:"size"` // the whole part
}

// ReceiveResult answers OpArchiveReceive.
type ReceiveResult struct {
	Path   string `json:"path"` // relative to the environment's root: tmp/upload-<id>.archive
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// ReleaseResult answers OpReleaseBuild and OpReleaseUpdate.
type ReleaseResult struct {
	ReleaseID string `json:"release_id"`
	Path      string `json:"path"`
	SizeBytes int64  `json:"size_bytes"`
	Ref       string `json:"ref,omitempty"` // git: the commit id deployed
	// Changed is what an update changed (an empty list: nothing had an
	// update).
	Changed []ReleaseChange `json:"changed,omitempty"`
	// Reused is true when an earlier run had built the release: it is
	// answered as that run left it.
	Reused bool `json:"reused,omitempty"`
}

// ReleaseChange is one component an update replaced.
type ReleaseChange struct {
	Type string `json:"type"` // core | plugin | theme
	Slug string `json:"slug"`
	From string `json:"from"`
	To   string `json:"to"`
}

// PruneResult answers OpReleasePrune.
type PruneResult struct {
	Removed []string `json:"removed"`
	Kept    []string `json:"kept"`
}

// UpdatesResult answers OpEnvUpdates.
type UpdatesResult struct {
	Items []InstalledItem `json:"items"`
	// Checked is false when wordpress.org could not be asked: Available
	// is then unknown, and Problem says why.
	Checked bool   `json:"checked"`
	Problem string `json:"problem,omitempty"`
}

// InstalledItem is WordPress itself, a plugin or a theme.
type InstalledItem struct {
	Type      string `json:"type"` // core | plugin | theme
	Slug      string `json:"slug"`
	Name      string `json:"name"`
	Version   string `json:"version"`
	Available string `json:"available,omitempty"`
	Active    bool   `json:"active"`
}

// EnvStateResult answers OpEnvState.
type EnvStateResult struct {
	// Tables maps each base table to a checksum of its rows (wp_options
	// without the rows that change by themselves).
	Tables map[string]string `json:"tables"`
	// Components maps "core", "plugin/<slug>", "theme/<slug>" to versions.
	Components map[string]string `json:"components"`
	// Paths maps entries of wp-content ("plugins/akismet", "index.php") to
	// a sha256 of their tree; ContentHash is a sha256 over all of them.
	Paths       map[string]string `json:"paths"`
	ContentHash string            `json:"content_hash"`
}

// PromoteResult answers OpDBPromote.
type PromoteResult struct {
	Moved         []string       `json:"moved"`     // the target's tables now the source's
	Protected     []string       `json:"protected"` // tables left as they were
	SearchReplace *SearchReplace `json:"search_replace,omitempty"`
	// Reused is true when an earlier run of this run_id had finished.
	Reused bool `json:"reused,omitempty"`
}

// Error codes of the agent.
const (
	ErrBadRequest      = "bad_request"      // malformed JSON or a field that fails validation
	ErrUnknownOp       = "unknown_op"       // an operation this agent does not know
	ErrVersionMismatch = "version_mismatch" // Request.Version is not this agent's
	ErrEnvLocked       = "env_locked"       // another agent works on the environment; retry later
	ErrConfigRejected  = "config_rejected"  // nginx -t / php-fpm -t refused a config; the previous one is back
	ErrCommandFailed   = "command_failed"   // a program the agent ran failed
	ErrWordPress       = "wp_error"         // the PHP helper reported an error
	ErrNotFound        = "not_found"        // e.g. the source environment has no WordPress
	ErrCancelled       = "cancelled"        // stdin closed: the control plane gave up
	ErrInternal        = "internal"

	ErrInsufficientSpace  = "insufficient_space"  // not enough room for the work plus a margin; nothing was written
	ErrChecksumMismatch   = "checksum_mismatch"   // a backup's manifest or part does not hash to what it must
	ErrUnsafeArchive      = "unsafe_archive"      // an archive or manifest names paths outside its place, links out, or devices
	ErrBackupUnavailable  = "backup_unavailable"  // neither the node nor the offsite bucket holds the backup
	ErrOffsiteAuth        = "offsite_auth_failed" // the bucket refused the credentials
	ErrOffsiteUnreachable = "offsite_unreachable" // the bucket's endpoint did not answer
	ErrOffsiteFailed      = "offsite_failed"      // the bucket answered, but the transfer or its check failed

	ErrGitRefNotFound    = "git_ref_not_found"   // the repository has no such branch, tag or commit
	ErrGitUnreachable    = "git_unreachable"     // the repository's host did not answer, or serves no such repository
	ErrGitAuthFailed     = "git_auth_failed"     // the repository refused the deploy key, or its host key changed
	ErrArchiveTooLarge   = "archive_too_large"   // the download or its unpacked content is larger than max_bytes
	ErrWPContentMissing  = "wp_content_missing"  // the repository or archive holds no wp-content/ at its root
	ErrAddressNotAllowed = "address_not_allowed" // a URL leads to a private, loopback or link-local address
	ErrDownloadFailed    = "download_failed"     // an archive or package URL did not answer 200 with the whole file
	ErrUpdateUnavailable = "update_unavailable"  // no package URL and wordpress.org cannot be asked
	ErrUpdateFailed      = "update_failed"       // WordPress's upgrader failed; the new release was not written
)

// Paths on the node that both sides agree on.
const (
	LibDir   = "/usr/local/lib/pressluft"
	AgentDir = LibDir + "/agent" // <AgentDir>/<version>/pressluft-agent
	Root     = "/srv/pressluft"
)
