package jobs_test

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/pressluft/pressluft"
)

func (f *fakeNode) CreateBackup(_ context.Context, _ *pressluft.Node, env pressluft.EnvSpec, b pressluft.BackupSpec, _ pressluft.Progress) (*pressluft.BackupFacts, error) {
	if err := f.record("backup " + env.Name); err != nil {
		return nil, err
	}
	return &pressluft.BackupFacts{Path: "/srv/pressluft/" + env.Name + "/backups/" + b.ID, ManifestSHA256: "m-" + b.ID, Size: 42,
		Manifest: pressluft.BackupManifest{Format: 1, BackupID: b.ID, Scope: b.Scope, WPVersion: "6.1.9"}}, nil
}

func (f *fakeNode) UploadBackup(_ context.Context, _ *pressluft.Node, _, _ string, _ pressluft.OffsiteTarget, key string, _ pressluft.Progress) error {
	return f.record("upload " + key)
}

func (f *fakeNode) RestoreBackup(_ context.Context, _ *pressluft.Node, env pressluft.EnvSpec, src pressluft.BackupSource, _ pressluft.Progress) (*pressluft.EnvFacts, error) {
	if err := f.record("restore " + src.ID + " from " + src.EnvName + " as " + env.ReleaseID); err != nil {
		return nil, err
	}
	f.mu.Lock()
	err := f.fail["restore "+src.ID] // any release
	f.mu.Unlock()
	if err != nil {
		return nil, err
	}
	facts := f.facts
	facts.ReleaseID = env.ReleaseID
	return &facts, nil
}

func (f *fakeNode) DeleteBackup(_ context.Context, _ *pressluft.Node, envName, id string, t *pressluft.OffsiteTarget, key string) error {
	return f.record("delete backup " + id)
}

func (f *fakeNode) ReadBackup(context.Context, *pressluft.Node, string, string, string, int64, int64) (io.ReadCloser, int64, error) {
	panic("not used by jobs")
}

func (f *fakeNode) called(prefix string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, c := range f.calls {
		if strings.HasPrefix(c, prefix) {
			out = append(out, c)
		}
	}
	return out
}

// activeSite creates a site and waits until its production environment is active.
func (s *handlerStack) activeSite(t *testing.T, slug string) *pressluft.SiteCreated {
	t.Helper()
	c := s.createSite(t, slug)
	waitStatus(t, s.q, c.Job.ID, pressluft.JobSucceeded)
	return c
}

func TestHandlers_BackupWithOffsiteUploadFailure(t *testing.T) {
	t.Parallel()
	s := newHandlerStack(t)
	ctx := context.Background()
	c := s.activeSite(t, "acme")
	secret := "SECRETKEY"
	if _, err := s.backups.PutOffsite(ctx, &pressluft.OffsiteUpdate{Endpoint: "127.0.0.1:9", Bucket: "bkt", Prefix: "p", AccessKey: "AK", SecretKey: &secret}); err != nil {
		t.Fatal(err)
	}
	s.fake.mu.Lock()
	s.fake.fail = map[string]error{"upload p/acme/acme-production/": nil}
	s.fake.mu.Unlock()
	b, j, err := s.backups.CreateBackup(ctx, c.Environment.ID, pressluft.BackupScopeFull, pressluft.TriggerManual)
	if err != nil {
		t.Fatal(err)
	}
	waitStatus(t, s.q, j.ID, pressluft.JobSucceeded)
	got, _ := s.backups.FindBackupByID(ctx, b.ID)
	if got.Status != pressluft.BackupCompleted || got.Location != pressluft.LocationBoth || got.OffsiteKey != "p/acme/acme-production/"+b.ID {
		t.Fatalf("backup = %+v", got)
	}

	// Wrong credentials: the node copy stays, the code is recorded, and a
	// later upload copies it.
	key := "upload p/acme/acme-production/"
	b2, j2, _ := s.backups.CreateBackup(ctx, c.Environment.ID, pressluft.BackupScopeDB, pressluft.TriggerManual)
	s.fake.mu.Lock()
	s.fake.fail = map[string]error{key + b2.ID: pressluft.Errorf(pressluft.EOffsiteAuth, "refused")}
	s.fake.mu.Unlock()
	if j := waitStatus(t, s.q, j2.ID, pressluft.JobFailed); j.ErrorCode != pressluft.EOffsiteAuth {
		t.Fatalf("job = %s %s", j.ErrorCode, j.ErrorMessage)
	}
	got, _ = s.backups.FindBackupByID(ctx, b2.ID)
	if got.Status != pressluft.BackupCompleted || got.Location != pressluft.LocationNode || got.OffsiteError != pressluft.EOffsiteAuth {
		t.Fatalf("backup after a failed upload = %+v", got)
	}
	s.fake.mu.Lock()
	s.fake.fail = nil
	s.fake.mu.Unlock()
	up, err := s.backups.UploadBackup(ctx, b2.ID)
	if err != nil {
		t.Fatal(err)
	}
	waitStatus(t, s.q, up.ID, pressluft.JobSucceeded)
	if got, _ = s.backups.FindBackupByID(ctx, b2.ID); got.Location != pressluft.LocationBoth || got.OffsiteError != "" {
		t.Fatalf("backup after the retry = %+v", got)
	}
}

func TestHandlers_RestoreRollsBackWhenTheCheckFails(t *testing.T) {
	t.Parallel()
	s := newHandlerStack(t)
	ctx := context.Background()
	c := s.activeSite(t, "acme")
	env := c.Environment
	b, j, _ := s.backups.CreateBackup(ctx, env.ID, pressluft.BackupScopeFull, pressluft.TriggerManual)
	waitStatus(t, s.q, j.ID, pressluft.JobSucceeded)
	before, _ := s.sites.FindEnvironmentByID(ctx, env.ID)

	// The restored site shows a PHP error; the site after the rollback is fine.
	s.bodyFor = func(n int) string {
		if n == 1 {
			return "<b>Fatal error</b>: Uncaught Error"
		}
		return s.body
	}
	r, err := s.backups.RestoreEnvironment(ctx, env.ID, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	done := waitStatus(t, s.q, r.ID, pressluft.JobFailed)
	if done.ErrorCode != pressluft.EHealthCheckFailed || !strings.Contains(done.ErrorMessage, "rolled back") {
		t.Fatalf("restore = %s %s", done.ErrorCode, done.ErrorMessage)
	}
	rel := pressluft.ReleaseIDFor(done)
	restores := s.fake.called("restore ")
	if len(restores) != 2 || restores[0] != "restore "+b.ID+" from acme-production as "+rel ||
		!strings.HasSuffix(restores[1], " as "+rel+"-back") {
		t.Fatalf("restores = %v", restores)
	}
	after, _ := s.sites.FindEnvironmentByID(ctx, env.ID)
	if after.Status != pressluft.StatusActive || after.CurrentReleaseID == before.CurrentReleaseID {
		t.Fatalf("environment after the rollback: %s, release %s (before %s)", after.Status, after.CurrentReleaseID, before.CurrentReleaseID)
	}
	// The backup taken first is the one put back, and it is kept.
	items, _ := s.backups.FindBackups(ctx, env.ID)
	if len(items) != 2 || items[0].Trigger != pressluft.TriggerPreRestore || items[0].Status != pressluft.BackupCompleted ||
		!strings.HasPrefix(restores[1], "restore "+items[0].ID+" ") {
		t.Fatalf("backups = %+v", items)
	}

	// A backup that does not check out leaves the environment as it was.
	s.bodyFor = nil
	s.fake.mu.Lock()
	s.fake.fail = map[string]error{"restore " + b.ID: pressluft.Errorf(pressluft.EChecksumMismatch, "db.sql.zst: sha256 differs")}
	s.fake.mu.Unlock()
	r2, err := s.backups.RestoreEnvironment(ctx, env.ID, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	if done := waitStatus(t, s.q, r2.ID, pressluft.JobFailed); done.ErrorCode != pressluft.EChecksumMismatch {
		t.Fatalf("restore of a damaged backup = %s", done.ErrorCode)
	}
	if e, _ := s.sites.FindEnvironmentByID(ctx, env.ID); e.Status != pressluft.StatusActive || e.CurrentReleaseID != after.CurrentReleaseID ||
		!strings.Contains(e.LastError, "checksum_mismatch") {
		t.Fatalf("after a refused restore: %+v", e)
	}
	if n := len(s.fake.called("restore ")); n != 3 {
		t.Fatalf("%d restores; a refused one is not rolled back", n)
	}
}
