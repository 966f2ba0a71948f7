package jobs

import (
	"context"
	"fmt"
	"strings"

	"github.com/pressluft/pressluft"
)

// protectedOf resolves what a promotion from env leaves alone.
func protectedOf(env *pressluft.Environment) []string {
	return pressluft.ProtectedPatterns(env.PromotionPreset, env.ProtectedTables)
}

// baselineOf reads the state of src as the baseline of env, its copy.
func (h *Handlers) baselineOf(ctx context.Context, node *pressluft.Node, env, src *pressluft.Environment, p pressluft.Progress) (*pressluft.Baseline, error) {
	p.Event("baseline", pressluft.LevelInfo, "Recording the state of "+src.SystemName+" (tables, versions, code) for drift checks.")
	state, err := h.Promote.EnvState(ctx, node, src.Spec("", ""), p)
	if err != nil {
		return nil, err
	}
	return &pressluft.Baseline{EnvironmentID: env.ID, SourceEnvironmentID: src.ID, State: state}, nil
}

// driftCheck compares the source of a staging or clone environment with
// the baseline taken when it was copied.
func (h *Handlers) driftCheck(ctx context.Context, j *pressluft.Job, p pressluft.Progress) (*pressluft.JobDone, error) {
	sc, err := h.loadEnv(ctx, j.EnvironmentID)
	if err != nil {
		return nil, err
	}
	d, err := h.drift(ctx, sc, p)
	if err != nil {
		return nil, err
	}
	d.JobID = j.ID
	return &pressluft.JobDone{DriftCheck: d, Result: map[string]any{"result": d.Result, "changes": d.Changes}}, nil
}

// drift reads the state of sc's source now and lists what differs from
// the baseline, leaving out the tables a promotion would not overwrite.
func (h *Handlers) drift(ctx context.Context, sc *envScope, p pressluft.Progress) (*pressluft.DriftCheck, error) {
	base, err := h.Promotions.FindBaseline(ctx, sc.env.ID)
	if err != nil {
		return nil, err
	}
	src, err := h.Sites.FindEnvironmentByID(ctx, base.SourceEnvironmentID)
	if err != nil {
		return nil, err
	}
	p.Event("drift", pressluft.LevelInfo, fmt.Sprintf("Comparing %s now with its state when %s was copied (%s).",
		src.SystemName, sc.env.SystemName, base.RecordedAt.UTC().Format("2006-01-02 15:04 MST")))
	now, err := h.Promote.EnvState(ctx, sc.node, src.Spec("", ""), p)
	if err != nil {
		return nil, err
	}
	protect := protectedOf(sc.env)
	d := &pressluft.DriftCheck{EnvironmentID: sc.env.ID, SourceEnvironmentID: src.ID, Result: pressluft.DriftClean,
		Changes: pressluft.Drift(base.State, now, protect), Protected: protect, BaselineAt: base.RecordedAt, ContentHash: now.ContentHash}
	if len(d.Changes) > 0 {
		d.Result = pressluft.DriftDrifted
		var names []string
		for _, c := range d.Changes {
			names = append(names, c.Kind+" "+c.Name+" "+c.Change)
		}
		p.Event("drift", pressluft.LevelWarn, fmt.Sprintf("%s changed since the copy: %s.", src.SystemName, strings.Join(names, "; ")))
	} else {
		p.Event("drift", pressluft.LevelInfo, src.SystemName+" has not changed outside the protected tables since the copy.")
	}
	return d, nil
}

// envPromote moves a staging environment's code and unprotected tables
// into its source (the job's environment): a backup first when asked, a
// database snapshot, a last drift check, a new release from the staging
// code, the tables with URLs rewritten, the switch and the health check —
// and on failure the previous release and the snapshot, as a deploy does.
func (h *Handlers) envPromote(ctx context.Context, j *pressluft.Job, p pressluft.Progress) (*pressluft.JobDone, error) {
	c, err := h.loadChange(ctx, j)
	if err != nil {
		return nil, untouched(err)
	}
	pp := c.payload.Promote
	if pp == nil {
		return nil, pressluft.Errorf(pressluft.EBadRequest, "Job payload is not readable.")
	}
	src, err := h.loadEnv(ctx, pp.SourceEnvironmentID)
	if err != nil {
		return nil, untouched(err)
	} else if src.node.ID != c.node.ID {
		return nil, untouched(pressluft.Errorf(pressluft.EPromotionInvalid, "The environments are on different nodes."))
	}
	if pp.BackupID != "" {
		b, err := h.Backups.FindBackupByID(ctx, pp.BackupID)
		if err != nil {
			return nil, untouched(err)
		}
		p.Event("backup", pressluft.LevelInfo, "Taking a full backup of "+c.env.SystemName+" first.")
		if err := h.takeBackup(ctx, c.envScope, b, p); err != nil {
			return nil, untouched(err)
		}
	}
	if err := h.snapshotFirst(ctx, c, p); err != nil {
		return nil, err
	}
	// The gate was checked when the promotion was asked for; the target may
	// have changed while the job waited. A retried job may have moved the
	// tables already, so only the first attempt checks again.
	if j.Attempt <= 1 {
		d, err := h.drift(ctx, src, p)
		if err != nil {
			return nil, untouched(err)
		} else if d.Result != pressluft.DriftClean {
			return nil, untouched(pressluft.Errorf(pressluft.EDriftNotClean, "%s changed since the last drift check; nothing was promoted. Run a drift check to see what.", c.env.SystemName))
		}
	}
	rel := pressluft.ReleaseIDFor(j)
	p.Event("build", pressluft.LevelInfo, fmt.Sprintf("Building release %s of %s with the code of %s.", rel, c.env.SystemName, src.env.SystemName))
	f, err := h.Release.BuildRelease(ctx, c.node, c.env.Spec(rel, ""),
		pressluft.DeploySource{Type: pressluft.ReleaseEnvironment, Environment: src.env.SystemName}, p)
	if err != nil {
		return nil, untouched(err)
	}
	srcPassword, err := h.secret(ctx, pressluft.SecretDBPassword(src.env.ID))
	if err != nil {
		return nil, untouched(err)
	}
	protect := protectedOf(src.env)
	p.Event("database", pressluft.LevelInfo, fmt.Sprintf("Moving the tables of %s into %s, except %s.",
		src.env.SystemName, c.env.SystemName, strings.Join(protect, ", ")))
	moved, err := h.Promote.PromoteDatabase(ctx, c.node, c.env.Spec(rel, c.dbPassword), src.env.Spec("", srcPassword), protect, rel+"-db", p)
	if err != nil {
		return nil, h.rollBackRelease(ctx, c, err, p)
	}
	p.Event("database", pressluft.LevelInfo, fmt.Sprintf("Moved %d tables (%s); left %d protected tables as they were.",
		len(moved.Moved), strings.Join(moved.Moved, ", "), len(moved.Protected)))
	done, err := h.switchTo(ctx, c, rel, pressluft.ReleasePromote, "from "+src.env.SystemName, f, p)
	if err != nil {
		return nil, err
	}
	// The target now holds what the staging environment had: that is the
	// new baseline, so the next drift check compares with it.
	if b, err := h.baselineOf(ctx, c.node, src.env, c.env, p); err == nil {
		done.Baseline = b
	} else {
		p.Event("baseline", pressluft.LevelWarn, "Could not record the new baseline ("+pressluft.ErrorMessage(err)+"); the next drift check will report drift.")
	}
	if res, ok := done.Result.(map[string]any); ok {
		res["source_environment_id"], res["moved_tables"], res["protected_tables"] = src.env.ID, moved.Moved, moved.Protected
		res["search_replace"], res["backup_id"] = moved.SearchReplace, pp.BackupID
	}
	return done, nil
}
