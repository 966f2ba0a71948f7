-- Lock scope, unique key and restore status per job (see pressluft.JobKind), and the
-- periodic scheduler's state.

ALTER TABLE jobs ADD COLUMN lock_scope TEXT NOT NULL DEFAULT 'site';
ALTER TABLE jobs ADD COLUMN unique_key TEXT NOT NULL DEFAULT '';
-- The status the job's resource had before the job: it returns to it when the
-- job fails before anything ran on the node ('' marks it failed instead).
ALTER TABLE jobs ADD COLUMN restore_status TEXT NOT NULL DEFAULT '';

-- Jobs queued by an earlier version took the site and the node alone.
UPDATE jobs SET lock_scope = 'node' WHERE type IN ('node_provision', 'node_check');

-- At most one queued or running job per unique key.
CREATE UNIQUE INDEX jobs_unique ON jobs(unique_key) WHERE unique_key <> '' AND status IN ('queued', 'running');

-- One row per periodic job: when it is next due. Updated in the transaction
-- that enqueues its run, so two processes never enqueue the same period.
CREATE TABLE periodic_jobs (
	name        TEXT PRIMARY KEY,
	next_run_at TEXT NOT NULL,
	last_job_id TEXT NOT NULL DEFAULT '',
	updated_at  TEXT NOT NULL
);
