package sqlite_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/pressluft/pressluft"
	"github.com/pressluft/pressluft/sqlite"
)

// The gates: a recent clean drift check and a fresh full backup of the
// target (or backup_first), an active target, the environment's own source.
func TestPromotion_Gates(t *testing.T) {
	t.Parallel()
	db, clk := mustOpenDB(t)
	prod := activeEnvironment(t, db, "10.77.4.1", "gate")
	sites, js := newSiteService(db)
	ps := sqlite.NewPromotionService(db, js)
	bs := sqlite.NewBackupService(db, js)
	ctx := context.Background()

	stg, j, err := sites.CreateEnvironment(ctx, prod.SiteID, pressluft.EnvironmentCreate{Name: "Staging", Slug: "stg", Type: "staging",
		SourceEnvironmentID: prod.ID, ProtectedTables: []string{"wc_*"}})
	if err != nil {
		t.Fatal(err)
	}
	if stg.PromotionPreset != pressluft.PresetContent {
		t.Fatalf("staging's default preset = %q", stg.PromotionPreset)
	}
	if _, err := ps.StartDriftCheck(ctx, stg.ID); pressluft.ErrorCode(err) != pressluft.EConflict {
		t.Fatalf("drift check while creating = %v", err) // not active yet
	}
	base := &pressluft.EnvState{Tables: map[string]string{"wp_options": "1"}}
	if c := mustClaim(t, js, "w"); c.ID != j.ID {
		t.Fatalf("claimed %s", c.ID)
	}
	if err := js.Complete(ctx, j.ID, "w", &pressluft.JobDone{EnvironmentStatus: pressluft.StatusActive,
		Baseline: &pressluft.Baseline{EnvironmentID: stg.ID, SourceEnvironmentID: prod.ID, State: base}}); err != nil {
		t.Fatal(err)
	}
	if b, err := ps.FindBaseline(ctx, stg.ID); err != nil || b.State.Tables["wp_options"] != "1" {
		t.Fatalf("baseline = %+v, %v", b, err)
	}
	if _, err := ps.FindBaseline(ctx, prod.ID); pressluft.ErrorCode(err) != pressluft.EBaselineMissing {
		t.Fatalf("production's baseline = %v", err)
	}

	promote := func(backupFirst bool) error {
		_, err := ps.Promote(ctx, stg.ID, pressluft.PromoteRequest{TargetEnvironmentID: prod.ID, BackupFirst: backupFirst})
		return err
	}
	if err := promote(true); pressluft.ErrorCode(err) != pressluft.EDriftNotClean {
		t.Fatalf("promote before any drift check = %v", err)
	}
	drift := func(result string) {
		t.Helper()
		dj, err := ps.StartDriftCheck(ctx, stg.ID)
		if err != nil {
			t.Fatal(err)
		}
		mustClaim(t, js, "w")
		if err := js.Complete(ctx, dj.ID, "w", &pressluft.JobDone{DriftCheck: &pressluft.DriftCheck{EnvironmentID: stg.ID,
			SourceEnvironmentID: prod.ID, JobID: dj.ID, Result: result, Changes: []pressluft.DriftChange{}}}); err != nil {
			t.Fatal(err)
		}
	}
	drift(pressluft.DriftDrifted)
	if err := promote(true); pressluft.ErrorCode(err) != pressluft.EDriftNotClean {
		t.Fatalf("promote after drift = %v", err)
	}
	drift(pressluft.DriftClean)
	if e, _ := sites.FindEnvironmentByID(ctx, stg.ID); e.DriftStatus != pressluft.DriftClean || len(e.ProtectedTables) != 1 {
		t.Fatalf("staging = %+v", e)
	}
	if checks, _ := ps.FindDriftChecks(ctx, stg.ID); len(checks) != 2 || checks[0].Result != pressluft.DriftClean {
		t.Fatalf("drift checks = %+v", checks)
	}
	g, err := ps.Gates(ctx, stg.ID)
	if err != nil || !g.Drift.OK || g.Backup.OK || g.Backup.Code != pressluft.EBackupNotFresh || g.TargetEnvironmentID != prod.ID {
		t.Fatalf("gates = %+v, %v", g, err)
	}
	if err := promote(false); pressluft.ErrorCode(err) != pressluft.EBackupNotFresh {
		t.Fatalf("promote without a backup = %v", err)
	}

	// An hour-old backup is not fresh; a new one is.
	old, _, err := bs.CreateBackup(ctx, prod.ID, pressluft.BackupScopeFull, pressluft.TriggerManual)
	if err != nil {
		t.Fatal(err)
	}
	completeBackup(t, bs, js, old)
	clk.Add(61 * time.Minute)
	drift(pressluft.DriftClean)
	if err := promote(false); pressluft.ErrorCode(err) != pressluft.EBackupNotFresh {
		t.Fatalf("promote with an old backup = %v", err)
	}
	fresh, _, _ := bs.CreateBackup(ctx, prod.ID, pressluft.BackupScopeFull, pressluft.TriggerManual)
	completeBackup(t, bs, js, fresh)
	// A clean check older than 15 minutes does not count.
	clk.Add(16 * time.Minute)
	if err := promote(false); pressluft.ErrorCode(err) != pressluft.EDriftNotClean {
		t.Fatalf("promote with an old drift check = %v", err)
	}
	drift(pressluft.DriftClean)

	pj, err := ps.Promote(ctx, stg.ID, pressluft.PromoteRequest{TargetEnvironmentID: prod.ID})
	if err != nil {
		t.Fatal(err)
	}
	var pl pressluft.ReleasePayload
	if err := json.Unmarshal(pj.Payload, &pl); err != nil || pl.SnapshotID == "" || pl.Promote == nil ||
		pl.Promote.SourceEnvironmentID != stg.ID || pl.Promote.BackupID != "" || pj.EnvironmentID != prod.ID {
		t.Fatalf("promotion job = %+v, payload %s", pj, pj.Payload)
	}
	if e, _ := sites.FindEnvironmentByID(ctx, prod.ID); e.Status != pressluft.StatusPromoting {
		t.Fatalf("target = %s", e.Status)
	}
	if err := promote(true); pressluft.ErrorCode(err) != pressluft.EConflict {
		t.Fatalf("a second promotion while the first runs = %v", err)
	}

	// Protection: shapes, and names that must exist.
	for _, bad := range []pressluft.Protection{{Preset: "all"}, {Preset: pressluft.PresetCustom, Tables: []string{"wp_x; DROP"}},
		{Preset: pressluft.PresetCustom, Tables: []string{"orders"}}} {
		if _, err := ps.SetProtection(ctx, stg.ID, bad, map[string]bool{"wp_options": true}); pressluft.ErrorCode(err) != pressluft.EValidation {
			t.Fatalf("protection %+v = %v", bad, err)
		}
	}
	e, err := ps.SetProtection(ctx, stg.ID, pressluft.Protection{Preset: pressluft.PresetCustom, Tables: []string{"orders", "log_*"}},
		map[string]bool{"wp_orders": true})
	if err != nil || e.PromotionPreset != pressluft.PresetCustom || len(e.ProtectedTables) != 2 {
		t.Fatalf("protection = %+v, %v", e, err)
	}
	if got := pressluft.ProtectedPatterns(e.PromotionPreset, e.ProtectedTables); len(got) != 2 || got[0] != "wp_orders" || got[1] != "wp_log_*" {
		t.Fatalf("custom protects %v", got)
	}
	if _, err := ps.SetProtection(ctx, prod.ID, pressluft.Protection{Preset: pressluft.PresetContent}, nil); pressluft.ErrorCode(err) != pressluft.EPromotionInvalid {
		t.Fatalf("protection on production = %v", err)
	}
}
