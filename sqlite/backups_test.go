package sqlite_test

import (
	"context"
	"testing"
	"time"

	"github.com/pressluft/pressluft"
	"github.com/pressluft/pressluft/sqlite"
)

// activeEnvironment creates a site whose production environment is active.
func activeEnvironment(t *testing.T, db *sqlite.DB, host, slug string) *pressluft.Environment {
	t.Helper()
	ctx := context.Background()
	node := mustActiveNode(t, db, host)
	sites, js := newSiteService(db)
	created, err := sites.CreateSite(ctx, pressluft.SiteCreate{Name: slug, Slug: slug, NodeID: node.ID, AdminEmail: "a@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	j := mustClaim(t, js, "w")
	if err := js.Complete(ctx, j.ID, "w", &pressluft.JobDone{EnvironmentStatus: pressluft.StatusActive}); err != nil {
		t.Fatal(err)
	}
	return created.Environment
}

// completeBackup runs a backup's job to its end as a worker would.
func completeBackup(t *testing.T, bs *sqlite.BackupService, js *sqlite.JobService, b *pressluft.Backup) {
	t.Helper()
	ctx := context.Background()
	j := mustClaim(t, js, "w")
	if j == nil || j.ID != b.JobID {
		t.Fatalf("claimed %+v, want the job of backup %s", j, b.ID)
	}
	if err := bs.StartBackup(ctx, b.ID); err != nil {
		t.Fatal(err)
	}
	if err := bs.CompleteBackup(ctx, b.ID, &pressluft.BackupFacts{Path: "/x", ManifestSHA256: "h", Size: 1}); err != nil {
		t.Fatal(err)
	}
	if err := js.Complete(ctx, j.ID, "w", &pressluft.JobDone{}); err != nil {
		t.Fatal(err)
	}
}

// A schedule enqueues one backup per period however many processes look,
// and one (not one per missed period) after downtime.
func TestBackups_ScheduleRunsOncePerPeriod(t *testing.T) {
	t.Parallel()
	db, clk := mustOpenDB(t) // 2026-01-02 03:04:05 UTC
	env := activeEnvironment(t, db, "10.77.3.1", "sched")
	js := sqlite.NewJobService(db)
	other := sqlite.NewJobService(db) // a second control plane process
	bs := sqlite.NewBackupService(db, js)
	ctx := context.Background()
	sch, err := bs.PutBackupSchedule(ctx, &pressluft.BackupSchedule{EnvironmentID: env.ID, Frequency: pressluft.FrequencyHourly,
		Minute: 30, KeepLast: 2})
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 1, 2, 3, 30, 0, 0, time.UTC); !sch.NextRunAt.Equal(want) {
		t.Fatalf("next run %v, want %v", sch.NextRunAt, want)
	}
	due := func() int {
		t.Helper()
		a, err := js.EnqueueDue(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, err := other.EnqueueDue(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		return a + b
	}
	if n := due(); n != 0 {
		t.Fatalf("enqueued %d before the first run", n)
	}
	clk.Add(26 * time.Minute) // 03:30:05
	if n := due(); n != 1 {
		t.Fatalf("enqueued %d at the first run, want 1", n)
	}
	backups, _ := bs.FindBackups(ctx, env.ID)
	if len(backups) != 1 || backups[0].Trigger != pressluft.TriggerSchedule || backups[0].Scope != pressluft.BackupScopeFull {
		t.Fatalf("backups = %+v", backups)
	}
	completeBackup(t, bs, js, backups[0])
	// Five hours of downtime: one run, then the next on the grid.
	clk.Add(5 * time.Hour)
	if n := due(); n != 1 {
		t.Fatalf("enqueued %d after downtime, want 1", n)
	}
	if n := due(); n != 0 {
		t.Fatalf("enqueued %d again in the same period", n)
	}
	sch, _ = bs.FindBackupSchedule(ctx, env.ID)
	if want := time.Date(2026, 1, 2, 9, 30, 0, 0, time.UTC); !sch.NextRunAt.Equal(want) {
		t.Fatalf("next run %v, want %v", sch.NextRunAt, want)
	}
}

// Retention removes exactly the scheduled backups past keep_last, the
// pre-restore ones past their date, and never the newest completed backup.
func TestBackups_RetentionExpiresExactlyTheOldOnes(t *testing.T) {
	t.Parallel()
	db, clk := mustOpenDB(t)
	env := activeEnvironment(t, db, "10.77.3.2", "keep")
	js := sqlite.NewJobService(db)
	bs := sqlite.NewBackupService(db, js)
	ctx := context.Background()
	if _, err := bs.PutBackupSchedule(ctx, &pressluft.BackupSchedule{EnvironmentID: env.ID, Frequency: pressluft.FrequencyDaily, KeepLast: 2}); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for range 5 {
		clk.Add(24 * time.Hour)
		if n, err := js.EnqueueDue(ctx, nil); err != nil || n != 1 {
			t.Fatalf("EnqueueDue = %d, %v", n, err)
		}
		all, _ := bs.FindBackups(ctx, env.ID)
		completeBackup(t, bs, js, all[0])
		ids = append(ids, all[0].ID)
	}
	manual, _, err := bs.CreateBackup(ctx, env.ID, pressluft.BackupScopeDB, pressluft.TriggerManual)
	if err != nil {
		t.Fatal(err)
	}
	completeBackup(t, bs, js, manual)

	expired, err := bs.ExpireBackups(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, b := range expired {
		got[b.ID] = true
	}
	if len(got) != 3 || !got[ids[0]] || !got[ids[1]] || !got[ids[2]] {
		t.Fatalf("expired %v, want the three oldest scheduled of %v", got, ids)
	}
	// Expired backups stay listed for removal until their delete ran.
	if again, _ := bs.ExpireBackups(ctx); len(again) != 3 {
		t.Fatalf("second pass: %d expired", len(again))
	}

	// keep_last 1 would take the newest scheduled one too, except that it
	// is the only backup left: the newest completed backup stays.
	for _, id := range append(append([]string{}, ids[:3]...), manual.ID) {
		if id == manual.ID {
			if _, err := bs.DeleteBackup(ctx, id); err != nil {
				t.Fatal(err)
			}
		}
		if err := bs.RemoveBackup(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := bs.PutBackupSchedule(ctx, &pressluft.BackupSchedule{EnvironmentID: env.ID, Frequency: pressluft.FrequencyDaily, KeepDays: 1}); err != nil {
		t.Fatal(err)
	}
	clk.Add(30 * 24 * time.Hour)
	expired, _ = bs.ExpireBackups(ctx)
	if len(expired) != 1 || expired[0].ID != ids[3] {
		t.Fatalf("expired %+v, want only %s (the newest, %s, stays)", expired, ids[3], ids[4])
	}
}

// A backup job that fails leaves no backup listed as completed.
func TestBackups_FailedJobFailsItsBackup(t *testing.T) {
	t.Parallel()
	db, _ := mustOpenDB(t)
	env := activeEnvironment(t, db, "10.77.3.3", "fail")
	js := sqlite.NewJobService(db)
	bs := sqlite.NewBackupService(db, js)
	ctx := context.Background()
	b, _, err := bs.CreateBackup(ctx, env.ID, pressluft.BackupScopeFull, pressluft.TriggerManual)
	if err != nil {
		t.Fatal(err)
	}
	j := mustClaim(t, js, "w")
	if err := bs.StartBackup(ctx, b.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Fail(ctx, j.ID, "w", pressluft.Errorf(pressluft.ENodeUnreachable, "gone"), false); err != nil {
		t.Fatal(err)
	}
	got, _ := bs.FindBackupByID(ctx, b.ID)
	if got.Status != pressluft.BackupFailed || got.Error == "" {
		t.Fatalf("backup = %+v", got)
	}
	if e, _ := sqlite.NewSiteService(db, js).FindEnvironmentByID(ctx, env.ID); e.Status != pressluft.StatusActive {
		t.Fatalf("a failed backup marked its environment %s", e.Status)
	}
}

// A job cancelled before it ever ran leaves its resource as it was; one
// cancelled while it waits for a retry may have half happened: failed.
func TestBackups_CancelOfAQueuedRestore(t *testing.T) {
	t.Parallel()
	db, _ := mustOpenDB(t)
	env := activeEnvironment(t, db, "10.77.3.4", "cancel")
	js := sqlite.NewJobService(db)
	bs := sqlite.NewBackupService(db, js)
	sites := sqlite.NewSiteService(db, js)
	ctx := context.Background()
	b, _, _ := bs.CreateBackup(ctx, env.ID, pressluft.BackupScopeDB, pressluft.TriggerManual)
	completeBackup(t, bs, js, b)
	status := func() string {
		e, _ := sites.FindEnvironmentByID(ctx, env.ID)
		return e.Status
	}

	j, err := bs.RestoreEnvironment(ctx, env.ID, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.CancelJob(ctx, j.ID); err != nil || status() != pressluft.StatusActive {
		t.Fatalf("cancelled before it ran: %v, environment %s", err, status())
	}

	j, _ = bs.RestoreEnvironment(ctx, env.ID, b.ID)
	mustClaim(t, js, "w")
	if st, err := js.Fail(ctx, j.ID, "w", pressluft.Errorf(pressluft.EAgentLost, "killed"), true); err != nil || st != pressluft.JobQueued {
		t.Fatalf("Fail = %s, %v", st, err)
	}
	if got, err := js.CancelJob(ctx, j.ID); err != nil || got.ErrorMessage == "Cancelled before it started." || status() != pressluft.StatusFailed {
		t.Fatalf("cancelled while waiting for a retry: %+v %v, environment %s", got, err, status())
	}
}
