package sqlite_test

import (
	"context"
	"database/sql"
	"reflect"
	"slices"
	"testing"

	"github.com/pressluft/pressluft"
	"github.com/pressluft/pressluft/sqlite"
)

// count runs a COUNT(*) query on its own connection to the database file.
func count(t *testing.T, db *sqlite.DB, query string, args ...any) int {
	t.Helper()
	raw, err := sql.Open("sqlite", "file:"+db.Path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var n int
	if err := raw.QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// siteWithStaging creates a site whose production and staging are active,
// with their jobs done.
func siteWithStaging(t *testing.T, db *sqlite.DB, node *pressluft.Node, slug string) (*pressluft.SiteCreated, *pressluft.Environment) {
	t.Helper()
	ctx := context.Background()
	sites, js := newSiteService(db)
	a, err := sites.CreateSite(ctx, pressluft.SiteCreate{Name: slug, Slug: slug, NodeID: node.ID, AdminEmail: "a@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	done := func() {
		t.Helper()
		j := mustClaim(t, js, "w")
		if err := js.Complete(ctx, j.ID, "w", &pressluft.JobDone{EnvironmentStatus: pressluft.StatusActive,
			Release: &pressluft.Release{ID: "r-" + j.ID, Source: pressluft.ReleaseInitial, Path: "/x", Health: pressluft.HealthHealthy}}); err != nil {
			t.Fatal(err)
		}
	}
	done()
	stg, _, err := sites.CreateEnvironment(ctx, a.Site.ID, pressluft.EnvironmentCreate{Name: "Staging", Slug: "staging", Type: "staging",
		SourceEnvironmentID: a.Environment.ID})
	if err != nil {
		t.Fatal(err)
	}
	done()
	return a, stg
}

func setNodeStatus(t *testing.T, db *sqlite.DB, id, status string) {
	t.Helper()
	if err := sqlite.NewNodeService(db, sqlite.NewJobService(db)).SetNodeStatus(context.Background(), id, status, ""); err != nil {
		t.Fatal(err)
	}
}

func TestForgetSite(t *testing.T) {
	t.Parallel()
	db, _ := mustOpenDB(t)
	ctx := context.Background()
	node := mustActiveNode(t, db, "10.77.1.2")
	sites, js := newSiteService(db)
	a, stg := siteWithStaging(t, db, node, "aaa")

	// The node answers: delete normally.
	_, err := sites.ForgetSite(ctx, a.Site.ID)
	wantCode(t, err, pressluft.ENodeReachable)

	setNodeStatus(t, db, node.ID, pressluft.NodeUnreachable)
	// A running job holds the site: cancel it first.
	b, err := sites.CreateSite(ctx, pressluft.SiteCreate{Name: "B", Slug: "bbb", NodeID: node.ID, AdminEmail: "a@example.com"})
	wantCode(t, err, pressluft.ENodeNotActive)
	setNodeStatus(t, db, node.ID, pressluft.NodeActive)
	if b, err = sites.CreateSite(ctx, pressluft.SiteCreate{Name: "B", Slug: "bbb", NodeID: node.ID, AdminEmail: "a@example.com"}); err != nil {
		t.Fatal(err)
	}
	setNodeStatus(t, db, node.ID, pressluft.NodeUnreachable)
	running := mustClaim(t, js, "w")
	_, err = sites.ForgetSite(ctx, b.Site.ID)
	wantCode(t, err, pressluft.EResourceBusy)
	if id := pressluft.ErrorDetails(err)["job_id"]; id != running.ID {
		t.Fatalf("busy details name job %v, want %s", id, running.ID)
	}

	// A queued job of the site is cancelled with the forget.
	del, err := sites.DeleteEnvironment(ctx, stg.ID)
	if err != nil {
		t.Fatal(err)
	}
	f, err := sites.ForgetSite(ctx, a.Site.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(f.SiteIDs, []string{a.Site.ID}) || len(f.EnvironmentIDs) != 2 || !slices.Equal(f.CancelledJobs, []string{del.ID}) {
		t.Fatalf("forgotten = %+v", f)
	}
	if j, _ := js.FindJobByID(ctx, del.ID); j.Status != pressluft.JobCancelled || j.ErrorCode != pressluft.EJobCancelled {
		t.Fatalf("queued job after the forget: %s %s", j.Status, j.ErrorCode)
	}
	want := pressluft.Leftovers{EnvironmentID: a.Environment.ID, SiteID: a.Site.ID, NodeID: node.ID, NodeHost: "10.77.1.2",
		LinuxUser: "aaa-production", Directory: "/srv/pressluft/aaa-production/", Database: "aaa_production", DatabaseUser: "aaa_production",
		PHPFPMPool: "/etc/php/*/fpm/pool.d/aaa-production.conf", NginxVhost: "/etc/nginx/sites-enabled/aaa-production.conf",
		Cron: "/etc/cron.d/pressluft-aaa-production", Backups: "/srv/pressluft/aaa-production/backups/", OffsiteBackups: []string{}}
	if len(f.MayRemain) != 2 || !reflect.DeepEqual(f.MayRemain[0], want) || f.MayRemain[1].LinuxUser != "aaa-staging" {
		t.Fatalf("may_remain = %+v", f.MayRemain)
	}
	_, err = sites.FindSiteByID(ctx, a.Site.ID)
	wantCode(t, err, pressluft.ENotFound)
	for _, q := range []string{`SELECT COUNT(*) FROM environments WHERE site_id = ?`,
		`SELECT COUNT(*) FROM releases WHERE environment_id IN (SELECT id FROM environments WHERE site_id = ?)`} {
		if n := count(t, db, q, a.Site.ID); n != 0 {
			t.Errorf("%s: %d rows left", q, n)
		}
	}
	if n := count(t, db, `SELECT COUNT(*) FROM releases WHERE environment_id IN (?, ?)`, a.Environment.ID, stg.ID); n != 0 {
		t.Errorf("%d releases left", n)
	}
	if n := count(t, db, `SELECT COUNT(*) FROM secrets WHERE name LIKE ? OR name LIKE ?`, "env/"+a.Environment.ID+"/%", "env/"+stg.ID+"/%"); n != 0 {
		t.Errorf("%d secrets left", n)
	}
	// The other site is untouched.
	if _, err := sites.FindSiteByID(ctx, b.Site.ID); err != nil {
		t.Fatal(err)
	}
}

func TestForgetEnvironment(t *testing.T) {
	t.Parallel()
	db, _ := mustOpenDB(t)
	ctx := context.Background()
	node := mustActiveNode(t, db, "10.77.1.2")
	sites, js := newSiteService(db)
	a, stg := siteWithStaging(t, db, node, "aaa")

	_, err := sites.ForgetEnvironment(ctx, stg.ID)
	wantCode(t, err, pressluft.ENodeReachable)
	setNodeStatus(t, db, node.ID, pressluft.NodeDecommissioned)
	_, err = sites.ForgetEnvironment(ctx, a.Environment.ID)
	wantCode(t, err, pressluft.EConflict) // production goes with its site

	// A running job on the site refuses it.
	if _, err := js.Enqueue(ctx, pressluft.NewJob{Type: pressluft.JobNoop, SiteID: a.Site.ID}); err != nil {
		t.Fatal(err)
	}
	running := mustClaim(t, js, "w")
	_, err = sites.ForgetEnvironment(ctx, stg.ID)
	wantCode(t, err, pressluft.EResourceBusy)
	if err := js.Complete(ctx, running.ID, "w", nil); err != nil {
		t.Fatal(err)
	}

	// Its own queued jobs are cancelled; the site's other jobs stay.
	own, _ := js.Enqueue(ctx, pressluft.NewJob{Type: pressluft.JobNoop, SiteID: a.Site.ID, EnvironmentID: stg.ID})
	other, _ := js.Enqueue(ctx, pressluft.NewJob{Type: pressluft.JobNoop, SiteID: a.Site.ID, EnvironmentID: a.Environment.ID})
	f, err := sites.ForgetEnvironment(ctx, stg.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.SiteIDs) != 0 || !slices.Equal(f.EnvironmentIDs, []string{stg.ID}) || !slices.Equal(f.CancelledJobs, []string{own.ID}) ||
		len(f.MayRemain) != 1 || f.MayRemain[0].Database != "aaa_staging" {
		t.Fatalf("forgotten = %+v", f)
	}
	if j, _ := js.FindJobByID(ctx, other.ID); j.Status != pressluft.JobQueued {
		t.Fatalf("the site's other job is %s", j.Status)
	}
	_, err = sites.FindEnvironmentByID(ctx, stg.ID)
	wantCode(t, err, pressluft.ENotFound)
	if site, err := sites.FindSiteByID(ctx, a.Site.ID); err != nil || site.Status != pressluft.StatusActive {
		t.Fatalf("site after forgetting its staging: %+v %v", site, err)
	}
}

func TestForgetNode(t *testing.T) {
	t.Parallel()
	db, _ := mustOpenDB(t)
	ctx := context.Background()
	node := mustActiveNode(t, db, "10.77.1.2")
	sites, js := newSiteService(db)
	nodes := sqlite.NewNodeService(db, js)
	a, _ := siteWithStaging(t, db, node, "aaa")
	b, _ := siteWithStaging(t, db, node, "bbb")

	_, err := nodes.ForgetNode(ctx, node.ID)
	wantCode(t, err, pressluft.ENodeReachable)
	setNodeStatus(t, db, node.ID, pressluft.NodeUnreachable)
	// Plain delete still refuses a node with environments.
	wantCode(t, nodes.DeleteNode(ctx, node.ID), pressluft.EConflict)

	// A running job on the node refuses it; a queued one is cancelled.
	if _, err := nodes.CheckNode(ctx, node.ID); err != nil {
		t.Fatal(err)
	}
	running := mustClaim(t, js, "w")
	_, err = nodes.ForgetNode(ctx, node.ID)
	wantCode(t, err, pressluft.EResourceBusy)
	if err := js.Complete(ctx, running.ID, "w", nil); err != nil {
		t.Fatal(err)
	}
	queued, err := nodes.CheckNode(ctx, node.ID)
	if err != nil {
		t.Fatal(err)
	}

	f, err := nodes.ForgetNode(ctx, node.ID)
	if err != nil {
		t.Fatal(err)
	}
	if f.NodeID != node.ID || len(f.SiteIDs) != 2 || len(f.EnvironmentIDs) != 4 || len(f.MayRemain) != 4 ||
		!slices.Equal(f.CancelledJobs, []string{queued.ID}) {
		t.Fatalf("forgotten = %+v", f)
	}
	for _, id := range []string{a.Site.ID, b.Site.ID} {
		_, err := sites.FindSiteByID(ctx, id)
		wantCode(t, err, pressluft.ENotFound)
	}
	if n, _ := nodes.FindNodeByID(ctx, node.ID); n.Status != pressluft.NodeDecommissioned {
		t.Fatalf("node after forget: %s", n.Status)
	}
	// Its host can be added again, and forgetting again forgets nothing.
	if err := nodes.CreateNode(ctx, &pressluft.Node{Name: "again", Host: "10.77.1.2", SSHPort: 22, SSHUser: "root"}); err != nil {
		t.Fatalf("the host of a forgotten node cannot be added again: %v", err)
	}
	if f, err := nodes.ForgetNode(ctx, node.ID); err != nil || len(f.EnvironmentIDs) != 0 {
		t.Fatalf("forget again: %+v %v", f, err)
	}
}

// A failed node may be forgotten when its last connection attempt could
// not reach it; a cancelled attempt says nothing.
func TestForgetNode_Failed(t *testing.T) {
	t.Parallel()
	db, _ := mustOpenDB(t)
	ctx := context.Background()
	js := sqlite.NewJobService(db)
	nodes := sqlite.NewNodeService(db, js)
	node := mustActiveNode(t, db, "10.77.1.2")
	provisionFails := func(err error) {
		t.Helper()
		if _, err := nodes.ProvisionNode(ctx, node.ID); err != nil {
			t.Fatal(err)
		}
		if _, ferr := js.Fail(ctx, mustClaim(t, js, "w").ID, "w", err, false); ferr != nil {
			t.Fatal(ferr)
		}
	}

	provisionFails(pressluft.Errorf(pressluft.EAnsibleHostFailed, "a task failed"))
	if n, _ := nodes.FindNodeByID(ctx, node.ID); n.Status != pressluft.NodeFailed {
		t.Fatalf("node = %s", n.Status)
	}
	_, err := nodes.ForgetNode(ctx, node.ID)
	wantCode(t, err, pressluft.ENodeReachable)

	provisionFails(pressluft.Errorf(pressluft.ENodeUnreachable, "connection lost half way"))
	j, err := nodes.CheckNode(ctx, node.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.CancelJob(ctx, j.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := nodes.ForgetNode(ctx, node.ID); err != nil {
		t.Fatalf("failed node whose last attempt could not reach it: %v", err)
	}
}
