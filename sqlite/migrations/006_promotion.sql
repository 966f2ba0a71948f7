-- Drift checks and promotions: what a promotion from an environment leaves
-- alone, the state of its source when it was copied, and each check's result.

ALTER TABLE environments ADD COLUMN protected_tables TEXT NOT NULL DEFAULT '[]';

-- One baseline per copied environment: its source's state at copy time, or
-- after the last promotion from it.
CREATE TABLE baselines (
	environment_id        TEXT PRIMARY KEY REFERENCES environments(id) ON DELETE CASCADE,
	source_environment_id TEXT NOT NULL,
	state                 TEXT NOT NULL,
	recorded_at           TEXT NOT NULL
);

ALTER TABLE drift_checks ADD COLUMN source_environment_id TEXT NOT NULL DEFAULT '';
ALTER TABLE drift_checks ADD COLUMN job_id TEXT NOT NULL DEFAULT '';
ALTER TABLE drift_checks ADD COLUMN baseline_at TEXT NOT NULL DEFAULT '';
CREATE INDEX drift_checks_environment ON drift_checks(environment_id, created_at);
