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

// Job types.
const (
	JobNodeProvision = "node_provision"
	JobNodeCheck     = "node_check" // connects the way every playbook does; changes nothing
	JobSiteCreate    = "site_create"
	JobEnvCreate     = "env_create"
	JobEnvDelete     = "env_delete"
	JobSiteDelete    = "site_delete"
	JobNoop          = "noop" // does nothing; measures the engine's own cost
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
	OutputTail    string          `json:"output_tail,omitempty"`
	Events        []*JobEvent     `json:"events,omitempty"`
	CreatedAt     time.Time       `json:"created_at"`
	StartedAt     *time.Time      `json:"started_at"`
	FinishedAt    *time.Time      `json:"finished_at"`
	UpdatedAt     time.Time       `json:"updated_at"`
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
	MaxAttempts   int
	RunAfter      time.Time
	Timeout       time.Duration // zero: JobTimeout(Type)
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
	Complete(ctx context.Context, id, workerID string, result any) error
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

// JobTimeout is the longest one attempt of a job type may run.
func JobTimeout(jobType string) time.Duration {
	switch jobType {
	case JobNoop:
		return time.Minute
	}
	return 30 * time.Minute
}
