package pressluft

import (
	"context"
	"encoding/json"
	"time"
)

// Job statuses.
const (
	JobQueued    = "queued"
	JobRunning   = "running"
	JobSucceeded = "succeeded"
	JobFailed    = "failed"
	JobCancelled = "cancelled"
)

// Job is one unit of work on a node, with its plan, progress and result.
type Job struct {
	ID            string          `json:"id"`
	Type          string          `json:"type"`
	Status        string          `json:"status"`
	SiteID        string          `json:"site_id"`
	EnvironmentID string          `json:"environment_id"`
	NodeID        string          `json:"node_id"`
	Payload       json.RawMessage `json:"payload"`
	Result        json.RawMessage `json:"result"`
	Attempt       int             `json:"attempt"`
	MaxAttempts   int             `json:"max_attempts"`
	RunAfter      time.Time       `json:"run_after"`
	Timeout       time.Duration   `json:"-"`
	CancelRequest bool            `json:"cancel_requested"`
	ErrorCode     string          `json:"error_code"`
	ErrorMessage  string          `json:"error_message"`
	// RolledBack is set on a failed job that put back what it had changed.
	RolledBack bool        `json:"rolled_back"`
	OutputTail string      `json:"output_tail,omitempty"`
	Events     []*JobEvent `json:"events,omitempty"`
	CreatedAt  time.Time   `json:"created_at"`
	StartedAt  *time.Time  `json:"started_at"`
	FinishedAt *time.Time  `json:"finished_at"`
	UpdatedAt  time.Time   `json:"updated_at"`
	// Duplicate is set on the answer to an enqueue that found a queued or
	// running job with the same unique key and returned it instead.
	Duplicate bool `json:"-"`
}

// Terminal reports whether the job will not change any more.
func (j *Job) Terminal() bool {
	return j.Status == JobSucceeded || j.Status == JobFailed || j.Status == JobCancelled
}

// Event levels.
const (
	LevelInfo  = "info"
	LevelWarn  = "warn"
	LevelError = "error"
)

// JobEvent is one step-level progress record of a job.
type JobEvent struct {
	Seq     int64     `json:"seq"`
	JobID   string    `json:"job_id"`
	Step    string    `json:"step"`
	Level   string    `json:"level"`
	Message string    `json:"message"`
	Time    time.Time `json:"time"`
}

// NewJob describes a job to enqueue.
type NewJob struct {
	Type          string
	SiteID        string
	EnvironmentID string
	NodeID        string
	Payload       any
	MaxAttempts   int // zero: the kind's
	RunAfter      time.Time
	Timeout       time.Duration // zero: the kind's
	// UniqueKey, when set, allows one queued or running job with this key:
	// enqueueing another returns the existing job (see Job.Duplicate).
	UniqueKey string
	// RestoreStatus is the status the job's resource had before the job
	// changed it. A job that fails with an untouched node_unreachable error
	// (nothing ran on the node) puts it back ("" marks the resource failed).
	RestoreStatus string
}

// JobFilter selects jobs for listing.
type JobFilter struct {
	Status        string
	Type          string
	SiteID        string
	EnvironmentID string
	NodeID        string
	ListOptions
}

// Progress is how a running job reports what it does.
type Progress interface {
	Event(step, level, message string)
	// Output appends raw output to the job's bounded tail.
	Output(text string)
}

// NoProgress is the progress of node work that is not part of a job (an
// API answer that asks a node).
type NoProgress struct{}

func (NoProgress) Event(string, string, string) {}
func (NoProgress) Output(string)                {}

// JobService reads and controls jobs.
type JobService interface {
	FindJobByID(ctx context.Context, id string) (*Job, error)
	FindJobs(ctx context.Context, f JobFilter) ([]*Job, string, error)
	FindJobEvents(ctx context.Context, id string, afterSeq int64) ([]*JobEvent, error)
	Enqueue(ctx context.Context, nj NewJob) (*Job, error)
	CancelJob(ctx context.Context, id string) (*Job, error)
}

// JobQueue is the worker side of the job engine.
type JobQueue interface {
	// Claim takes the oldest runnable job whose site and node have no other
	// running job, or returns nil when there is none.
	Claim(ctx context.Context, workerID string, lease time.Duration) (*Job, error)
	// Heartbeat extends the lease and reports whether cancel was requested.
	Heartbeat(ctx context.Context, id, workerID string, lease time.Duration) (cancelRequested bool, err error)
	// Complete marks the job succeeded and applies done's domain changes in
	// the same transaction.
	Complete(ctx context.Context, id, workerID string, done *JobDone) error
	// Fail records err; transient errors are retried with backoff while
	// attempts remain. It returns the job's new status.
	Fail(ctx context.Context, id, workerID string, err error, retry bool) (string, error)
	MarkCancelled(ctx context.Context, id, workerID string) error
	// Release hands a running job back to the queue without using an attempt
	// (graceful shutdown).
	Release(ctx context.Context, id, workerID string) error
	// Rescue finds jobs whose lease expired and retries or fails them.
	Rescue(ctx context.Context) (int, error)
	AddEvent(ctx context.Context, id string, ev JobEvent) error
	AppendOutput(ctx context.Context, id, text string) error
	// EnqueueDue enqueues each periodic job whose time has come, once per
	// period however many periods were missed, and however many processes
	// call it. It returns how many it enqueued.
	EnqueueDue(ctx context.Context, periodic []PeriodicJob) (int, error)
}

// JobDone is a job's success: its result, and the domain changes that are
// committed in the same transaction as the job's end, so that a crash can
// never leave a succeeded job whose effect was not recorded (or the reverse).
type JobDone struct {
	Result any
	// EnvironmentStatus is the job's environment's new status ("" leaves it).
	EnvironmentStatus string
	// Release is recorded and becomes the job's environment's current release.
	Release *Release
	// PurgeEnvironments are environments removed from their node: their
	// rows and secrets go (and the site's row with its last environment).
	PurgeEnvironments []string
	// PruneReleases are releases whose directories the job removed.
	PruneReleases []string
	// DeleteSecrets are secrets the job has used up.
	DeleteSecrets []string
	// NodeStatus is the job's node's new status ("" leaves it).
	NodeStatus string
	NodeFacts  *NodeFacts
	// Baseline replaces the baseline of its environment.
	Baseline *Baseline
	// DriftCheck is recorded, and its result becomes its environment's
	// drift status.
	DriftCheck *DriftCheck
}

// PeriodicJob is a job the scheduler enqueues once every period.
type PeriodicJob struct {
	Name  string // stable: the schedule's row is keyed by it
	Every time.Duration
	Job   NewJob
}

// RetryDelay is the wait before attempt n+1 after attempt n failed: 15 s,
// 60 s, 4 min, … capped at 30 min.
func RetryDelay(attempt int) time.Duration {
	d := 15 * time.Second
	for i := 1; i < attempt && d < 30*time.Minute; i++ {
		d *= 4
	}
	return min(d, 30*time.Minute)
}
