package pressluft

import "time"

// Job types.
const (
	JobNodeProvision   = "node_provision"
	JobNodeCheck       = "node_check" // connects the way every playbook does; changes nothing
	JobSiteCreate      = "site_create"
	JobEnvCreate       = "env_create"
	JobEnvDelete       = "env_delete"
	JobSiteDelete      = "site_delete"
	JobSessionCleanup  = "session_cleanup" // periodic: removes expired sessions
	JobBackupCreate    = "backup_create"
	JobBackupUpload    = "backup_upload" // copies a completed backup offsite (again)
	JobBackupDelete    = "backup_delete"
	JobBackupCleanup   = "backup_cleanup" // periodic: retention
	JobEnvRestore      = "env_restore"
	JobEnvDeploy       = "env_deploy"
	JobEnvUpdate       = "env_update"
	JobReleaseRollback = "release_rollback"
	JobDriftCheck      = "drift_check"
	JobEnvPromote      = "env_promote"
	JobNoop            = "noop" // does nothing; measures the engine's own cost
)

// Lock scopes: what a running job holds. The queue checks them where a
// worker claims a job, so they hold across processes.
const (
	// LockNone holds nothing (maintenance work on the control plane).
	LockNone = "none"
	// LockSite holds the job's site; other sites' jobs on the same node run
	// beside it. It waits while a LockNode job of its node runs or waits
	// ahead of it.
	LockSite = "site"
	// LockNode holds the job's node alone: it starts when nothing runs on
	// the node, and nothing starts there until it ends.
	LockNode = "node"
)

// What a job's final failure, cancellation or loss marks failed, so that
// reset can recover it.
const (
	MarksNothing     = ""
	MarksNode        = "node"
	MarksEnvironment = "environment"
	MarksSite        = "site"   // every environment of the site
	MarksBackup      = "backup" // the backup the job writes (its backups.job_id)
)

// JobKind is everything the engine knows about one job type. Each kind is
// defined once, in JobKinds; its handler is registered by the jobs package.
type JobKind struct {
	Type        string
	Timeout     time.Duration // one attempt's limit
	MaxAttempts int
	Lock        string
	Marks       string
}

// JobKinds lists every job kind.
func JobKinds() []JobKind {
	return []JobKind{
		{Type: JobNodeProvision, Timeout: 30 * time.Minute, MaxAttempts: 3, Lock: LockNode, Marks: MarksNode},
		{Type: JobNodeCheck, Timeout: 2 * time.Minute, MaxAttempts: 1, Lock: LockNode, Marks: MarksNothing},
		{Type: JobSiteCreate, Timeout: 15 * time.Minute, MaxAttempts: 3, Lock: LockSite, Marks: MarksEnvironment},
		{Type: JobEnvCreate, Timeout: 30 * time.Minute, MaxAttempts: 3, Lock: LockSite, Marks: MarksEnvironment},
		{Type: JobEnvDelete, Timeout: 10 * time.Minute, MaxAttempts: 3, Lock: LockSite, Marks: MarksEnvironment},
		{Type: JobSiteDelete, Timeout: 20 * time.Minute, MaxAttempts: 3, Lock: LockSite, Marks: MarksSite},
		{Type: JobBackupCreate, Timeout: time.Hour, MaxAttempts: 3, Lock: LockSite, Marks: MarksBackup},
		{Type: JobBackupUpload, Timeout: time.Hour, MaxAttempts: 3, Lock: LockSite, Marks: MarksNothing},
		{Type: JobBackupDelete, Timeout: 10 * time.Minute, MaxAttempts: 3, Lock: LockSite, Marks: MarksNothing},
		{Type: JobEnvRestore, Timeout: 2 * time.Hour, MaxAttempts: 3, Lock: LockSite, Marks: MarksEnvironment},
		{Type: JobEnvDeploy, Timeout: 30 * time.Minute, MaxAttempts: 3, Lock: LockSite, Marks: MarksEnvironment},
		{Type: JobEnvUpdate, Timeout: 30 * time.Minute, MaxAttempts: 3, Lock: LockSite, Marks: MarksEnvironment},
		{Type: JobReleaseRollback, Timeout: 30 * time.Minute, MaxAttempts: 3, Lock: LockSite, Marks: MarksEnvironment},
		{Type: JobDriftCheck, Timeout: 10 * time.Minute, MaxAttempts: 2, Lock: LockSite, Marks: MarksNothing},
		{Type: JobEnvPromote, Timeout: time.Hour, MaxAttempts: 3, Lock: LockSite, Marks: MarksEnvironment},
		{Type: JobBackupCleanup, Timeout: 5 * time.Minute, MaxAttempts: 1, Lock: LockNone, Marks: MarksNothing},
		{Type: JobSessionCleanup, Timeout: time.Minute, MaxAttempts: 1, Lock: LockNone, Marks: MarksNothing},
		{Type: JobNoop, Timeout: time.Minute, MaxAttempts: 3, Lock: LockSite, Marks: MarksNothing},
	}
}

// KindOf returns the kind of a job type.
func KindOf(jobType string) (JobKind, bool) {
	for _, k := range JobKinds() {
		if k.Type == jobType {
			return k, true
		}
	}
	return JobKind{}, false
}

// ReleaseIDFor names the release a job writes. It is derived from the job,
// so a retried or re-run job converges on the same directory, and two jobs
// in the same second never share one.
func ReleaseIDFor(j *Job) string {
	id := j.ID
	if len(id) > 8 {
		id = id[len(id)-8:]
	}
	return "r" + j.CreatedAt.UTC().Format("20060102-150405") + "-" + id
}
