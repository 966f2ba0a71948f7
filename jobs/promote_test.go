package jobs_test

import (
	"context"
	"maps"
	"strings"
	"sync"
	"testing"

	"github.com/pressluft/pressluft"
)

// fakeStates is the state each environment reports, by system name.
var fakeStates sync.Map

func (f *fakeNode) EnvState(_ context.Context, _ *pressluft.Node, env pressluft.EnvSpec, _ pressluft.Progress) (*pressluft.EnvState, error) {
	if err := f.record("state " + env.Name); err != nil {
		return nil, err
	}
	s, ok := fakeStates.Load(env.Name)
	if !ok {
		return &pressluft.EnvState{Tables: map[string]string{}, Components: map[string]string{}, Paths: map[string]string{}}, nil
	}
	st := s.(pressluft.EnvState)
	st.Tables, st.Components, st.Paths = maps.Clone(st.Tables), maps.Clone(st.Components), maps.Clone(st.Paths)
	return &st, nil
}

func (f *fakeNode) PromoteDatabase(_ context.Context, _ *pressluft.Node, env, source pressluft.EnvSpec, protect []string, runID string, _ pressluft.Progress) (*pressluft.PromoteFacts, error) {
	if err := f.record("promote " + source.Name + " into " + env.Name + " except " + strings.Join(protect, ",")); err != nil {
		return nil, err
	}
	return &pressluft.PromoteFacts{Moved: []string{"wp_options"}, Protected: []string{"wp_posts"}}, nil
}

func TestHandlers_DriftAndPromotion(t *testing.T) {
	t.Parallel()
	s := newHandlerStack(t)
	ctx := context.Background()
	c := s.activeSite(t, "acme-promo")
	prod := c.Environment
	state := pressluft.EnvState{Tables: map[string]string{"wp_options": "1", "wp_posts": "1"},
		Components: map[string]string{"plugin/akismet": "5.0"}, Paths: map[string]string{"plugins/akismet": "a"}}
	fakeStates.Store(prod.SystemName, state)

	// The copy records the source's state as the staging's baseline.
	stg, j, err := s.sites.CreateEnvironment(ctx, c.Site.ID, pressluft.EnvironmentCreate{Name: "Staging", Slug: "staging", Type: "staging",
		SourceEnvironmentID: prod.ID})
	if err != nil {
		t.Fatal(err)
	}
	waitStatus(t, s.q, j.ID, pressluft.JobSucceeded)
	if b, err := s.promos.FindBaseline(ctx, stg.ID); err != nil || b.State.Tables["wp_options"] != "1" || b.SourceEnvironmentID != prod.ID {
		t.Fatalf("baseline = %+v, %v", b, err)
	}
	check := func() *pressluft.DriftCheck {
		t.Helper()
		j, err := s.promos.StartDriftCheck(ctx, stg.ID)
		if err != nil {
			t.Fatal(err)
		}
		waitStatus(t, s.q, j.ID, pressluft.JobSucceeded)
		all, err := s.promos.FindDriftChecks(ctx, stg.ID)
		if err != nil || len(all) == 0 || all[0].JobID != j.ID {
			t.Fatalf("drift checks = %v, %v", all, err)
		}
		return all[0]
	}

	// Production's posts change: protected, so not drift.
	state.Tables = map[string]string{"wp_options": "1", "wp_posts": "2"}
	fakeStates.Store(prod.SystemName, state)
	if d := check(); d.Result != pressluft.DriftClean || len(d.Changes) != 0 {
		t.Fatalf("after a new post: %+v", d)
	}
	if e, _ := s.sites.FindEnvironmentByID(ctx, stg.ID); e.DriftStatus != pressluft.DriftClean {
		t.Fatalf("drift status = %s", e.DriftStatus)
	}

	// No fresh backup of production: refused.
	if _, err := s.promos.Promote(ctx, stg.ID, pressluft.PromoteRequest{TargetEnvironmentID: prod.ID}); pressluft.ErrorCode(err) != pressluft.EBackupNotFresh {
		t.Fatalf("promote without a backup = %v", err)
	}
	for _, bad := range []struct{ from, to string }{{prod.ID, stg.ID}, {stg.ID, stg.ID}} {
		if _, err := s.promos.Promote(ctx, bad.from, pressluft.PromoteRequest{TargetEnvironmentID: bad.to, BackupFirst: true}); pressluft.ErrorCode(err) != pressluft.EPromotionInvalid {
			t.Fatalf("promote %s → %s = %v", bad.from, bad.to, err)
		}
	}

	// Back up and promote: backup, snapshot, a last drift check, build from
	// staging's code, tables, switch, check, and a new baseline.
	pj, err := s.promos.Promote(ctx, stg.ID, pressluft.PromoteRequest{TargetEnvironmentID: prod.ID, BackupFirst: true})
	if err != nil {
		t.Fatal(err)
	}
	if e, _ := s.sites.FindEnvironmentByID(ctx, prod.ID); e.Status != pressluft.StatusPromoting {
		t.Fatalf("target while promoting = %s", e.Status)
	}
	done := waitStatus(t, s.q, pj.ID, pressluft.JobSucceeded)
	rel := pressluft.ReleaseIDFor(done)
	if got := s.fake.called("promote "); len(got) != 1 || !strings.Contains(got[0], "acme-promo-staging into acme-promo-production except wp_posts,wp_postmeta") {
		t.Fatalf("database moves = %v", got)
	}
	if got := s.fake.called("backup acme-promo-production"); len(got) != 2 {
		t.Fatalf("backups of the target = %v, want the full one and the snapshot", got)
	}
	rels, _ := s.releases.FindReleases(ctx, prod.ID)
	if !rels[0].Current || rels[0].Dir() != rel || rels[0].Source != pressluft.ReleasePromote {
		t.Fatalf("target's release = %+v", rels[0])
	}
	if e, _ := s.sites.FindEnvironmentByID(ctx, stg.ID); e.DriftStatus != pressluft.DriftUnknown {
		t.Fatalf("staging's drift status after the promotion = %s", e.DriftStatus)
	}

	// Production's code changes: drifted, and the promotion is refused.
	state.Paths = map[string]string{"plugins/akismet": "b"}
	fakeStates.Store(prod.SystemName, state)
	d := check()
	if d.Result != pressluft.DriftDrifted || len(d.Changes) != 1 || d.Changes[0].Name != "plugins/akismet" {
		t.Fatalf("after a plugin change: %+v", d)
	}
	if _, err := s.promos.Promote(ctx, stg.ID, pressluft.PromoteRequest{TargetEnvironmentID: prod.ID, BackupFirst: true}); pressluft.ErrorCode(err) != pressluft.EDriftNotClean {
		t.Fatalf("promote after drift = %v", err)
	}

	// A promotion whose database move fails: back to the previous release
	// and the snapshot in the same job, the target active.
	state.Paths = map[string]string{"plugins/akismet": "a"}
	fakeStates.Store(prod.SystemName, state)
	if d := check(); d.Result != pressluft.DriftClean {
		t.Fatalf("after the change was undone: %+v", d)
	}
	s.fake.mu.Lock()
	s.fake.fail = map[string]error{"promote acme-promo-staging into acme-promo-production except " +
		strings.Join(pressluft.ProtectedPatterns(pressluft.PresetContent, nil), ","): pressluft.Errorf(pressluft.ECommandFailed, "mysql: lost connection")}
	s.fake.mu.Unlock()
	bad, err := s.promos.Promote(ctx, stg.ID, pressluft.PromoteRequest{TargetEnvironmentID: prod.ID, BackupFirst: true})
	if err != nil {
		t.Fatal(err)
	}
	failed := waitStatus(t, s.q, bad.ID, pressluft.JobFailed)
	if !failed.RolledBack || !strings.Contains(failed.ErrorMessage, "Rolled back") {
		t.Fatalf("failed promotion = %s %s", failed.ErrorCode, failed.ErrorMessage)
	}
	if r := s.fake.called("restore "); len(r) != 1 || !strings.HasSuffix(r[0], pressluft.ReleaseIDFor(failed)+"-back") {
		t.Fatalf("database restores = %v", r)
	}
	if e, _ := s.sites.FindEnvironmentByID(ctx, prod.ID); e.Status != pressluft.StatusActive || e.CurrentReleaseID != rels[0].ID {
		t.Fatalf("target after the failed promotion: %s, release %s", e.Status, e.CurrentReleaseID)
	}
}
