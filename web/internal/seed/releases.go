package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/pressluft/pressluft"
	"github.com/pressluft/pressluft/sqlite"
)

// Releases names the seeded releases of an environment (newest first) and
// a deploy that failed its health check and rolled back.
type Releases struct {
	Current string `json:"current"` // a git deploy, served now
	Update  string `json:"update"`  // a plugin update; the snapshot its replacement took is kept
	Archive string `json:"archive"` // an archive deploy; the snapshot its replacement took was deleted since
	Initial string `json:"initial"` // made with the site; no snapshot was taken when it was replaced
	// RolledBackJob is a deploy whose new release answered 500 on an extra
	// path: the previous release and database were put back.
	RolledBackJob string `json:"rolled_back_job"`
}

const (
	seedCommit     = "3f2c1a9b0d4e5f60718293a4b5c6d7e8f9012345"
	seedArchiveURL = "https://ci.example.com/builds/shop-theme-42.tar.gz"
)

// seedReleases records four releases of env, each replacing the one before,
// with the database snapshots a rollback would restore, and a rolled back
// deploy an hour before the last release. Rows are written directly with
// ids of their time, so that they list where their time says and no worker
// picks up a job.
func seedReleases(ctx context.Context, db *sqlite.DB, jobs *sqlite.JobService, exec func(string, ...any) error, env *pressluft.Environment, now time.Time) (Releases, error) {
	var out Releases
	sites, backups := sqlite.NewSiteService(db, jobs), sqlite.NewBackupService(db, jobs)
	kept, err := snapshot(ctx, backups, exec, env, now.Add(-2*time.Hour))
	if err != nil {
		return out, err
	}
	// Deleted by hand from the backups since: the release still names it.
	deleted := idAt(now.Add(-26 * time.Hour))
	steps := []struct {
		id       *string
		at       time.Duration
		source   string
		ref      string
		size     int64
		snapshot string // taken when this release replaced the one before
	}{
		{&out.Initial, 72 * time.Hour, "initial", "", 71_303_168, ""},
		{&out.Archive, 50 * time.Hour, pressluft.ReleaseArchive, seedArchiveURL, 74_448_896, ""},
		{&out.Update, 26 * time.Hour, pressluft.ReleaseUpdate, "plugin akismet 5.0 → 5.3.3", 74_711_040, deleted},
		{&out.Current, 2 * time.Hour, pressluft.ReleaseGit, seedCommit, 75_235_328, kept},
	}
	dirs := map[string]string{}
	for _, s := range steps {
		at := now.Add(-s.at)
		id := idAt(at)
		dirs[s.source] = releaseDirAt(at, id)
		r := &pressluft.Release{ID: id, Source: s.source, Ref: s.ref, Path: env.Root() + "/releases/" + dirs[s.source],
			Health: pressluft.HealthHealthy, SizeBytes: s.size, SnapshotID: s.snapshot, CreatedAt: at}
		if err := sites.SetCurrentRelease(ctx, env.ID, r); err != nil {
			return out, err
		}
		*s.id = r.ID
	}
	// Between the update and the git deploy.
	out.RolledBackJob, err = rolledBackDeploy(exec, env, dirs[pressluft.ReleaseUpdate], now.Add(-3*time.Hour))
	if err != nil {
		return out, err
	}
	// What the queue leaves on an environment whose change was put back:
	// active again, with the reason.
	lastError := pressluft.EHealthCheckFailed + ": " + env.PreviewURL + "/shop/ answered 500, want 200. Rolled back: the previous release and database are served again."
	return out, exec(`UPDATE environments SET status = 'active', last_error = ? WHERE id = ?`, lastError, env.ID)
}

// snapshot records the database backup a deploy took before it switched.
func snapshot(ctx context.Context, svc *sqlite.BackupService, exec func(string, ...any) error, env *pressluft.Environment, at time.Time) (string, error) {
	id := idAt(at)
	if err := exec(`INSERT INTO backups (id, environment_id, site_id, scope, status, trigger_kind, created_at, updated_at)
		VALUES (?, ?, ?, 'db', 'pending', ?, ?, ?)`, id, env.ID, env.SiteID, pressluft.TriggerSnapshot, stamp(at), stamp(at)); err != nil {
		return "", err
	}
	if err := svc.StartBackup(ctx, id); err != nil {
		return "", err
	}
	if err := svc.CompleteBackup(ctx, id, backupFacts(env, id, pressluft.BackupScopeDB, at)); err != nil {
		return "", err
	}
	return id, exec(`UPDATE backups SET completed_at = ? WHERE id = ?`, stamp(at.Add(4*time.Second)), id)
}

// rolledBackDeploy records a finished env_deploy job as the queue leaves
// one whose health check failed and whose rollback succeeded.
func rolledBackDeploy(exec func(string, ...any) error, env *pressluft.Environment, previous string, at time.Time) (string, error) {
	id := idAt(at)
	payload, err := json.Marshal(pressluft.ReleasePayload{Deploy: &pressluft.DeployRequest{SourceType: pressluft.ReleaseGit,
		Repository: "git@github.com:acme/shop-theme.git", SourceRef: "feature/new-checkout"}})
	if err != nil {
		return "", err
	}
	msg := env.PreviewURL + "/shop/ answered 500, want 200. Rolled back: the previous release and database are served again."
	if err := exec(`INSERT INTO jobs (id, type, status, site_id, environment_id, node_id, payload, attempt, max_attempts, run_after,
		timeout_seconds, error_code, error_message, created_at, started_at, finished_at, updated_at)
		VALUES (?, ?, 'failed', ?, ?, ?, ?, 1, 1, ?, 1800, ?, ?, ?, ?, ?, ?)`,
		id, pressluft.JobEnvDeploy, env.SiteID, env.ID, env.NodeID, string(payload), stamp(at), pressluft.EHealthCheckFailed, msg,
		stamp(at), stamp(at.Add(time.Second)), stamp(at.Add(41*time.Second)), stamp(at.Add(41*time.Second))); err != nil {
		return "", err
	}
	rel := releaseDirAt(at, id)
	for _, ev := range []struct {
		at          time.Duration
		step, level string
		message     string
	}{
		{0, "queued", "info", "Job queued."},
		{1 * time.Second, "snapshot", "info", "Taking a snapshot of the database first."},
		{6 * time.Second, "build", "info", fmt.Sprintf("Building release %s from the git source.", rel)},
		{19 * time.Second, "switch", "info", "Serving release " + rel + "."},
		{24 * time.Second, "rollback", "warn", env.PreviewURL + "/shop/ answered 500, want 200. Switching back to release " + previous + " and restoring the database snapshot."},
		{40 * time.Second, "rollback", "info", "Rolled back in 15.8s: release " + previous + " and the database from before the change are served again."},
		{41 * time.Second, "failed", "error", pressluft.EHealthCheckFailed + ": " + msg},
	} {
		if err := exec(`INSERT INTO job_events (job_id, step, level, message, time) VALUES (?, ?, ?, ?, ?)`,
			id, ev.step, ev.level, ev.message, stamp(at.Add(ev.at))); err != nil {
			return "", err
		}
	}
	return id, nil
}

// releaseDirAt names a release directory as the jobs do: the time and the
// end of the job's id.
func releaseDirAt(at time.Time, id string) string {
	return "r" + at.UTC().Format("20060102-150405") + "-" + id[len(id)-8:]
}

// idAt is a version 7 id whose time part is t: lists ordered by id place a
// backdated row where its time says.
func idAt(t time.Time) string {
	u := uuid.Must(uuid.NewV7())
	ms := uint64(t.UnixMilli())
	for i := 0; i < 6; i++ {
		u[i] = byte(ms >> (40 - 8*i))
	}
	return u.String()
}
