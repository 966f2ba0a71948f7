-- Backups as the node agent writes them, their schedules, and the offsite
-- target's settings (the secret key is a secret, not a setting).

ALTER TABLE backups ADD COLUMN site_id TEXT NOT NULL DEFAULT '';
ALTER TABLE backups ADD COLUMN trigger_kind TEXT NOT NULL DEFAULT 'manual';
ALTER TABLE backups ADD COLUMN location TEXT NOT NULL DEFAULT '';
ALTER TABLE backups ADD COLUMN offsite_error TEXT NOT NULL DEFAULT '';
ALTER TABLE backups ADD COLUMN manifest TEXT NOT NULL DEFAULT '';
ALTER TABLE backups ADD COLUMN job_id TEXT NOT NULL DEFAULT '';
ALTER TABLE backups ADD COLUMN error TEXT NOT NULL DEFAULT '';
ALTER TABLE backups ADD COLUMN completed_at TEXT;
CREATE INDEX backups_job ON backups(job_id);

-- One schedule per environment. next_run_at moves on in the transaction
-- that enqueues a run, so a period is enqueued once however many processes
-- look, and once (not once per missed period) after downtime.
CREATE TABLE backup_schedules (
	environment_id TEXT PRIMARY KEY REFERENCES environments(id) ON DELETE CASCADE,
	frequency      TEXT NOT NULL,              -- hourly | daily | weekly
	minute         INTEGER NOT NULL DEFAULT 0, -- 0-59
	hour           INTEGER NOT NULL DEFAULT 0, -- 0-23 (daily, weekly)
	weekday        INTEGER NOT NULL DEFAULT 0, -- 0 = Sunday (weekly)
	timezone       TEXT NOT NULL DEFAULT 'UTC',
	scope          TEXT NOT NULL DEFAULT 'full',
	keep_last      INTEGER NOT NULL DEFAULT 0, -- 0: no count limit
	keep_days      INTEGER NOT NULL DEFAULT 0, -- 0: no age limit
	next_run_at    TEXT NOT NULL,
	last_job_id    TEXT NOT NULL DEFAULT '',
	created_at     TEXT NOT NULL,
	updated_at     TEXT NOT NULL
);

DELETE FROM settings WHERE key = 'offsite_backup_target';
