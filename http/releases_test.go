package http_test

import (
	"context"
	"strings"
	"testing"

	"github.com/pressluft/pressluft"
)

// fakeReleaseOps answers the updates list; reset tests replace SwitchRelease (reset_test.go).
type fakeReleaseOps struct{}

func (fakeReleaseOps) BuildRelease(context.Context, *pressluft.Node, pressluft.EnvSpec, pressluft.DeploySource, pressluft.Progress) (*pressluft.ReleaseFacts, error) {
	panic("not used by the API")
}
func (fakeReleaseOps) UpdateRelease(context.Context, *pressluft.Node, pressluft.EnvSpec, pressluft.UpdateSpec, pressluft.Progress) (*pressluft.ReleaseFacts, error) {
	panic("not used by the API")
}
func (fakeReleaseOps) SwitchRelease(context.Context, *pressluft.Node, pressluft.EnvSpec, string, pressluft.Progress) (*pressluft.EnvFacts, error) {
	panic("not used by the API")
}
func (fakeReleaseOps) PruneReleases(context.Context, *pressluft.Node, string, []string) ([]string, error) {
	panic("not used by the API")
}
func (*fakeReleaseOps) Updates(_ context.Context, _ *pressluft.Node, env pressluft.EnvSpec) (*pressluft.UpdateInfo, error) {
	return &pressluft.UpdateInfo{Items: []pressluft.Installed{{Type: "plugin", Slug: "hello-dolly", Name: "Hello Dolly", Version: "1.6"}},
		Problem: "wordpress.org did not answer from " + env.Name + "."}, nil
}

func TestAPI_Releases(t *testing.T) {
	t.Parallel()
	ts := mustServer(t)
	c := ts.loggedIn(t)
	siteID, envID := activeSite(t, ts, c, "rel4")
	env := "/api/environments/" + envID

	for _, bad := range []string{`{"source_type":"svn"}`, `{"source_type":"git","repository":"https://example.com/r.git","source_ref":"--upload-pack=x"}`,
		`{"source_type":"git","repository":"ext::sh -c id","source_ref":"main"}`, `{"source_type":"git","repository":"https://example.com/r.git","source_ref":"a..b"}`,
		`{"source_type":"archive","archive_url":"file:///etc/passwd"}`, `{"source_type":"archive","archive_url":"http://user:pw@example.com/a.zip"}`} {
		c.expect("POST", env+"/deploy", bad, 400, pressluft.EValidation)
	}
	for _, bad := range []string{`{"scope":"everything"}`, `{"scope":"plugins","items":["../x"]}`, `{"scope":"core","items":["akismet"]}`,
		`{"scope":"plugins","items":["a","b"],"package_url":"http://10.0.0.1/a.zip"}`} {
		c.expect("POST", env+"/updates", bad, 400, pressluft.EValidation)
	}
	c.expect("POST", env+"/rollback", `{"release_id":"01a228f7-1877-7e80-b508-7d8011de157b"}`, 400, pressluft.EValidation)

	acc := c.expect("POST", env+"/deploy", `{"source_type":"git","repository":"https://git.example.com/acme/site.git","source_ref":"main"}`, 202, "")
	if e := c.expect("GET", env, "", 200, ""); e["status"] != pressluft.StatusDeploying {
		t.Fatalf("environment = %v", e)
	}
	c.expect("POST", env+"/updates", `{"scope":"plugins","verify_on_clone":true}`, 409, pressluft.EConflict)
	items := c.expect("GET", env+"/backups", "", 200, "")["items"].([]any)
	if len(items) != 1 || items[0].(map[string]any)["trigger"] != "snapshot" || items[0].(map[string]any)["job_id"] != acc["job_id"] {
		t.Fatalf("the deploy's snapshot = %v", items)
	}
	c.expect("POST", "/api/jobs/"+acc["job_id"].(string)+"/cancel", "", 200, "")

	rels := c.expect("GET", env+"/releases", "", 200, "")["items"].([]any)
	if len(rels) != 1 || rels[0].(map[string]any)["current"] != true {
		t.Fatalf("releases = %v", rels)
	}
	current := rels[0].(map[string]any)["id"].(string)
	c.expect("POST", env+"/rollback", `{"release_id":"`+current+`","restore_database":false}`, 409, pressluft.EConflict)

	up := c.expect("GET", env+"/updates", "", 200, "")
	if up["checked"] != false || !strings.Contains(up["problem"].(string), "rel4-production") {
		t.Fatalf("updates = %v", up)
	}
	got := c.expect("PUT", env+"/health-paths", `{"paths":["/shop/","/wp-json/"]}`, 200, "")
	if p := got["health_paths"].([]any); len(p) != 2 {
		t.Fatalf("health paths = %v", got)
	}
	c.expect("PUT", env+"/health-paths", `{"paths":["shop"]}`, 400, pressluft.EValidation)

	key := c.expect("GET", "/api/sites/"+siteID+"/deploy-key", "", 200, "")
	if again := c.expect("GET", "/api/sites/"+siteID+"/deploy-key", "", 200, ""); again["public_key"] != key["public_key"] ||
		!strings.HasPrefix(key["public_key"].(string), "ssh-ed25519 ") {
		t.Fatalf("deploy key = %v, then %v", key, again)
	}
	if strings.Contains(c.do("GET", "/api/sites/"+siteID, "").body, "PRIVATE KEY") {
		t.Fatal("the private deploy key is shown")
	}
	c.expect("PUT", "/api/settings", `{"releases_keep":1}`, 400, pressluft.EValidation)
	if st := c.expect("PUT", "/api/settings", `{"releases_keep":3,"allow_private_sources":true}`, 200, ""); st["releases_keep"] != float64(3) || st["allow_private_sources"] != true {
		t.Fatalf("settings = %v", st)
	}
}
