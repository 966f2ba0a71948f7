package jobs_test

import (
	"context"
	"strings"
	"testing"

	"github.com/pressluft/pressluft"
)

func (f *fakeNode) BuildRelease(_ context.Context, _ *pressluft.Node, env pressluft.EnvSpec, src pressluft.DeploySource, _ pressluft.Progress) (*pressluft.ReleaseFacts, error) {
	if err := f.record("build " + env.ReleaseID); err != nil {
		return nil, err
	}
	f.mu.Lock()
	err := f.fail["build"] // any release
	f.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return &pressluft.ReleaseFacts{ReleaseID: env.ReleaseID, SizeBytes: 2048, Ref: "c0ffee"}, nil
}

func (f *fakeNode) UpdateRelease(_ context.Context, _ *pressluft.Node, env pressluft.EnvSpec, u pressluft.UpdateSpec, _ pressluft.Progress) (*pressluft.ReleaseFacts, error) {
	if err := f.record("update " + env.ReleaseID); err != nil {
		return nil, err
	}
	f.mu.Lock()
	err := f.fail["update"] // any release
	f.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return &pressluft.ReleaseFacts{ReleaseID: env.ReleaseID, Changed: []string{"plugin hello-dolly 1.6 → 1.7.2"}}, nil
}

func (f *fakeNode) SwitchRelease(_ context.Context, _ *pressluft.Node, _ pressluft.EnvSpec, rel string, _ pressluft.Progress) (*pressluft.EnvFacts, error) {
	if err := f.record("switch " + rel); err != nil {
		return nil, err
	}
	facts := f.facts
	return &facts, nil
}

func (f *fakeNode) PruneReleases(_ context.Context, _ *pressluft.Node, _ string, keep []string) ([]string, error) {
	return nil, f.record("prune keep " + strings.Join(keep, ","))
}

func (f *fakeNode) Updates(context.Context, *pressluft.Node, pressluft.EnvSpec) (*pressluft.UpdateInfo, error) {
	return &pressluft.UpdateInfo{}, nil
}

func TestHandlers_DeployRollsBackFilesAndDatabase(t *testing.T) {
	t.Parallel()
	s := newHandlerStack(t)
	ctx := context.Background()
	c := s.activeSite(t, "acme")
	env := c.Environment
	first, _ := s.sites.FindEnvironmentByID(ctx, env.ID)
	deploy := pressluft.DeployRequest{SourceType: "archive", ArchiveURL: "http://10.77.9.1/site.tar.gz"}

	// A good deploy: snapshot, build, switch, check; recorded and current.
	j, err := s.releases.Deploy(ctx, env.ID, deploy)
	if err != nil {
		t.Fatal(err)
	}
	done := waitStatus(t, s.q, j.ID, pressluft.JobSucceeded)
	rel := pressluft.ReleaseIDFor(done)
	rels, _ := s.releases.FindReleases(ctx, env.ID)
	if len(rels) != 2 || !rels[0].Current || rels[0].Dir() != rel || rels[0].Source != "archive" || rels[0].SnapshotID == "" || rels[0].SizeBytes != 2048 {
		t.Fatalf("releases after a deploy = %+v", rels[0])
	}
	if snap, _ := s.backups.FindBackupByID(ctx, rels[0].SnapshotID); snap.Status != pressluft.BackupCompleted || snap.Trigger != pressluft.TriggerSnapshot {
		t.Fatalf("snapshot = %+v", snap)
	}

	// A deploy whose site shows a PHP error: back to the release before
	// and the database snapshot, in the same job.
	s.bodyFor = func(n int) string {
		if n == 1 {
			return "<b>Fatal error</b>: Uncaught Error: bad plugin"
		}
		return s.body
	}
	j2, _ := s.releases.Deploy(ctx, env.ID, deploy)
	failed := waitStatus(t, s.q, j2.ID, pressluft.JobFailed)
	if failed.ErrorCode != pressluft.EHealthCheckFailed || !strings.Contains(failed.ErrorMessage, "Rolled back") || !failed.RolledBack {
		t.Fatalf("bad deploy = %s %s", failed.ErrorCode, failed.ErrorMessage)
	}
	switches := s.fake.called("switch ")
	if last := switches[len(switches)-1]; last != "switch "+rel {
		t.Fatalf("switched last to %q, want back to %s", last, rel)
	}
	restores := s.fake.called("restore ")
	if len(restores) != 1 || !strings.HasSuffix(restores[0], " as "+pressluft.ReleaseIDFor(failed)+"-back") {
		t.Fatalf("database restores = %v", restores)
	}
	e, _ := s.sites.FindEnvironmentByID(ctx, env.ID)
	if e.Status != pressluft.StatusActive || e.CurrentReleaseID != rels[0].ID {
		t.Fatalf("after the rollback: %s, release %s", e.Status, e.CurrentReleaseID)
	}

	// A build that fails switches nothing; the environment stays active.
	s.bodyFor = nil
	s.fake.mu.Lock()
	s.fake.fail = map[string]error{"build": pressluft.Errorf("unsafe_archive", "wp-content/../../etc")}
	s.fake.mu.Unlock()
	j3, _ := s.releases.Deploy(ctx, env.ID, deploy)
	if f := waitStatus(t, s.q, j3.ID, pressluft.JobFailed); f.ErrorCode != "unsafe_archive" {
		t.Fatalf("bad archive = %s", f.ErrorCode)
	}
	if e, _ := s.sites.FindEnvironmentByID(ctx, env.ID); e.Status != pressluft.StatusActive || e.CurrentReleaseID != rels[0].ID {
		t.Fatalf("after a refused archive: %+v", e)
	}

	// Manual rollback to the first release with its database.
	s.fake.mu.Lock()
	s.fake.fail = nil
	s.fake.mu.Unlock()
	yes := true
	rb, err := s.releases.Rollback(ctx, env.ID, pressluft.RollbackRequest{ReleaseID: first.CurrentReleaseID, RestoreDatabase: &yes})
	if err != nil {
		t.Fatal(err)
	}
	waitStatus(t, s.q, rb.ID, pressluft.JobSucceeded)
	if e, _ := s.sites.FindEnvironmentByID(ctx, env.ID); e.CurrentReleaseID != first.CurrentReleaseID {
		t.Fatalf("after the rollback the current release is %s, want %s", e.CurrentReleaseID, first.CurrentReleaseID)
	}
	if r := s.fake.called("restore " + rels[0].SnapshotID); len(r) != 1 {
		t.Fatalf("the rollback restored %v, want the snapshot %s", s.fake.called("restore "), rels[0].SnapshotID)
	}
}
