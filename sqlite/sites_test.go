package sqlite_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pressluft/pressluft"
	"github.com/pressluft/pressluft/sqlite"
)

func newSiteService(db *sqlite.DB) (*sqlite.SiteService, *sqlite.JobService) {
	js := sqlite.NewJobService(db)
	return sqlite.NewSiteService(db, js), js
}

func TestSites_CreateStoresSiteEnvironmentSecretsAndJob(t *testing.T) {
	t.Parallel()
	db, _ := mustOpenDB(t)
	ctx := pressluft.NewContextWithActor(context.Background(), &pressluft.Actor{Email: "ops@example.com"})
	node := mustActiveNode(t, db, "10.77.1.2")
	sites, js := newSiteService(db)

	created, err := sites.CreateSite(ctx, pressluft.SiteCreate{Name: "Acme", Slug: "acme", NodeID: node.ID})
	if err != nil {
		t.Fatal(err)
	}
	env := created.Environment
	if env.SystemName != "acme-production" || env.PreviewURL != "http://acme-production.10-77-1-2.sslip.io" {
		t.Fatalf("environment names: %q %q", env.SystemName, env.PreviewURL)
	}
	if len(created.AdminPassword) != 24 {
		t.Fatalf("admin password %q", created.AdminPassword)
	}
	job, err := js.FindJobByID(ctx, created.Job.ID)
	if err != nil || job.Type != pressluft.JobSiteCreate || job.EnvironmentID != env.ID {
		t.Fatalf("job = %+v, %v", job, err)
	}
	if strings.Contains(string(job.Payload), created.AdminPassword) || !strings.Contains(string(job.Payload), "ops@example.com") {
		t.Fatalf("payload = %s", job.Payload)
	}
	secrets := sqlite.NewSecretService(db)
	if v, err := secrets.GetSecret(ctx, pressluft.SecretAdminPassword(env.ID)); err != nil || string(v) != created.AdminPassword {
		t.Fatalf("admin password secret: %v", err)
	}
	if v, err := secrets.GetSecret(ctx, pressluft.SecretDBPassword(env.ID)); err != nil || len(v) != 32 {
		t.Fatalf("db password secret: %v", err)
	}
}

func TestSites_CreateRefusesBadInput(t *testing.T) {
	t.Parallel()
	db, _ := mustOpenDB(t)
	ctx := context.Background()
	node := mustActiveNode(t, db, "10.77.1.2")
	pending := &pressluft.Node{Name: "p", Host: "10.77.9.2", SSHPort: 22, SSHUser: "root"}
	if err := sqlite.NewNodeService(db, sqlite.NewJobService(db)).CreateNode(ctx, pending); err != nil {
		t.Fatal(err)
	}
	sites, _ := newSiteService(db)
	if _, err := sites.CreateSite(ctx, pressluft.SiteCreate{Name: "Acme", Slug: "acme", NodeID: node.ID, AdminEmail: "a@example.com"}); err != nil {
		t.Fatal(err)
	}
	ctx = pressluft.NewContextWithActor(ctx, &pressluft.Actor{Email: "ops@example.com"})
	for _, tc := range []struct {
		name string
		in   pressluft.SiteCreate
		code string
	}{
		{"duplicate slug", pressluft.SiteCreate{Name: "X", Slug: "acme", NodeID: node.ID}, pressluft.EConflict},
		{"bad slug", pressluft.SiteCreate{Name: "X", Slug: "Acme!", NodeID: node.ID}, pressluft.EValidation},
		{"long slug", pressluft.SiteCreate{Name: "X", Slug: strings.Repeat("a", 21), NodeID: node.ID}, pressluft.EValidation},
		{"no name", pressluft.SiteCreate{Slug: "bcd", NodeID: node.ID}, pressluft.EValidation},
		{"bad node id", pressluft.SiteCreate{Name: "X", Slug: "bcd", NodeID: "nope"}, pressluft.EValidation},
		{"unknown node", pressluft.SiteCreate{Name: "X", Slug: "bcd", NodeID: "01000000-0000-7000-8000-000000000000"}, pressluft.ENotFound},
		{"node not active", pressluft.SiteCreate{Name: "X", Slug: "bcd", NodeID: pending.ID}, pressluft.ENodeNotActive},
		{"bad email", pressluft.SiteCreate{Name: "X", Slug: "bcd", NodeID: node.ID, AdminEmail: "x"}, pressluft.EValidation},
	} {
		_, err := sites.CreateSite(ctx, tc.in)
		if got := pressluft.ErrorCode(err); got != tc.code {
			t.Errorf("%s: code %q (%v), want %q", tc.name, got, err, tc.code)
		}
	}
}

func TestEnvironments_CreateDeleteAndStatus(t *testing.T) {
	t.Parallel()
	db, _ := mustOpenDB(t)
	ctx := context.Background()
	node := mustActiveNode(t, db, "10.77.1.2")
	sites, js := newSiteService(db)
	a, _ := sites.CreateSite(ctx, pressluft.SiteCreate{Name: "A", Slug: "aaa", NodeID: node.ID, AdminEmail: "a@example.com"})
	b, _ := sites.CreateSite(ctx, pressluft.SiteCreate{Name: "B", Slug: "bbb", NodeID: node.ID, AdminEmail: "a@example.com"})
	stg := pressluft.EnvironmentCreate{Name: "Staging", Slug: "staging", Type: "staging", SourceEnvironmentID: a.Environment.ID}

	// The source must be active first.
	_, _, err := sites.CreateEnvironment(ctx, a.Site.ID, stg)
	wantCode(t, err, pressluft.EConflict)
	for _, c := range []*pressluft.SiteCreated{a, b} {
		if err := sites.SetEnvironmentStatus(ctx, c.Environment.ID, pressluft.StatusActive, ""); err != nil {
			t.Fatal(err)
		}
	}
	if site, _ := sites.FindSiteByID(ctx, a.Site.ID); site.Status != pressluft.StatusActive {
		t.Fatalf("site status follows its environment: %s", site.Status)
	}
	_, _, err = sites.CreateEnvironment(ctx, b.Site.ID, stg)
	wantCode(t, err, pressluft.ESourceMismatch)
	bad := stg
	bad.Type = "production"
	_, _, err = sites.CreateEnvironment(ctx, a.Site.ID, bad)
	wantCode(t, err, pressluft.EValidation)

	env, job, err := sites.CreateEnvironment(ctx, a.Site.ID, stg)
	if err != nil {
		t.Fatal(err)
	}
	if env.SystemName != "aaa-staging" || env.PromotionPreset != "content-protect" || job.Type != pressluft.JobEnvCreate {
		t.Fatalf("env = %+v", env)
	}
	if site, _ := sites.FindSiteByID(ctx, a.Site.ID); site.Status != pressluft.StatusCreating {
		t.Fatalf("site status while its copy is created = %s, want creating", site.Status)
	}
	_, _, err = sites.CreateEnvironment(ctx, a.Site.ID, stg)
	wantCode(t, err, pressluft.EConflict)

	// Delete waits for nothing: a queued job on the site refuses it.
	_, err = sites.DeleteEnvironment(ctx, env.ID)
	wantCode(t, err, pressluft.EResourceBusy)
	for {
		j, _ := js.Claim(ctx, "w", lease)
		if j == nil {
			break
		}
		if err := js.Complete(ctx, j.ID, "w", nil); err != nil {
			t.Fatal(err)
		}
	}
	_, err = sites.DeleteEnvironment(ctx, a.Environment.ID)
	wantCode(t, err, pressluft.EConflict) // production goes with its site
	del, err := sites.DeleteEnvironment(ctx, env.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := sites.FindEnvironmentByID(ctx, env.ID); got.Status != pressluft.StatusDeleting {
		t.Fatalf("status = %s", got.Status)
	}
	// The delete job's success purges the environment in its own transaction.
	if j, _ := js.Claim(ctx, "w", lease); j == nil || j.ID != del.ID {
		t.Fatalf("claimed %v, want the delete job", j)
	}
	if err := js.Complete(ctx, del.ID, "w", &pressluft.JobDone{PurgeEnvironments: []string{env.ID}}); err != nil {
		t.Fatal(err)
	}
	_, err = sites.FindEnvironmentByID(ctx, env.ID)
	wantCode(t, err, pressluft.ENotFound)
	_, err = sqlite.NewSecretService(db).GetSecret(ctx, pressluft.SecretDBPassword(env.ID))
	wantCode(t, err, pressluft.ENotFound)
}

func TestEnvironments_Reset(t *testing.T) {
	t.Parallel()
	db, _ := mustOpenDB(t)
	ctx := context.Background()
	node := mustActiveNode(t, db, "10.77.1.2")
	sites, js := newSiteService(db)
	a, _ := sites.CreateSite(ctx, pressluft.SiteCreate{Name: "A", Slug: "aaa", NodeID: node.ID, AdminEmail: "a@example.com"})
	envID := a.Environment.ID

	_, err := sites.ResetEnvironment(ctx, envID)
	wantCode(t, err, pressluft.EResourceNotFailed)
	if err := sites.SetEnvironmentStatus(ctx, envID, pressluft.StatusFailed, "boom"); err != nil {
		t.Fatal(err)
	}
	if site, _ := sites.FindSiteByID(ctx, a.Site.ID); site.Status != pressluft.StatusFailed {
		t.Fatalf("site status = %s, want failed", site.Status)
	}
	_, err = sites.ResetEnvironment(ctx, envID)
	wantCode(t, err, pressluft.EResetValidation) // its create job is still queued
	j, _ := js.Claim(ctx, "w", lease)
	if _, err := js.Fail(ctx, j.ID, "w", pressluft.Errorf(pressluft.EAnsibleHostFailed, "x"), false); err != nil {
		t.Fatal(err)
	}
	_, err = sites.ResetEnvironment(ctx, envID)
	wantCode(t, err, pressluft.EResetValidation) // never had a release
	// A job that recorded a release (and was then lost) makes it resettable.
	nj, _ := js.Enqueue(ctx, pressluft.NewJob{Type: pressluft.JobNoop, SiteID: a.Site.ID, EnvironmentID: envID})
	if c, _ := js.Claim(ctx, "w", lease); c == nil || c.ID != nj.ID {
		t.Fatalf("claimed %v", c)
	}
	if err := js.Complete(ctx, nj.ID, "w", &pressluft.JobDone{Release: &pressluft.Release{ID: "01000000-0000-7000-8000-0000000000aa",
		Source: "initial", Path: "/srv/pressluft/aaa-production/releases/r1", Health: pressluft.HealthHealthy}}); err != nil {
		t.Fatal(err)
	}
	env, err := sites.ResetEnvironment(ctx, envID)
	if err != nil || env.Status != pressluft.StatusActive {
		t.Fatalf("reset = %+v, %v", env, err)
	}
	if site, _ := sites.FindSiteByID(ctx, a.Site.ID); site.Status != pressluft.StatusActive {
		t.Fatalf("site status after reset = %s", site.Status)
	}
}

func TestJobs_EndingJobMarksResourceFailed(t *testing.T) {
	t.Parallel()
	db, clk := mustOpenDB(t)
	ctx := pressluft.NewContextWithActor(context.Background(), &pressluft.Actor{Email: "ops@example.com"})
	node := mustActiveNode(t, db, "10.77.1.2")
	sites, js := newSiteService(db)
	nodes := sqlite.NewNodeService(db, js)

	// A queued site_create cancelled: its environment and site turn failed.
	a, _ := sites.CreateSite(ctx, pressluft.SiteCreate{Name: "A", Slug: "aaa", NodeID: node.ID})
	if _, err := js.CancelJob(ctx, a.Job.ID); err != nil {
		t.Fatal(err)
	}
	env, _ := sites.FindEnvironmentByID(ctx, a.Environment.ID)
	site, _ := sites.FindSiteByID(ctx, a.Site.ID)
	if env.Status != pressluft.StatusFailed || site.Status != pressluft.StatusFailed || env.LastError == "" {
		t.Fatalf("after cancel: env %s (%q), site %s", env.Status, env.LastError, site.Status)
	}

	// A provisioning whose worker died on its last attempt: node failed.
	j, err := nodes.ProvisionNode(ctx, node.ID)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < j.MaxAttempts; i++ {
		clk.Add(time.Hour)
		if c := mustClaim(t, js, "dead"); c == nil || c.ID != j.ID {
			t.Fatalf("claim %d: %+v", i, c)
		}
		clk.Add(lease + time.Second)
		if _, err := js.Rescue(ctx); err != nil {
			t.Fatal(err)
		}
	}
	n, _ := nodes.FindNodeByID(ctx, node.ID)
	if n.Status != pressluft.NodeFailed || !strings.Contains(n.LastError, pressluft.EWorkerLost) {
		t.Fatalf("node after lost worker: %s %q", n.Status, n.LastError)
	}

	// A final failure of site_create leaves the environment failed, not creating.
	if err := nodes.SetNodeStatus(ctx, node.ID, pressluft.NodeActive, ""); err != nil {
		t.Fatal(err)
	}
	b, _ := sites.CreateSite(ctx, pressluft.SiteCreate{Name: "B", Slug: "bbb", NodeID: node.ID})
	c := mustClaim(t, js, "w")
	if _, err := js.Fail(ctx, c.ID, "w", pressluft.Errorf(pressluft.EAnsibleHostFailed, "task failed"), false); err != nil {
		t.Fatal(err)
	}
	if env, _ := sites.FindEnvironmentByID(ctx, b.Environment.ID); env.Status != pressluft.StatusFailed ||
		env.LastError != "ansible_host_failed: task failed" {
		t.Fatalf("after failure: %s %q", env.Status, env.LastError)
	}
}

// A job that failed before anything ran on its node leaves its resource as
// it was; one whose node went away half way marks it failed.
func TestJobs_UntouchedUnreachableLeavesResourcesAsTheyWere(t *testing.T) {
	t.Parallel()
	db, _ := mustOpenDB(t)
	ctx := context.Background()
	sites, js := newSiteService(db)
	nodes := sqlite.NewNodeService(db, js)
	unreachable := func(untouched bool) error {
		return &pressluft.Error{Code: pressluft.ENodeUnreachable, Message: "Cannot reach 10.77.1.2:22: connection refused.", Untouched: untouched}
	}
	failNext := func(err error) {
		t.Helper()
		c := mustClaim(t, js, "w")
		if c == nil {
			t.Fatal("nothing to claim")
		}
		if _, ferr := js.Fail(ctx, c.ID, "w", err, false); ferr != nil {
			t.Fatal(ferr)
		}
	}
	provision := func(id string) {
		t.Helper()
		if _, err := nodes.ProvisionNode(ctx, id); err != nil {
			t.Fatal(err)
		}
	}

	// An active node whose provision could not connect: unreachable, for the probes to bring back.
	active := mustActiveNode(t, db, "10.77.1.2")
	provision(active.ID)
	failNext(unreachable(true))
	if n, _ := nodes.FindNodeByID(ctx, active.ID); n.Status != pressluft.NodeUnreachable || !strings.Contains(n.LastError, "connection refused") {
		t.Fatalf("active node after an untouched failure: %s %q", n.Status, n.LastError)
	}
	// A node never provisioned stays pending, with the reason.
	pending := &pressluft.Node{Name: "new", Host: "10.77.1.3", SSHPort: 22, SSHUser: "root"}
	if err := nodes.CreateNode(ctx, pending); err != nil {
		t.Fatal(err)
	}
	provision(pending.ID)
	failNext(unreachable(true))
	if n, _ := nodes.FindNodeByID(ctx, pending.ID); n.Status != pressluft.NodePending || n.LastError == "" {
		t.Fatalf("pending node after an untouched failure: %s %q", n.Status, n.LastError)
	}
	// Lost half way through a provision: failed.
	if err := nodes.SetNodeStatus(ctx, pending.ID, pressluft.NodeActive, ""); err != nil {
		t.Fatal(err)
	}
	provision(pending.ID)
	failNext(unreachable(false))
	if n, _ := nodes.FindNodeByID(ctx, pending.ID); n.Status != pressluft.NodeFailed {
		t.Fatalf("node after a failure half way: %s", n.Status)
	}

	// A delete that could not reach the node: the environment stays active.
	node := mustActiveNode(t, db, "10.77.1.4")
	a, _ := sites.CreateSite(ctx, pressluft.SiteCreate{Name: "A", Slug: "aaa", NodeID: node.ID, AdminEmail: "a@example.com"})
	c := mustClaim(t, js, "w")
	if err := js.Complete(ctx, c.ID, "w", &pressluft.JobDone{EnvironmentStatus: pressluft.StatusActive}); err != nil {
		t.Fatal(err)
	}
	if _, err := sites.DeleteSite(ctx, a.Site.ID); err != nil {
		t.Fatal(err)
	}
	failNext(unreachable(true))
	env, _ := sites.FindEnvironmentByID(ctx, a.Environment.ID)
	site, _ := sites.FindSiteByID(ctx, a.Site.ID)
	if env.Status != pressluft.StatusActive || site.Status != pressluft.StatusActive || env.LastError == "" {
		t.Fatalf("after an untouched delete failure: env %s site %s %q", env.Status, site.Status, env.LastError)
	}
	// A create that could not reach the node has nothing to go back to: failed.
	b, _ := sites.CreateSite(ctx, pressluft.SiteCreate{Name: "B", Slug: "bbb", NodeID: node.ID, AdminEmail: "a@example.com"})
	failNext(unreachable(true))
	if env, _ := sites.FindEnvironmentByID(ctx, b.Environment.ID); env.Status != pressluft.StatusFailed {
		t.Fatalf("create after an untouched failure: %s", env.Status)
	}
}
