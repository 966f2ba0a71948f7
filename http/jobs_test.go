package http_test

import (
	"bufio"
	"context"
	nethttp "net/http"
	"strings"
	"testing"
	"time"

	"github.com/pressluft/pressluft"
)

func TestAPI_NodeProvisionJobLifecycle(t *testing.T) {
	t.Parallel()
	ts := mustServer(t)
	c := ts.loggedIn(t)
	node := c.expect("POST", "/api/nodes", `{"name":"web-1","host":"10.77.1.2","ssh_port":22,"ssh_user":"root"}`, 201, "")
	id := node["id"].(string)
	if node["status"] != pressluft.NodePending {
		t.Fatalf("new node status %v", node["status"])
	}
	key := c.expect("GET", "/api/nodes/ssh-key", "", 200, "")
	if !strings.HasPrefix(key["public_key"].(string), "ssh-ed25519 ") {
		t.Fatalf("ssh key = %v", key)
	}
	accepted := c.expect("POST", "/api/nodes/"+id+"/provision", "", 202, "")
	jobID := accepted["job_id"].(string)
	c.expect("POST", "/api/nodes/"+id+"/provision", "", 409, pressluft.EResourceBusy)
	if got := c.expect("GET", "/api/nodes/"+id, "", 200, ""); got["status"] != pressluft.NodeProvisioning {
		t.Fatalf("node status %v", got["status"])
	}
	// The node is not active: no site can go there yet.
	c.expect("POST", "/api/sites", `{"name":"Acme","slug":"acme","node_id":"`+id+`"}`, 409, pressluft.ENodeNotActive)

	list := c.expect("GET", "/api/jobs?node_id="+id+"&type=node_provision&status=queued", "", 200, "")
	if items := list["items"].([]any); len(items) != 1 || items[0].(map[string]any)["id"] != jobID {
		t.Fatalf("jobs = %v", list)
	}
	job := c.expect("GET", "/api/jobs/"+jobID, "", 200, "")
	if job["status"] != pressluft.JobQueued || len(job["events"].([]any)) == 0 {
		t.Fatalf("job = %v", job)
	}
	c.expect("DELETE", "/api/nodes/"+id, "", 409, pressluft.EResourceBusy)
	cancelled := c.expect("POST", "/api/jobs/"+jobID+"/cancel", "", 200, "")
	if cancelled["status"] != pressluft.JobCancelled {
		t.Fatalf("cancel = %v", cancelled)
	}
	c.expect("POST", "/api/jobs/"+jobID+"/cancel", "", 409, pressluft.EJobNotCancellable)
	// Cancelled before it started: the node is as it was.
	if got := c.expect("GET", "/api/nodes/"+id, "", 200, ""); got["status"] != pressluft.NodePending {
		t.Fatalf("node after its provisioning was cancelled: %v", got["status"])
	}
	c.expect("DELETE", "/api/nodes/"+id, "", 204, "")
	if got := c.expect("GET", "/api/nodes/"+id, "", 200, ""); got["status"] != pressluft.NodeDecommissioned {
		t.Fatalf("deleted node status %v", got["status"])
	}

	m := c.expect("GET", "/api/metrics", "", 200, "")
	if m["jobs"].(map[string]any)["cancelled"] != float64(1) {
		t.Fatalf("metrics = %v", m)
	}
	prom := c.do("GET", "/metrics", "")
	if prom.status != 200 || !strings.Contains(prom.body, `pressluft_jobs{status="cancelled"} 1`) {
		t.Fatalf("prometheus: %d %s", prom.status, prom.body)
	}
	ts.client(t).expect("GET", "/metrics", "", 401, pressluft.EUnauthorized)
}

func TestAPI_JobEventsStream(t *testing.T) {
	t.Parallel()
	ts := mustServer(t)
	c := ts.loggedIn(t)
	j, err := ts.Jobs.Enqueue(context.Background(), pressluft.NewJob{Type: pressluft.JobNoop})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := nethttp.NewRequest("GET", ts.base+"/api/jobs/"+j.ID+"/events", nil)
	res, err := c.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if ct := res.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(res.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	read := func(want string) {
		t.Helper()
		deadline := time.After(10 * time.Second)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("stream ended before %q", want)
				}
				if strings.Contains(l, want) {
					return
				}
			case <-deadline:
				t.Fatalf("no %q on the stream", want)
			}
		}
	}
	read(`"step":"queued"`) // history
	read(`"status":"queued"`)
	// A live change arrives on the open stream, and the stream ends after
	// the job is finished.
	if _, err := ts.Jobs.CancelJob(context.Background(), j.ID); err != nil {
		t.Fatal(err)
	}
	read(`"step":"cancelled"`)
	read(`"status":"cancelled"`)
	for range lines {
	}
}

func TestAPI_SitesRoutes(t *testing.T) {
	t.Parallel()
	ts := mustServer(t)
	c := ts.loggedIn(t)
	node := c.expect("POST", "/api/nodes", `{"name":"web-1","host":"10.77.1.2"}`, 201, "")
	nodeID := node["id"].(string)
	if err := ts.Nodes.SetNodeStatus(context.Background(), nodeID, pressluft.NodeActive, ""); err != nil {
		t.Fatal(err)
	}
	created := c.expect("POST", "/api/sites", `{"name":"Acme","slug":"acme","node_id":"`+nodeID+`","title":"Acme Inc"}`, 202, "")
	pw, _ := created["admin_password"].(string)
	if len(pw) < 16 || created["job_id"] == "" {
		t.Fatalf("create = %v", created)
	}
	site := created["site"].(map[string]any)
	siteID := site["id"].(string)
	got := c.expect("GET", "/api/sites/"+siteID, "", 200, "")
	envs := got["environments"].([]any)
	if len(envs) != 1 || envs[0].(map[string]any)["preview_url"] != "http://acme-production.10-77-1-2.sslip.io" {
		t.Fatalf("site = %v", got)
	}
	for _, path := range []string{"/api/sites/" + siteID, "/api/jobs/" + created["job_id"].(string), "/api/sites"} {
		if strings.Contains(c.do("GET", path, "").body, pw) {
			t.Fatalf("%s reveals the admin password", path)
		}
	}
	c.expect("POST", "/api/sites", `{"name":"Acme","slug":"acme","node_id":"`+nodeID+`"}`, 409, pressluft.EConflict)
	c.expect("POST", "/api/sites", `{"name":"Acme","slug":"-acme","node_id":"`+nodeID+`"}`, 400, pressluft.EValidation)
	envID := created["environment_id"].(string)
	c.expect("POST", "/api/sites/"+siteID+"/environments",
		`{"name":"Staging","slug":"staging","type":"staging","source_environment_id":"`+envID+`"}`, 409, pressluft.EConflict) // source still creating
	c.expect("POST", "/api/sites/"+siteID+"/environments",
		`{"name":"Staging","slug":"staging","type":"preview","source_environment_id":"`+envID+`"}`, 400, pressluft.EValidation)
	c.expect("POST", "/api/environments/"+envID+"/reset", "", 409, pressluft.EResourceNotFailed)
	c.expect("POST", "/api/sites/"+siteID+"/reset", "", 409, pressluft.EResourceNotFailed)
	c.expect("DELETE", "/api/sites/"+siteID, "", 409, pressluft.EResourceBusy) // its create job is queued
	c.expect("GET", "/api/environments/"+envID, "", 200, "")
	c.expect("GET", "/api/sites/"+siteID+"/environments", "", 200, "")
}

func TestAPI_Settings(t *testing.T) {
	t.Parallel()
	ts := mustServer(t)
	c := ts.loggedIn(t)
	got := c.expect("PUT", "/api/settings", `{"preview_domain":"preview.example.com","dns01_provider":"cloudflare","dns01_credentials":"CF_TOKEN=s3cr3t"}`, 200, "")
	if got["preview_domain"] != "preview.example.com" || got["dns01_credentials_set"] != true {
		t.Fatalf("settings = %v", got)
	}
	if body := c.do("GET", "/api/settings", "").body; strings.Contains(body, "s3cr3t") {
		t.Fatal("settings reveal the DNS-01 credentials")
	}
}

func TestAPI_Dashboard(t *testing.T) {
	t.Parallel()
	ts := mustServer(t)
	ts.Static = staticFS()
	c := ts.client(t)
	for _, path := range []string{"/", "/sites/123", "/app.css"} {
		res := c.do("GET", path, "")
		if res.status != 200 {
			t.Fatalf("GET %s: %d", path, res.status)
		}
	}
	if res := c.do("GET", "/sites/123", ""); !strings.Contains(res.body, "<html") {
		t.Fatal("SPA fallback does not serve index.html")
	}
}
