package sqlite_test

import (
	"context"
	"testing"
	"time"

	"github.com/pressluft/pressluft"
)

// A failure that left the node as it was (nothing ran, or the job rolled
// its change back) puts the resource back, unless an earlier attempt was
// lost half way: that one may have changed the node (the crash soak found a
// rollback lost after its switch, then failed untouched, shown active on the
// release it had left).
func TestJobs_AnAttemptLostHalfWayMarksTheResourceFailed(t *testing.T) {
	t.Parallel()
	db, clk := mustOpenDB(t)
	ctx := context.Background()
	sites, js := newSiteService(db)
	node := mustActiveNode(t, db, "10.77.1.5")
	untouched := &pressluft.Error{Code: pressluft.ENodeUnreachable, Message: "Cannot reach 10.77.1.5:22.", Untouched: true}
	rolledBack := &pressluft.Error{Code: pressluft.EHealthCheckFailed, Message: "No title.", RolledBack: true}

	// deleting creates a site, and enqueues its delete (which puts the
	// environment back to active when nothing changed).
	deleting := func(slug string) *pressluft.SiteCreated {
		t.Helper()
		created, err := sites.CreateSite(ctx, pressluft.SiteCreate{Name: slug, Slug: slug, NodeID: node.ID, AdminEmail: "a@example.com"})
		if err != nil {
			t.Fatal(err)
		}
		c := mustClaim(t, js, "w")
		if err := js.Complete(ctx, c.ID, "w", &pressluft.JobDone{EnvironmentStatus: pressluft.StatusActive}); err != nil {
			t.Fatal(err)
		}
		if _, err := sites.DeleteSite(ctx, created.Site.ID); err != nil {
			t.Fatal(err)
		}
		return created
	}
	failWith := func(jerr error) {
		t.Helper()
		c := mustClaim(t, js, "w")
		if c == nil {
			t.Fatal("nothing to claim")
		}
		if _, err := js.Fail(ctx, c.ID, "w", jerr, false); err != nil {
			t.Fatal(err)
		}
	}
	loseAttempt := func() {
		t.Helper()
		mustClaim(t, js, "dead")
		clk.Add(lease + time.Second)
		if n, err := js.Rescue(ctx); err != nil || n != 1 {
			t.Fatalf("Rescue = %d, %v", n, err)
		}
		clk.Add(time.Hour) // past the retry delay
	}
	status := func(created *pressluft.SiteCreated) string {
		env, err := sites.FindEnvironmentByID(ctx, created.Environment.ID)
		if err != nil {
			t.Fatal(err)
		}
		return env.Status
	}

	for _, jerr := range []error{untouched, rolledBack} {
		a := deleting("a" + pressluft.ErrorCode(jerr)[:4])
		failWith(jerr)
		if got := status(a); got != pressluft.StatusActive {
			t.Errorf("%s on the only attempt: environment %s, want active", pressluft.ErrorCode(jerr), got)
		}
		b := deleting("b" + pressluft.ErrorCode(jerr)[:4])
		loseAttempt()
		failWith(jerr)
		if got := status(b); got != pressluft.StatusFailed {
			t.Errorf("%s after a lost attempt: environment %s, want failed", pressluft.ErrorCode(jerr), got)
		}
	}
}
