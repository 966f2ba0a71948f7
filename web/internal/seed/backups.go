package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"

	"github.com/pressluft/pressluft"
	"github.com/pressluft/pressluft/sqlite"
)

// Backups names the seeded backups the tests look for.
type Backups struct {
	Full   string // completed, full, taken by hand 3 h ago
	Failed string // a files backup that failed for lack of disk space
}

// insufficientSpace is how a backup that found too little room fails.
const insufficientSpace = "insufficient_space: The node has 1.2 GiB free under /srv/pressluft; this backup needs about 3.4 GiB. Nothing was written."

// seedBackups records backups of an environment: a scheduled database
// backup from two days ago whose offsite upload was refused, a files backup
// that failed yesterday, and a full backup taken by hand 3 h ago.
func seedBackups(ctx context.Context, db *sqlite.DB, jobs *sqlite.JobService, exec func(string, ...any) error, env *pressluft.Environment, now time.Time) (Backups, error) {
	svc := sqlite.NewBackupService(db, jobs)
	var out Backups
	var err error
	if _, err = completedBackup(ctx, svc, exec, env, pressluft.BackupScopeDB, pressluft.TriggerSchedule, now.Add(-49*time.Hour)); err != nil {
		return out, err
	}
	if out.Failed, err = failedBackup(ctx, svc, exec, env, now.Add(-26*time.Hour)); err != nil {
		return out, err
	}
	if out.Full, err = completedBackup(ctx, svc, exec, env, pressluft.BackupScopeFull, pressluft.TriggerManual, now.Add(-3*time.Hour)); err != nil {
		return out, err
	}
	return out, nil
}

// completedBackup records a backup the node finished at `at`; a scheduled
// one was refused by the offsite target.
func completedBackup(ctx context.Context, svc *sqlite.BackupService, exec func(string, ...any) error, env *pressluft.Environment,
	scope, trigger string, at time.Time) (string, error) {
	b, job, err := svc.CreateBackup(ctx, env.ID, scope, trigger)
	if err != nil {
		return "", err
	}
	// Ended before the control plane's workers poll, so none of them runs it.
	if err := finishJob(exec, job.ID, at, at.Add(95*time.Second), 1, map[string]any{"backup_id": b.ID, "location": "node"}); err != nil {
		return "", err
	}
	if err := svc.StartBackup(ctx, b.ID); err != nil {
		return "", err
	}
	if err := svc.CompleteBackup(ctx, b.ID, backupFacts(env, b.ID, scope, at)); err != nil {
		return "", err
	}
	if err := backdate(exec, b.ID, job.ID, at); err != nil {
		return "", err
	}
	if trigger == pressluft.TriggerSchedule {
		if err := svc.SetBackupOffsite(ctx, b.ID, "", pressluft.EOffsiteAuth); err != nil {
			return "", err
		}
	}
	return b.ID, nil
}

// failedBackup records a files backup whose job failed for good, as the
// queue leaves it: the job failed and the backup failed with its error.
func failedBackup(ctx context.Context, svc *sqlite.BackupService, exec func(string, ...any) error, env *pressluft.Environment, at time.Time) (string, error) {
	b, job, err := svc.CreateBackup(ctx, env.ID, pressluft.BackupScopeFiles, pressluft.TriggerManual)
	if err != nil {
		return "", err
	}
	code, msg, _ := strings.Cut(insufficientSpace, ": ")
	if err := exec(`UPDATE jobs SET status = 'failed', attempt = 1, error_code = ?, error_message = ?, started_at = ?, finished_at = ?, updated_at = ?
		WHERE id = ?`, code, msg, stamp(at), stamp(at.Add(2*time.Second)), stamp(at.Add(2*time.Second)), job.ID); err != nil {
		return "", err
	}
	if err := exec(`UPDATE backups SET status = 'failed', error = ? WHERE id = ?`, insufficientSpace, b.ID); err != nil {
		return "", err
	}
	return b.ID, backdate(exec, b.ID, job.ID, at)
}

func backdate(exec func(string, ...any) error, backupID, jobID string, at time.Time) error {
	if err := exec(`UPDATE backups SET created_at = ?, completed_at = CASE WHEN completed_at IS NULL THEN NULL ELSE ? END WHERE id = ?`,
		stamp(at), stamp(at.Add(95*time.Second)), backupID); err != nil {
		return err
	}
	if err := exec(`UPDATE job_events SET time = ? WHERE job_id = ?`, stamp(at.Add(-time.Second)), jobID); err != nil {
		return err
	}
	return exec(`UPDATE jobs SET created_at = ? WHERE id = ?`, stamp(at.Add(-time.Second)), jobID)
}

// backupFacts is what a node would report about the backup.
func backupFacts(env *pressluft.Environment, id, scope string, at time.Time) *pressluft.BackupFacts {
	m := pressluft.BackupManifest{Format: 1, BackupID: id, Scope: scope, Environment: env.SystemName, URL: env.PreviewURL,
		SiteURL: env.PreviewURL, TablePrefix: "wp_", CreatedAt: at, WPVersion: "6.1.9", PHPVersion: "8.2.29", MariaDBVersion: "10.11.14"}
	if scope != pressluft.BackupScopeFiles {
		m.Parts = append(m.Parts, pressluft.BackupPart{Name: pressluft.PartDB, Size: 1_843_200, SHA256: hash(id + "db"), Unpacked: 9_216_000})
		m.Tables = map[string]int64{"wp_commentmeta": 0, "wp_comments": 3, "wp_options": 311, "wp_postmeta": 1204, "wp_posts": 42,
			"wp_term_relationships": 57, "wp_terms": 9, "wp_usermeta": 24, "wp_users": 1}
	}
	if scope != pressluft.BackupScopeDB {
		m.Parts = append(m.Parts, pressluft.BackupPart{Name: pressluft.PartFiles, Size: 48_234_496, SHA256: hash(id + "files"), Unpacked: 61_865_984})
		m.FileCount = 1274
	}
	size := int64(1_200)
	for _, p := range m.Parts {
		size += p.Size
	}
	return &pressluft.BackupFacts{Path: "/srv/pressluft/" + env.SystemName + "/backups/" + id, Manifest: m, ManifestSHA256: hash(id), Size: size}
}

func hash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}
