-- The whole domain model of SPEC §2. Times are UTC text in a fixed-width
-- RFC 3339 form so that they sort as text.

CREATE TABLE users (
	id            TEXT PRIMARY KEY,
	email         TEXT NOT NULL UNIQUE COLLATE NOCASE,
	password_hash TEXT NOT NULL,
	created_at    TEXT NOT NULL,
	updated_at    TEXT NOT NULL
);

CREATE TABLE sessions (
	token_hash   TEXT PRIMARY KEY,
	user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	created_at   TEXT NOT NULL,
	last_seen_at TEXT NOT NULL,
	expires_at   TEXT NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE api_tokens (
	id           TEXT PRIMARY KEY,
	user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	name         TEXT NOT NULL,
	prefix       TEXT NOT NULL,
	token_hash   TEXT NOT NULL UNIQUE,
	created_at   TEXT NOT NULL,
	last_used_at TEXT,
	revoked_at   TEXT
);

CREATE TABLE audit_log (
	id            INTEGER PRIMARY KEY AUTOINCREMENT,
	time          TEXT NOT NULL,
	actor         TEXT NOT NULL,
	action        TEXT NOT NULL,
	resource_type TEXT NOT NULL DEFAULT '',
	resource_id   TEXT NOT NULL DEFAULT '',
	result        TEXT NOT NULL,
	status_code   INTEGER NOT NULL DEFAULT 0,
	request_id    TEXT NOT NULL DEFAULT '',
	ip            TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_resource ON audit_log(resource_type, resource_id);
CREATE INDEX audit_log_action ON audit_log(action);
CREATE INDEX audit_log_time ON audit_log(time);

CREATE TABLE settings (
	key        TEXT PRIMARY KEY,
	value      TEXT NOT NULL,
	updated_at TEXT NOT NULL
);

-- Secrets are AES-256-GCM ciphertexts; the key lives in the data directory.
CREATE TABLE secrets (
	name       TEXT PRIMARY KEY,
	nonce      BLOB NOT NULL,
	ciphertext BLOB NOT NULL,
	updated_at TEXT NOT NULL
);

CREATE TABLE nodes (
	id                   TEXT PRIMARY KEY,
	name                 TEXT NOT NULL,
	host                 TEXT NOT NULL,
	ssh_port             INTEGER NOT NULL,
	ssh_user             TEXT NOT NULL,
	host_key             TEXT NOT NULL DEFAULT '',
	host_key_fingerprint TEXT NOT NULL DEFAULT '',
	is_local             INTEGER NOT NULL DEFAULT 0,
	status               TEXT NOT NULL,
	os_name              TEXT NOT NULL DEFAULT '',
	os_version           TEXT NOT NULL DEFAULT '',
	nginx_version        TEXT NOT NULL DEFAULT '',
	php_version          TEXT NOT NULL DEFAULT '',
	mariadb_version      TEXT NOT NULL DEFAULT '',
	redis_version        TEXT NOT NULL DEFAULT '',
	last_seen_at         TEXT,
	last_error           TEXT NOT NULL DEFAULT '',
	created_at           TEXT NOT NULL,
	updated_at           TEXT NOT NULL
);
CREATE UNIQUE INDEX nodes_address ON nodes(host, ssh_port) WHERE status <> 'decommissioned';

CREATE TABLE sites (
	id                        TEXT PRIMARY KEY,
	name                      TEXT NOT NULL,
	slug                      TEXT NOT NULL UNIQUE,
	status                    TEXT NOT NULL,
	node_id                   TEXT NOT NULL REFERENCES nodes(id),
	production_environment_id TEXT NOT NULL DEFAULT '',
	created_at                TEXT NOT NULL,
	updated_at                TEXT NOT NULL
);

CREATE TABLE environments (
	id                    TEXT PRIMARY KEY,
	site_id               TEXT NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
	name                  TEXT NOT NULL,
	slug                  TEXT NOT NULL,
	type                  TEXT NOT NULL,
	node_id               TEXT NOT NULL REFERENCES nodes(id),
	source_environment_id TEXT NOT NULL DEFAULT '',
	status                TEXT NOT NULL,
	system_name           TEXT NOT NULL,
	preview_url           TEXT NOT NULL DEFAULT '',
	primary_domain        TEXT NOT NULL DEFAULT '',
	current_release_id    TEXT NOT NULL DEFAULT '',
	php_settings          TEXT NOT NULL DEFAULT '{}',
	fastcgi_cache         INTEGER NOT NULL DEFAULT 0,
	object_cache          INTEGER NOT NULL DEFAULT 0,
	drift_status          TEXT NOT NULL DEFAULT 'unknown',
	promotion_preset      TEXT NOT NULL DEFAULT '',
	last_error            TEXT NOT NULL DEFAULT '',
	created_at            TEXT NOT NULL,
	updated_at            TEXT NOT NULL,
	UNIQUE (site_id, slug),
	UNIQUE (node_id, system_name)
);

CREATE TABLE releases (
	id             TEXT PRIMARY KEY,
	environment_id TEXT NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
	source         TEXT NOT NULL,
	ref            TEXT NOT NULL DEFAULT '',
	path           TEXT NOT NULL,
	health         TEXT NOT NULL DEFAULT 'unknown',
	created_at     TEXT NOT NULL
);
CREATE INDEX releases_environment ON releases(environment_id);

CREATE TABLE backups (
	id              TEXT PRIMARY KEY,
	environment_id  TEXT NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
	scope           TEXT NOT NULL,
	status          TEXT NOT NULL,
	node_path       TEXT NOT NULL DEFAULT '',
	offsite_key     TEXT NOT NULL DEFAULT '',
	size_bytes      INTEGER NOT NULL DEFAULT 0,
	sha256          TEXT NOT NULL DEFAULT '',
	retention_until TEXT,
	wp_version      TEXT NOT NULL DEFAULT '',
	php_version     TEXT NOT NULL DEFAULT '',
	counts          TEXT NOT NULL DEFAULT '{}',
	created_at      TEXT NOT NULL,
	updated_at      TEXT NOT NULL
);
CREATE INDEX backups_environment ON backups(environment_id);

CREATE TABLE domains (
	id             TEXT PRIMARY KEY,
	environment_id TEXT NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
	hostname       TEXT NOT NULL UNIQUE COLLATE NOCASE,
	is_primary     INTEGER NOT NULL DEFAULT 0,
	tls_status     TEXT NOT NULL DEFAULT 'pending',
	cert_expires_at TEXT,
	created_at     TEXT NOT NULL,
	updated_at     TEXT NOT NULL
);

CREATE TABLE drift_checks (
	id             TEXT PRIMARY KEY,
	environment_id TEXT NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
	result         TEXT NOT NULL,
	differences    TEXT NOT NULL DEFAULT '{}',
	checksums      TEXT NOT NULL DEFAULT '{}',
	created_at     TEXT NOT NULL
);

-- The job engine. Claims and every later transition are single guarded
-- UPDATEs, so any number of workers (processes) can share the table.
CREATE TABLE jobs (
	id               TEXT PRIMARY KEY,
	type             TEXT NOT NULL,
	status           TEXT NOT NULL,
	site_id          TEXT NOT NULL DEFAULT '',
	environment_id   TEXT NOT NULL DEFAULT '',
	node_id          TEXT NOT NULL DEFAULT '',
	payload          TEXT NOT NULL DEFAULT '{}',
	result           TEXT NOT NULL DEFAULT '{}',
	attempt          INTEGER NOT NULL DEFAULT 0,
	max_attempts     INTEGER NOT NULL DEFAULT 3,
	run_after        TEXT NOT NULL,
	timeout_seconds  INTEGER NOT NULL,
	worker_id        TEXT NOT NULL DEFAULT '',
	lease_expires_at TEXT,
	cancel_requested INTEGER NOT NULL DEFAULT 0,
	error_code       TEXT NOT NULL DEFAULT '',
	error_message    TEXT NOT NULL DEFAULT '',
	output_tail      TEXT NOT NULL DEFAULT '',
	created_at       TEXT NOT NULL,
	started_at       TEXT,
	finished_at      TEXT,
	updated_at       TEXT NOT NULL
);
CREATE INDEX jobs_claim ON jobs(status, run_after);
CREATE INDEX jobs_site ON jobs(site_id, status);
CREATE INDEX jobs_node ON jobs(node_id, status);
CREATE INDEX jobs_environment ON jobs(environment_id);
CREATE INDEX jobs_type ON jobs(type);

CREATE TABLE job_events (
	seq     INTEGER PRIMARY KEY AUTOINCREMENT,
	job_id  TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
	step    TEXT NOT NULL,
	level   TEXT NOT NULL,
	message TEXT NOT NULL,
	time    TEXT NOT NULL
);
CREATE INDEX job_events_job ON job_events(job_id, seq);
