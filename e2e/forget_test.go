//go:build e2e

package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/pressluft/pressluft/e2e/testnode"
)

// testForget forgets a site whose node stopped answering, through the CLI:
// refused while the node answers, then the site leaves the control plane
// and every name the answer lists as may_remain is really there on the node.
// It runs on the provisioned node of TestNodesAndSites and leaves the node
// active; it adds one site_create and two probe turns (about 20 s).
func testForget(t *testing.T, s *stack, web *testnode.Node, nodeID string) {
	start := time.Now()
	site, created := createSite(t, s, nodeID, "Forget Me", "forgetme", "Forget Me")
	siteID := site["id"].(string)
	if job := s.api.waitJob(created["job_id"].(string), 15*time.Minute); job["status"] != "succeeded" {
		t.Fatalf("site_create:\n%s", describeJob(job))
	}

	out, err := s.cp.tryCLI("site", "delete", siteID, "--force")
	if err == nil || !strings.HasPrefix(out, "error: ") || !strings.Contains(out, "(node_reachable)") {
		t.Fatalf("forget while the node answers: %v\n%s", err, out)
	}

	inNode(t, web, "systemctl", "stop", "ssh.service")
	t.Cleanup(func() { _, _ = web.Exec(ctxFor(t, time.Minute), "systemctl", "start", "ssh.service") })
	waitFor(t, "the node to turn unreachable", time.Minute, func() bool { return s.node(t, nodeID)["status"] == "unreachable" })

	var f struct {
		SiteIDs   []string         `json:"site_ids"`
		MayRemain []map[string]any `json:"may_remain"`
	}
	raw := s.cp.cli("site", "delete", siteID, "--force", "--json")
	if err := json.Unmarshal([]byte(raw), &f); err != nil {
		t.Fatalf("site delete --force --json: %v\n%s", err, raw)
	}
	if len(f.SiteIDs) != 1 || f.SiteIDs[0] != siteID || len(f.MayRemain) != 1 {
		t.Fatalf("forgotten: %s", raw)
	}
	s.api.must("GET", "/api/sites/"+siteID, nil, 404)
	audit := s.api.must("GET", "/api/audit?action=site.forget&resource_id="+siteID, nil, 200)["items"].([]any)
	if len(audit) != 2 || audit[0].(map[string]any)["result"] != "success" ||
		audit[0].(map[string]any)["details"].(map[string]any)["may_remain"] == nil {
		t.Fatalf("audit of the forget: %v", audit)
	}

	// Everything listed is what the agent made: the names are its own.
	left := f.MayRemain[0]
	name := func(k string) string { return left[k].(string) }
	if name("linux_user") != "forgetme-production" || name("database") != "forgetme_production" {
		t.Fatalf("may_remain: %v", left)
	}
	for _, check := range [][]string{
		{"id", name("linux_user")},
		{"test", "-d", name("directory")},
		{"test", "-d", name("backups")},
		{"test", "-f", name("php_fpm_pool")},
		{"test", "-f", name("nginx_vhost")},
		{"test", "-f", name("cron")},
	} {
		if _, err := web.Exec(ctxFor(t, time.Minute), check...); err != nil {
			t.Errorf("listed as remaining but not on the node: %v: %v", check, err)
		}
	}
	if db := inNode(t, web, "mariadb", "-N", "-e", "SHOW DATABASES LIKE '"+name("database")+"'"); strings.TrimSpace(db) != name("database") {
		t.Errorf("database %s not on the node: %q", name("database"), db)
	}
	if u := inNode(t, web, "mariadb", "-N", "-e", "SELECT user FROM mysql.user WHERE user = '"+name("database_user")+"'"); strings.TrimSpace(u) != name("database_user") {
		t.Errorf("database user %s not on the node: %q", name("database_user"), u)
	}

	inNode(t, web, "systemctl", "start", "ssh.service")
	waitFor(t, "the node to turn active again", time.Minute, func() bool { return s.node(t, nodeID)["status"] == "active" })
	t.Logf("FIGURE forget on an unreachable node, with its site created first: %s", time.Since(start).Round(time.Second))
}
