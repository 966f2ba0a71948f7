package http_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/pressluft/pressluft"
	"github.com/pressluft/pressluft/sqlite"
)

// DELETE with force=true forgets what lives on a node that is gone: refused
// while the node answers or a job runs, else the rows go in one
// transaction, queued jobs are cancelled, and the answer and the audit log
// list what may remain on the node.
func TestAPI_Forget(t *testing.T) {
	t.Parallel()
	ts := mustServer(t)
	c := ts.loggedIn(t)
	ctx := context.Background()
	js := sqlite.NewJobService(ts.db)
	setNode := func(id, status string) {
		t.Helper()
		if err := ts.Nodes.SetNodeStatus(ctx, id, status, ""); err != nil {
			t.Fatal(err)
		}
	}
	nodeID := c.expect("POST", "/api/nodes", `{"name":"web","host":"10.77.1.2"}`, 201, "")["id"].(string)
	setNode(nodeID, pressluft.NodeActive)
	created := c.expect("POST", "/api/sites", `{"name":"Acme","slug":"acme","node_id":"`+nodeID+`","admin_email":"a@example.com"}`, 202, "")
	siteID, prodID := created["site"].(map[string]any)["id"].(string), created["environment_id"].(string)

	// The node answers: delete normally.
	c.expect("DELETE", "/api/sites/"+siteID+"?force=true", "", 409, pressluft.ENodeReachable)
	c.expect("DELETE", "/api/sites/"+siteID+"?force=yes", "", 400, pressluft.EValidation)

	// A running job refuses the forget and names the job.
	setNode(nodeID, pressluft.NodeUnreachable)
	running, err := js.Claim(ctx, "w", time.Minute)
	if err != nil || running == nil {
		t.Fatalf("claim: %v %v", running, err)
	}
	busy := c.expect("DELETE", "/api/sites/"+siteID+"?force=true", "", 409, pressluft.EResourceBusy)
	if busy["details"].(map[string]any)["job_id"] != running.ID {
		t.Fatalf("busy answer: %v", busy)
	}
	if err := js.Complete(ctx, running.ID, "w", &pressluft.JobDone{EnvironmentStatus: pressluft.StatusActive}); err != nil {
		t.Fatal(err)
	}

	// A staging copy with its env_create still queued.
	setNode(nodeID, pressluft.NodeActive)
	stg := c.expect("POST", "/api/sites/"+siteID+"/environments", `{"name":"Staging","slug":"staging","type":"staging","source_environment_id":"`+prodID+`"}`, 202, "")
	setNode(nodeID, pressluft.NodeUnreachable)
	c.expect("DELETE", "/api/environments/"+prodID+"?force=true", "", 409, pressluft.EConflict)
	f := c.expect("DELETE", "/api/environments/"+stg["environment_id"].(string)+"?force=true", "", 200, "")
	if jobs := f["cancelled_jobs"].([]any); len(jobs) != 1 || jobs[0] != stg["job_id"] {
		t.Fatalf("cancelled jobs: %v", f)
	}
	left := f["may_remain"].([]any)[0].(map[string]any)
	if left["linux_user"] != "acme-staging" || left["database"] != "acme_staging" || left["directory"] != "/srv/pressluft/acme-staging/" {
		t.Fatalf("may_remain: %v", left)
	}
	c.expect("GET", "/api/environments/"+stg["environment_id"].(string), "", 404, pressluft.ENotFound)

	f = c.expect("DELETE", "/api/sites/"+siteID+"?force=true", "", 200, "")
	if ids := f["site_ids"].([]any); len(ids) != 1 || ids[0] != siteID || len(f["may_remain"].([]any)) != 1 {
		t.Fatalf("site forget: %v", f)
	}
	c.expect("GET", "/api/sites/"+siteID, "", 404, pressluft.ENotFound)

	// Every attempt is audited as a forget; a success records may_remain.
	entries := ts.auditEntries(t, pressluft.AuditFilter{Action: "site.forget"})
	var results []string
	for _, e := range entries {
		results = append(results, e.Result)
	}
	if !slices.Equal(results, []string{"success", "failure", "failure"}) {
		t.Fatalf("site.forget entries: %v", results)
	}
	remain, _ := entries[0].Details["may_remain"].([]any)
	if len(remain) != 1 || remain[0].(map[string]any)["linux_user"] != "acme-production" || entries[0].ResourceID != siteID {
		t.Fatalf("audit details: %+v", entries[0])
	}
	if env := ts.auditEntries(t, pressluft.AuditFilter{Action: "environment.forget"}); len(env) != 2 || env[0].Details["may_remain"] == nil {
		t.Fatalf("environment.forget entries: %+v", env)
	}

	// A plain DELETE keeps today's behaviour; forgetting the node cancels
	// that delete, removes the site and frees the host.
	setNode(nodeID, pressluft.NodeActive)
	b := c.expect("POST", "/api/sites", `{"name":"B","slug":"bbb","node_id":"`+nodeID+`","admin_email":"a@example.com"}`, 202, "")
	c.expect("DELETE", "/api/nodes/"+nodeID+"?force=true", "", 409, pressluft.ENodeReachable)
	setNode(nodeID, pressluft.NodeUnreachable)
	c.expect("DELETE", "/api/nodes/"+nodeID, "", 409, pressluft.EConflict)
	f = c.expect("DELETE", "/api/nodes/"+nodeID+"?force=true", "", 200, "")
	if f["node_id"] != nodeID || len(f["site_ids"].([]any)) != 1 || f["cancelled_jobs"].([]any)[0] != b["job_id"] {
		t.Fatalf("node forget: %v", f)
	}
	if n := c.expect("GET", "/api/nodes/"+nodeID, "", 200, ""); n["status"] != pressluft.NodeDecommissioned {
		t.Fatalf("node after forget: %v", n["status"])
	}
	c.expect("POST", "/api/nodes", `{"name":"web","host":"10.77.1.2"}`, 201, "")
	if n := ts.auditEntries(t, pressluft.AuditFilter{Action: "node.forget"}); len(n) != 2 || n[0].Result != "success" {
		t.Fatalf("node.forget entries: %+v", n)
	}
}

// A plain DELETE of a site still answers 202 with its job.
func TestAPI_DeleteWithoutForceEnqueues(t *testing.T) {
	t.Parallel()
	ts := mustServer(t)
	c := ts.loggedIn(t)
	nodeID := c.expect("POST", "/api/nodes", `{"name":"web","host":"10.77.1.2"}`, 201, "")["id"].(string)
	if err := ts.Nodes.SetNodeStatus(context.Background(), nodeID, pressluft.NodeActive, ""); err != nil {
		t.Fatal(err)
	}
	created := c.expect("POST", "/api/sites", `{"name":"Acme","slug":"acme","node_id":"`+nodeID+`","admin_email":"a@example.com"}`, 202, "")
	js := sqlite.NewJobService(ts.db)
	j, _ := js.Claim(context.Background(), "w", time.Minute)
	if err := js.Complete(context.Background(), j.ID, "w", &pressluft.JobDone{EnvironmentStatus: pressluft.StatusActive}); err != nil {
		t.Fatal(err)
	}
	siteID := created["site"].(map[string]any)["id"].(string)
	if m := c.expect("DELETE", "/api/sites/"+siteID+"?force=false", "", 202, ""); m["job_id"] == nil {
		t.Fatalf("delete: %v", m)
	}
	if e := ts.auditEntries(t, pressluft.AuditFilter{Action: "site.delete"}); len(e) != 1 {
		t.Fatalf("site.delete entries: %d", len(e))
	}
}
