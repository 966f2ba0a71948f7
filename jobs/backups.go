package jobs

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/pressluft/pressluft"
)

// backupPayload is what the backup jobs carry.
type backupPayload struct {
	BackupID    string `json:"backup_id"`
	PreBackupID string `json:"pre_backup_id"` // env_restore: the backup of the target taken first
}

func readBackupPayload(j *pressluft.Job) (*backupPayload, error) {
	var pl backupPayload
	if err := json.Unmarshal(j.Payload, &pl); err != nil || pl.BackupID == "" {
		return nil, pressluft.Errorf(pressluft.EBadRequest, "Job payload is not readable.")
	}
	return &pl, nil
}

// loadBackup reads what a backup job names: its payload, its environment
// and node, and its backup.
func (h *Handlers) loadBackup(ctx context.Context, j *pressluft.Job) (*backupPayload, *envScope, *pressluft.Backup, error) {
	pl, err := readBackupPayload(j)
	if err != nil {
		return nil, nil, nil, err
	}
	sc, err := h.loadEnv(ctx, j.EnvironmentID)
	if err != nil {
		return nil, nil, nil, err
	}
	b, err := h.Backups.FindBackupByID(ctx, pl.BackupID)
	return pl, sc, b, err
}

func (h *Handlers) backupCreate(ctx context.Context, j *pressluft.Job, p pressluft.Progress) (*pressluft.JobDone, error) {
	_, sc, b, err := h.loadBackup(ctx, j)
	if err != nil {
		return nil, err
	}
	if err := h.takeBackup(ctx, sc, b, p); err != nil {
		return nil, err
	}
	if err := h.uploadIfOffsite(ctx, sc, b.ID, p); err != nil {
		return nil, err
	}
	// A new scheduled backup is when an old one falls out of retention.
	if b.Trigger == pressluft.TriggerSchedule {
		if _, _, err := h.expire(ctx, p); err != nil {
			return nil, err
		}
	}
	b, err = h.Backups.FindBackupByID(ctx, b.ID)
	if err != nil {
		return nil, err
	}
	return &pressluft.JobDone{Result: map[string]any{"backup_id": b.ID, "size_bytes": b.SizeBytes, "sha256": b.SHA256, "location": b.Location}}, nil
}

// takeBackup writes backup b of the scope's environment on its node and
// records it completed. A backup already completed (a retried job) is kept.
func (h *Handlers) takeBackup(ctx context.Context, sc *envScope, b *pressluft.Backup, p pressluft.Progress) error {
	if b.Status == pressluft.BackupCompleted {
		return nil
	}
	if err := h.Backups.StartBackup(ctx, b.ID); err != nil {
		return err
	}
	p.Event("backup", pressluft.LevelInfo, fmt.Sprintf("Taking a %s backup of %s.", b.Scope, sc.env.SystemName))
	f, err := h.Backup.CreateBackup(ctx, sc.node, sc.env.Spec("", ""), pressluft.BackupSpec{ID: b.ID, Scope: b.Scope, CreatedAt: b.CreatedAt}, p)
	if err != nil {
		return err
	}
	if err := h.Backups.CompleteBackup(ctx, b.ID, f); err != nil {
		return err
	}
	p.Event("backup", pressluft.LevelInfo, fmt.Sprintf("Backup %s complete on the node: %d bytes, manifest sha256 %s.", b.ID, f.Size, f.ManifestSHA256))
	return nil
}

// uploadIfOffsite copies a completed backup to the offsite target when one
// is set. A failed upload keeps the node copy and is recorded on the backup;
// the job fails with the upload's code, so a retry uploads it.
func (h *Handlers) uploadIfOffsite(ctx context.Context, sc *envScope, backupID string, p pressluft.Progress) error {
	t, err := h.Backups.OffsiteTarget(ctx)
	if err != nil || t == nil {
		return err
	}
	site, err := h.Sites.FindSiteByID(ctx, sc.env.SiteID)
	if err != nil {
		return err
	}
	key := pressluft.OffsiteKey(t, site.Slug, sc.env.SystemName, backupID)
	p.Event("offsite", pressluft.LevelInfo, fmt.Sprintf("Uploading to %s/%s/%s.", t.Endpoint, t.Bucket, key))
	if err := h.Backup.UploadBackup(ctx, sc.node, sc.env.SystemName, backupID, *t, key, p); err != nil {
		if e := h.Backups.SetBackupOffsite(ctx, backupID, "", pressluft.ErrorCode(err)); e != nil {
			return e
		}
		p.Event("offsite", pressluft.LevelWarn, "The backup is complete on the node; its offsite copy failed. A retry of this job, or an upload from the backup's page, copies it again.")
		return err
	}
	if err := h.Backups.SetBackupOffsite(ctx, backupID, key, ""); err != nil {
		return err
	}
	p.Event("offsite", pressluft.LevelInfo, "The offsite copy matches the node copy in size and checksum.")
	return h.trimLocalCopies(ctx, sc, p)
}

// trimLocalCopies removes the node copies of offsite backups past the
// newest keep_local of the environment.
func (h *Handlers) trimLocalCopies(ctx context.Context, sc *envScope, p pressluft.Progress) error {
	o, err := h.Backups.Offsite(ctx)
	if err != nil || o == nil || o.KeepLocal == 0 {
		return err
	}
	old, err := h.Backups.LocalCopiesBeyond(ctx, sc.env.ID, o.KeepLocal)
	if err != nil {
		return err
	}
	for _, b := range old {
		if err := h.Backup.DeleteBackup(ctx, sc.node, sc.env.SystemName, b.ID, nil, ""); err != nil {
			return err
		}
		if err := h.Backups.DropLocalCopy(ctx, b.ID); err != nil {
			return err
		}
		p.Event("offsite", pressluft.LevelInfo, fmt.Sprintf("Backup %s is now kept offsite only (keep_local %d).", b.ID, o.KeepLocal))
	}
	return nil
}

func (h *Handlers) backupUpload(ctx context.Context, j *pressluft.Job, p pressluft.Progress) (*pressluft.JobDone, error) {
	_, sc, b, err := h.loadBackup(ctx, j)
	if err != nil {
		return nil, err
	}
	if t, err := h.Backups.OffsiteTarget(ctx); err != nil {
		return nil, err
	} else if t == nil {
		return nil, pressluft.Errorf(pressluft.EConflict, "No offsite target is set; set one in the settings first.")
	}
	if err := h.uploadIfOffsite(ctx, sc, b.ID, p); err != nil {
		return nil, err
	}
	return &pressluft.JobDone{Result: map[string]any{"backup_id": b.ID}}, nil
}

func (h *Handlers) backupDelete(ctx context.Context, j *pressluft.Job, p pressluft.Progress) (*pressluft.JobDone, error) {
	pl, err := readBackupPayload(j)
	if err != nil {
		return nil, err
	}
	b, err := h.Backups.FindBackupByID(ctx, pl.BackupID)
	if pressluft.ErrorCode(err) == pressluft.ENotFound {
		return &pressluft.JobDone{Result: map[string]any{"backup_id": pl.BackupID, "removed": false}}, nil
	} else if err != nil {
		return nil, err
	}
	sc, err := h.loadEnv(ctx, b.EnvironmentID)
	if err != nil {
		return nil, err
	}
	var t *pressluft.OffsiteTarget
	if b.OffsiteKey != "" {
		if t, err = h.Backups.OffsiteTarget(ctx); err != nil {
			return nil, err
		} else if t == nil {
			p.Event("offsite", pressluft.LevelWarn, "No offsite target is set any more; the offsite copy under "+b.OffsiteKey+" stays where it is.")
		}
	}
	p.Event("delete", pressluft.LevelInfo, "Removing backup "+b.ID+".")
	if err := h.Backup.DeleteBackup(ctx, sc.node, sc.env.SystemName, b.ID, t, b.OffsiteKey); err != nil {
		return nil, err
	}
	if err := h.Backups.RemoveBackup(ctx, b.ID); err != nil {
		return nil, err
	}
	return &pressluft.JobDone{Result: map[string]any{"backup_id": b.ID, "removed": true}}, nil
}

// backupCleanup applies retention (hourly, and after each scheduled backup).
func (h *Handlers) backupCleanup(ctx context.Context, _ *pressluft.Job, p pressluft.Progress) (*pressluft.JobDone, error) {
	expired, queued, err := h.expire(ctx, p)
	if err != nil {
		return nil, err
	}
	return &pressluft.JobDone{Result: map[string]int{"expired": expired, "queued": queued}}, nil
}

// expire marks the backups retention no longer keeps expired and queues
// one backup_delete for each (which removes it from its node and the
// offsite target, holding the backup's site like any other work on it).
func (h *Handlers) expire(ctx context.Context, p pressluft.Progress) (expired, queued int, err error) {
	list, err := h.Backups.ExpireBackups(ctx)
	if err != nil {
		return 0, 0, err
	}
	for _, b := range list {
		if _, err := h.Backups.DeleteBackup(ctx, b.ID); err != nil {
			p.Event("retention", pressluft.LevelWarn, fmt.Sprintf("Backup %s stays for now: %s", b.ID, pressluft.ErrorMessage(err)))
			continue
		}
		queued++
	}
	p.Event("retention", pressluft.LevelInfo, fmt.Sprintf("%d expired backups; %d removals queued.", len(list), queued))
	return len(list), queued, nil
}

// untouchedCodes are the restore failures the agent reports before it
// switched anything: the environment serves what it served before.
var untouchedCodes = map[string]bool{pressluft.EChecksumMismatch: true, pressluft.EUnsafeArchive: true,
	pressluft.EInsufficientSpace: true, pressluft.EBackupUnavailable: true, pressluft.EOffsiteAuth: true,
	pressluft.EOffsiteUnreachable: true, pressluft.EOffsiteFailed: true}

// envRestore restores a backup into the job's environment: a full backup
// of the environment first, then the restore (a new release and a database
// swap, made by the agent), then the control plane's health check. When
// the check fails, the backup taken first is restored the same way.
func (h *Handlers) envRestore(ctx context.Context, j *pressluft.Job, p pressluft.Progress) (*pressluft.JobDone, error) {
	pl, sc, b, err := h.loadBackup(ctx, j)
	if err != nil {
		return nil, err
	}
	pre, err := h.Backups.FindBackupByID(ctx, pl.PreBackupID)
	if err != nil {
		return nil, err
	}
	p.Event("backup", pressluft.LevelInfo, "Backing up "+sc.env.SystemName+" before the restore.")
	if err := h.takeBackup(ctx, sc, pre, p); err != nil {
		return nil, err
	}
	dbPassword, err := h.secret(ctx, pressluft.SecretDBPassword(sc.env.ID))
	if err != nil {
		return nil, err
	}
	rel := pressluft.ReleaseIDFor(j)
	facts, err := h.restoreFrom(ctx, sc, b, rel, dbPassword, p)
	if err != nil {
		if untouchedCodes[pressluft.ErrorCode(err)] {
			return nil, &pressluft.Error{Code: pressluft.ErrorCode(err), Message: pressluft.ErrorMessage(err), RolledBack: true}
		}
		return nil, err
	}
	if cerr := h.checkServes(ctx, sc.node, sc.env, "", p); cerr != nil {
		return nil, h.rollBackRestore(ctx, sc, pre, rel+"-back", dbPassword, cerr, p)
	}
	result := map[string]any{"backup_id": b.ID, "pre_restore_backup_id": pre.ID, "wp_version": facts.WPVersion}
	if b.Scope == pressluft.BackupScopeDB {
		// The files and the release stay as they are.
		return &pressluft.JobDone{Result: result, EnvironmentStatus: pressluft.StatusActive}, nil
	}
	result["release_id"] = rel
	return created(sc.env, rel, pressluft.ReleaseRestore, b.ID, result), nil
}

// restoreFrom restores backup b into the scope's environment as release rel.
func (h *Handlers) restoreFrom(ctx context.Context, sc *envScope, b *pressluft.Backup, rel, dbPassword string, p pressluft.Progress) (*pressluft.EnvFacts, error) {
	src := pressluft.BackupSource{ID: b.ID, ManifestSHA256: b.SHA256, OffsiteKey: b.OffsiteKey}
	if b.Location == pressluft.LocationNode || b.Location == pressluft.LocationBoth {
		owner, err := h.Sites.FindEnvironmentByID(ctx, b.EnvironmentID)
		if err != nil {
			return nil, err
		}
		src.EnvName = owner.SystemName
	}
	if b.OffsiteKey != "" {
		t, err := h.Backups.OffsiteTarget(ctx)
		if err != nil {
			return nil, err
		}
		src.Offsite = t
	}
	p.Event("restore", pressluft.LevelInfo, fmt.Sprintf("Restoring backup %s (%s, %s) into %s.", b.ID, b.Scope, b.Location, sc.env.SystemName))
	return h.Backup.RestoreBackup(ctx, sc.node, sc.env.Spec(rel, dbPassword), src, p)
}

// rollBackRestore puts back the backup taken before the restore after the
// restored site failed its check, and records the release it wrote.
func (h *Handlers) rollBackRestore(ctx context.Context, sc *envScope, pre *pressluft.Backup, rel, dbPassword string, cause error, p pressluft.Progress) error {
	p.Event("rollback", pressluft.LevelWarn, "The restored site failed its check ("+pressluft.ErrorMessage(cause)+"); restoring the backup taken before the restore.")
	pre, err := h.Backups.FindBackupByID(ctx, pre.ID)
	if err != nil {
		return err
	}
	if _, err := h.restoreFrom(ctx, sc, pre, rel, dbPassword, p); err != nil {
		return pressluft.Errorf(pressluft.EHealthCheckFailed, "%s The rollback failed too: %s", pressluft.ErrorMessage(cause), pressluft.ErrorMessage(err))
	}
	if err := h.Sites.SetCurrentRelease(ctx, sc.env.ID, releaseFor(sc.env, rel, pressluft.ReleaseRestore, pre.ID)); err != nil {
		return err
	}
	if err := h.checkServes(ctx, sc.node, sc.env, "", p); err != nil {
		return pressluft.Errorf(pressluft.EHealthCheckFailed, "%s After the rollback: %s", pressluft.ErrorMessage(cause), pressluft.ErrorMessage(err))
	}
	return &pressluft.Error{Code: pressluft.EHealthCheckFailed, RolledBack: true,
		Message: pressluft.ErrorMessage(cause) + " The environment was rolled back to its state before the restore."}
}
