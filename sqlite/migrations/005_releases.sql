-- Releases as deploys, updates and rollbacks write them, and what an
-- environment's health check asks for besides its home page.

ALTER TABLE releases ADD COLUMN size_bytes INTEGER NOT NULL DEFAULT 0;
-- The database backup taken before this release replaced the one before
-- it: a rollback to that one may restore it.
ALTER TABLE releases ADD COLUMN snapshot_id TEXT NOT NULL DEFAULT '';
ALTER TABLE releases ADD COLUMN job_id TEXT NOT NULL DEFAULT '';

ALTER TABLE environments ADD COLUMN health_paths TEXT NOT NULL DEFAULT '[]';

-- A failed job that put back what it had changed (a deploy, update,
-- rollback or restore whose health check failed).
ALTER TABLE jobs ADD COLUMN rolled_back INTEGER NOT NULL DEFAULT 0;
