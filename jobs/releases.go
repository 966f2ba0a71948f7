package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/pressluft/pressluft"
)

func readReleasePayload(j *pressluft.Job) (*pressluft.ReleasePayload, error) {
	var pl pressluft.ReleasePayload
	if err := json.Unmarshal(j.Payload, &pl); err != nil || pl.SnapshotID == "" {
		return nil, pressluft.Errorf(pressluft.EBadRequest, "Job payload is not readable.")
	}
	return &pl, nil
}

// releaseChange is what a deploy, update or rollback shares: the
// environment, the release it serves now, and the database snapshot taken
// before anything changes.
type releaseChange struct {
	*envScope
	job        *pressluft.Job
	payload    *pressluft.ReleasePayload
	previous   *pressluft.Release
	snapshot   *pressluft.Backup
	dbPassword string
}

// beginChange loads what a release job needs and takes the database
// snapshot (a retried job finds it taken).
func (h *Handlers) beginChange(ctx context.Context, j *pressluft.Job, p pressluft.Progress) (*releaseChange, error) {
	c, err := h.loadChange(ctx, j)
	if err != nil {
		return nil, untouched(err)
	}
	if err := h.snapshotFirst(ctx, c, p); err != nil {
		return nil, err
	}
	return c, nil
}

// snapshotFirst takes the database snapshot of a change before anything
// else changes the environment.
func (h *Handlers) snapshotFirst(ctx context.Context, c *releaseChange, p pressluft.Progress) error {
	p.Event("snapshot", pressluft.LevelInfo, "Taking a snapshot of the database first.")
	if err := h.takeBackup(ctx, c.envScope, c.snapshot, p); err != nil {
		return untouched(err)
	}
	return nil
}

func (h *Handlers) loadChange(ctx context.Context, j *pressluft.Job) (*releaseChange, error) {
	pl, err := readReleasePayload(j)
	if err != nil {
		return nil, err
	}
	sc, err := h.loadEnv(ctx, j.EnvironmentID)
	if err != nil {
		return nil, err
	}
	c := &releaseChange{envScope: sc, job: j, payload: pl}
	if c.previous, err = h.Releases.FindReleaseByID(ctx, sc.env.CurrentReleaseID); err != nil {
		return nil, err
	}
	if c.dbPassword, err = h.secret(ctx, pressluft.SecretDBPassword(sc.env.ID)); err != nil {
		return nil, err
	}
	c.snapshot, err = h.Backups.FindBackupByID(ctx, pl.SnapshotID)
	return c, err
}

// untouched marks an error that happened before the environment changed:
// it goes back to serving as before, not failed.
func untouched(err error) error {
	return &pressluft.Error{Code: pressluft.ErrorCode(err), Message: pressluft.ErrorMessage(err), Details: pressluft.ErrorDetails(err), RolledBack: true}
}

func (h *Handlers) deployRelease(ctx context.Context, j *pressluft.Job, p pressluft.Progress) (*pressluft.JobDone, error) {
	c, err := h.beginChange(ctx, j, p)
	if err != nil {
		return nil, err
	}
	d := c.payload.Deploy
	if d == nil {
		return nil, pressluft.Errorf(pressluft.EBadRequest, "Job payload is not readable.")
	}
	src := pressluft.DeploySource{Type: d.SourceType, Repository: d.Repository, Ref: d.SourceRef, ArchiveURL: d.ArchiveURL}
	if up := c.payload.Upload; up != nil {
		src.ArchivePath = up.Path
	}
	if src.AllowPrivate, err = h.Releases.AllowPrivateSources(ctx); err != nil {
		return nil, err
	}
	if d.SourceType == pressluft.ReleaseGit {
		// A repository reached over SSH uses the site's deploy key (made
		// when the key was first shown; public repositories need none).
		if key, err := h.Secrets.GetSecret(ctx, pressluft.SecretDeployKey(c.env.SiteID)); err == nil {
			src.DeployKey = string(key)
		} else if pressluft.ErrorCode(err) != pressluft.ENotFound {
			return nil, err
		}
	}
	rel := pressluft.ReleaseIDFor(j)
	p.Event("build", pressluft.LevelInfo, fmt.Sprintf("Building release %s from the %s source.", rel, d.SourceType))
	f, err := h.Release.BuildRelease(ctx, c.node, c.env.Spec(rel, ""), src, p)
	if err != nil {
		return nil, untouched(err)
	}
	ref := f.Ref
	if ref == "" {
		ref = d.SourceRef + d.ArchiveURL + uploadRef(c.payload.Upload)
	}
	return h.switchTo(ctx, c, rel, d.SourceType, ref, f, p)
}

func (h *Handlers) envUpdate(ctx context.Context, j *pressluft.Job, p pressluft.Progress) (*pressluft.JobDone, error) {
	c, err := h.loadChange(ctx, j)
	if err != nil {
		return nil, untouched(err)
	}
	u := c.payload.Update
	if u == nil {
		return nil, pressluft.Errorf(pressluft.EBadRequest, "Job payload is not readable.")
	}
	allow, err := h.Releases.AllowPrivateSources(ctx)
	if err != nil {
		return nil, untouched(err)
	}
	if u.VerifyOnClone {
		// Before the snapshot: an update the copy refuses leaves the live
		// environment exactly as it was.
		if err := h.verifyOnClone(ctx, c, u.Spec(allow), p); err != nil {
			return nil, err
		}
	}
	if err := h.snapshotFirst(ctx, c, p); err != nil {
		return nil, err
	}
	rel := pressluft.ReleaseIDFor(j)
	p.Event("build", pressluft.LevelInfo, fmt.Sprintf("Updating %s in a new release %s.", u.Scope, rel))
	f, err := h.Release.UpdateRelease(ctx, c.node, c.env.Spec(rel, ""), u.Spec(allow), p)
	if err != nil {
		return nil, untouched(err)
	}
	for _, line := range f.Changed {
		p.Event("build", pressluft.LevelInfo, "Updated "+line+".")
	}
	done, err := h.switchTo(ctx, c, rel, pressluft.ReleaseUpdate, strings.Join(f.Changed, "; "), f, p)
	if done != nil {
		if m, ok := done.Result.(map[string]any); ok {
			m["verified_on_clone"] = u.VerifyOnClone
		}
	}
	return done, err
}

// switchTo serves release rel, checks it and keeps it, or rolls files and
// database back to what the environment served before.
func (h *Handlers) switchTo(ctx context.Context, c *releaseChange, rel, source, ref string, f *pressluft.ReleaseFacts, p pressluft.Progress) (*pressluft.JobDone, error) {
	facts, err := h.Release.SwitchRelease(ctx, c.node, c.env.Spec(rel, ""), rel, p)
	if err == nil {
		err = h.checkRelease(ctx, c.envScope, facts, p)
	}
	if err != nil {
		return nil, h.rollBackRelease(ctx, c, err, p)
	}
	r := releaseFor(c.env, rel, source, ref)
	r.SizeBytes, r.SnapshotID, r.JobID = f.SizeBytes, c.snapshot.ID, c.job.ID
	pruned, err := h.prune(ctx, c, rel, p)
	if err != nil {
		return nil, err
	}
	return &pressluft.JobDone{Release: r, EnvironmentStatus: pressluft.StatusActive, PruneReleases: pruned,
		Result: map[string]any{"release_id": rel, "ref": ref, "previous_release_id": c.previous.Dir(), "snapshot_id": c.snapshot.ID, "pruned": pruned}}, nil
}

// checkRelease is the health check of a switched release: WordPress is
// installed and reaches its database, and the home page and every extra
// path answer 200 without a PHP error.
func (h *Handlers) checkRelease(ctx context.Context, sc *envScope, f *pressluft.EnvFacts, p pressluft.Progress) error {
	if f != nil && (!f.Installed || !f.DBOK) {
		return pressluft.Errorf(pressluft.EHealthCheckFailed, "WordPress reports installed=%v, database reachable=%v.", f.Installed, f.DBOK)
	}
	title := ""
	if f != nil {
		title = f.TitleHTML
	}
	if err := h.checkServes(ctx, sc.node, sc.env, title, p); err != nil {
		return err
	}
	for _, path := range sc.env.HealthPaths {
		if err := h.checkURL(ctx, sc.node, strings.TrimRight(sc.env.PreviewURL, "/")+path, "", p); err != nil {
			return err
		}
	}
	return nil
}

// rollBackRelease serves the previous release and restores the database
// snapshot after the new release failed, within the same job.
func (h *Handlers) rollBackRelease(ctx context.Context, c *releaseChange, cause error, p pressluft.Progress) error {
	start := time.Now()
	p.Event("rollback", pressluft.LevelWarn, fmt.Sprintf("%s Switching back to release %s and restoring the database snapshot.",
		pressluft.ErrorMessage(cause), c.previous.Dir()))
	if _, err := h.Release.SwitchRelease(ctx, c.node, c.env.Spec(c.previous.Dir(), ""), c.previous.Dir(), p); err != nil {
		return pressluft.Errorf(pressluft.EHealthCheckFailed, "%s The rollback failed too: %s", pressluft.ErrorMessage(cause), pressluft.ErrorMessage(err))
	}
	snap, err := h.Backups.FindBackupByID(ctx, c.snapshot.ID)
	if err != nil {
		return err
	}
	if _, err := h.restoreFrom(ctx, c.envScope, snap, dbRestoreID(c.job, "back"), c.dbPassword, p); err != nil {
		return pressluft.Errorf(pressluft.EHealthCheckFailed, "%s The database rollback failed: %s", pressluft.ErrorMessage(cause), pressluft.ErrorMessage(err))
	}
	if err := h.checkServes(ctx, c.node, c.env, "", p); err != nil {
		return pressluft.Errorf(pressluft.EHealthCheckFailed, "%s After the rollback: %s", pressluft.ErrorMessage(cause), pressluft.ErrorMessage(err))
	}
	took := time.Since(start).Round(10 * time.Millisecond)
	p.Event("rollback", pressluft.LevelInfo, fmt.Sprintf("Rolled back in %s: release %s and the database from before the change are served again.", took, c.previous.Dir()))
	code := pressluft.ErrorCode(cause)
	if code != pressluft.EHealthCheckFailed && !pressluft.IsTransient(cause) {
		code = pressluft.EHealthCheckFailed
	}
	return &pressluft.Error{Code: code, RolledBack: true, Details: map[string]any{"rolled_back": true, "rollback_seconds": took.Seconds()},
		Message: pressluft.ErrorMessage(cause) + " Rolled back: the previous release and database are served again."}
}

// prune removes releases past the kept count with their snapshots; the
// current and the previous release always stay.
func (h *Handlers) prune(ctx context.Context, c *releaseChange, current string, p pressluft.Progress) ([]string, error) {
	keep, err := h.Releases.ReleasesKeep(ctx)
	if err != nil {
		return nil, err
	}
	all, err := h.Releases.FindReleases(ctx, c.env.ID) // newest first, without the new one
	if err != nil {
		return nil, err
	}
	dirs := []string{current, c.previous.Dir()}
	var pruned []*pressluft.Release
	for _, r := range all {
		switch {
		case r.ID == c.previous.ID || r.Dir() == current:
		case len(dirs) < keep:
			dirs = append(dirs, r.Dir())
		default:
			pruned = append(pruned, r)
		}
	}
	removed, err := h.Release.PruneReleases(ctx, c.node, c.env.SystemName, dirs)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, r := range pruned {
		ids = append(ids, r.ID)
		if r.SnapshotID == "" {
			continue
		}
		if err := h.Backup.DeleteBackup(ctx, c.node, c.env.SystemName, r.SnapshotID, nil, ""); err != nil {
			return nil, err
		}
		if err := h.Backups.RemoveBackup(ctx, r.SnapshotID); err != nil {
			return nil, err
		}
	}
	if len(removed) > 0 {
		p.Event("prune", pressluft.LevelInfo, fmt.Sprintf("Kept %d releases; removed %s.", len(dirs), strings.Join(removed, ", ")))
	}
	return ids, nil
}

func (h *Handlers) releaseRollback(ctx context.Context, j *pressluft.Job, p pressluft.Progress) (*pressluft.JobDone, error) {
	c, err := h.beginChange(ctx, j, p)
	if err != nil {
		return nil, err
	}
	rb := c.payload.Rollback
	if rb == nil {
		return nil, pressluft.Errorf(pressluft.EBadRequest, "Job payload is not readable.")
	}
	target, err := h.Releases.FindReleaseByID(ctx, rb.ReleaseID)
	if err != nil {
		return nil, untouched(err)
	}
	p.Event("switch", pressluft.LevelInfo, "Switching back to release "+target.Dir()+".")
	facts, err := h.Release.SwitchRelease(ctx, c.node, c.env.Spec(target.Dir(), ""), target.Dir(), p)
	if err == nil && rb.RestoreSnapshotID != "" {
		var snap *pressluft.Backup
		if snap, err = h.Backups.FindBackupByID(ctx, rb.RestoreSnapshotID); err == nil {
			p.Event("restore", pressluft.LevelWarn, "Restoring the database as it was when release "+target.Dir()+" was replaced; content written since then is lost.")
			_, err = h.restoreFrom(ctx, c.envScope, snap, dbRestoreID(j, "db"), c.dbPassword, p)
		}
	}
	if err == nil {
		err = h.checkRelease(ctx, c.envScope, facts, p)
	}
	if err != nil {
		return nil, h.rollBackRelease(ctx, c, err, p)
	}
	return &pressluft.JobDone{Release: target, EnvironmentStatus: pressluft.StatusActive,
		Result: map[string]any{"release_id": target.Dir(), "database_restored": rb.RestoreSnapshotID != "", "snapshot_id": c.snapshot.ID}}, nil
}

// dbRestoreID names a restore of a database snapshot: it writes no release,
// but the agent tells its runs apart by this id, so each restore in a job
// gets its own.
func dbRestoreID(j *pressluft.Job, what string) string {
	return pressluft.ReleaseIDFor(j) + "-" + what
}
