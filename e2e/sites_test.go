//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pressluft/pressluft/e2e/testnode"
)

// previewClient reaches preview URLs on the node's address with the
// preview host name, as DNS would.
func previewClient(nodeIP string) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{
		Jar:     jar,
		Timeout: 30 * time.Second,
		Transport: &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, net.JoinHostPort(nodeIP, "80"))
		}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func fetch(t *testing.T, c *http.Client, u string) (int, string, http.Header) {
	t.Helper()
	res, err := c.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b), res.Header
}

// helper runs the node-side PHP helper as an environment's user.
func helper(t *testing.T, n *testnode.Node, envName, command, stdin string, args ...string) map[string]any {
	t.Helper()
	full := append([]string{"runuser", "-u", envName, "--", "php", "/usr/local/lib/pressluft/helper.php", command,
		"--path=/srv/pressluft/" + envName + "/current"}, args...)
	cmd, err := n.Command(ctxFor(t, time.Minute), full...)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.Output()
	var m map[string]any
	if jerr := json.Unmarshal(out, &m); jerr != nil || err != nil || m["ok"] != true {
		t.Fatalf("helper %s on %s: %v %s", command, envName, err, out)
	}
	return m
}

// hasEvent reports whether job recorded an event of step.
func hasEvent(job map[string]any, step string) bool {
	for _, e := range job["events"].([]any) {
		if e.(map[string]any)["step"] == step {
			return true
		}
	}
	return false
}

func createSite(t *testing.T, s *stack, nodeID, name, slug, title string) (site, created map[string]any) {
	t.Helper()
	created = s.api.must("POST", "/api/sites", map[string]any{"name": name, "slug": slug, "node_id": nodeID, "title": title,
		"admin_email": "ops@example.com"}, 202)
	remember(slug+" admin password", created["admin_password"].(string))
	return created["site"].(map[string]any), created
}

func testSites(t *testing.T, s *stack, web *testnode.Node, nodeID string) {
	c := previewClient(web.IP)
	const title = "Acme Fresh Coffee & Tea"
	var prodURL, prodEnvID, siteID string

	if !t.Run("create a site", func(t *testing.T) {
		start := time.Now()
		site, created := createSite(t, s, nodeID, "Acme", "acme", title)
		siteID, prodEnvID = site["id"].(string), created["environment_id"].(string)
		job := s.api.waitJob(created["job_id"].(string), 15*time.Minute)
		if job["status"] != "succeeded" {
			t.Fatalf("site_create:\n%s", describeJob(job))
		}
		env := s.api.must("GET", "/api/environments/"+prodEnvID, nil, 200)
		prodURL = env["preview_url"].(string)
		code, body, _ := fetch(t, c, prodURL+"/")
		t.Logf("FIGURE site create, API call to preview URL serving the title: %s", time.Since(start).Round(100*time.Millisecond))
		if code != 200 || !strings.Contains(body, "Acme Fresh Coffee &amp; Tea") {
			t.Fatalf("%s: %d\n%.500s", prodURL, code, body)
		}
		if env["status"] != "active" || s.api.must("GET", "/api/sites/"+siteID, nil, 200)["status"] != "active" {
			t.Fatalf("statuses after create: env %v", env["status"])
		}
		if _, _, hdr := fetch(t, c, prodURL+"/"); hdr.Get("X-Robots-Tag") != "" {
			t.Errorf("production sends X-Robots-Tag %q", hdr.Get("X-Robots-Tag"))
		}
	}) {
		return
	}

	t.Run("the admin logs in with the returned password", func(t *testing.T) {
		password := knownSecrets["acme admin password"]
		form := url.Values{"log": {"admin"}, "pwd": {password}, "wp-submit": {"Log In"}, "testcookie": {"1"},
			"redirect_to": {prodURL + "/wp-admin/"}}
		u, _ := url.Parse(prodURL)
		c.Jar.SetCookies(u, []*http.Cookie{{Name: "wordpress_test_cookie", Value: "WP Cookie check"}})
		res, err := c.PostForm(prodURL+"/wp-login.php", form)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 302 || !strings.Contains(res.Header.Get("Location"), "/wp-admin/") {
			t.Fatalf("login answered %d to %q", res.StatusCode, res.Header.Get("Location"))
		}
		code, body, _ := fetch(t, c, prodURL+"/wp-admin/")
		if code != 200 || !strings.Contains(body, "Dashboard") {
			t.Fatalf("wp-admin: %d %.300s", code, body)
		}
	})

	var stagingEnvID string
	stagingName := "acme-staging"
	t.Run("a staging copy answers on its own URL with URLs rewritten", func(t *testing.T) {
		prodHost := strings.TrimPrefix(prodURL, "http://")
		// Values that a plain text replace would corrupt: a serialized array
		// whose string lengths change, and a JSON-escaped URL inside it.
		value := `{"value":{"home":"` + prodURL + `/shop","json":"{\"u\":\"http:\\\/\\\/` + prodHost + `\\\/x\"}","n":7}}`
		helper(t, web, "acme-production", "option-set", value, "--name=pl_e2e_serialized")

		start := time.Now()
		res := s.api.must("POST", "/api/sites/"+siteID+"/environments", map[string]any{"name": "Staging", "slug": "staging",
			"type": "staging", "source_environment_id": prodEnvID}, 202)
		stagingEnvID = res["environment_id"].(string)
		job := s.api.waitJob(res["job_id"].(string), 15*time.Minute)
		if job["status"] != "succeeded" {
			t.Fatalf("env_create:\n%s", describeJob(job))
		}
		t.Logf("FIGURE staging copy of a fresh site: %s", time.Since(start).Round(100*time.Millisecond))
		env := s.api.must("GET", "/api/environments/"+stagingEnvID, nil, 200)
		stagingURL := env["preview_url"].(string)
		code, body, hdr := fetch(t, c, stagingURL+"/")
		if code != 200 || !strings.Contains(body, "Acme Fresh Coffee &amp; Tea") {
			t.Fatalf("%s: %d %.300s", stagingURL, code, body)
		}
		if !strings.Contains(hdr.Get("X-Robots-Tag"), "noindex") {
			t.Errorf("staging X-Robots-Tag = %q", hdr.Get("X-Robots-Tag"))
		}
		if strings.Contains(body, prodHost) {
			t.Errorf("the staging page still links to production")
		}
		for _, name := range []string{"home", "siteurl"} {
			got := helper(t, web, stagingName, "option-get", "", "--name="+name)
			if got["value"] != stagingURL {
				t.Errorf("staging %s = %v, want %s", name, got["value"], stagingURL)
			}
		}
		got := helper(t, web, stagingName, "option-get", "", "--name=pl_e2e_serialized")
		v, _ := got["value"].(map[string]any)
		stagingHost := strings.TrimPrefix(stagingURL, "http://")
		if v["home"] != stagingURL+"/shop" || v["json"] != `{"u":"http:\/\/`+stagingHost+`\/x"}` || v["n"] != float64(7) {
			t.Errorf("serialized option after the copy: %v", got["value"])
		}
		// Production is untouched.
		if got := helper(t, web, "acme-production", "option-get", "", "--name=home"); got["value"] != prodURL {
			t.Errorf("production home = %v", got["value"])
		}
	})

	t.Run("one environment cannot read another", func(t *testing.T) {
		for _, path := range []string{"/srv/pressluft/acme-production/shared/wp-config.php", "/srv/pressluft/acme-production/current/index.php"} {
			if out, err := web.Exec(ctxFor(t, time.Minute), "runuser", "-u", stagingName, "--", "cat", path); err == nil {
				t.Errorf("staging user read %s: %.100s", path, out)
			}
		}
		grants := inNode(t, web, "mariadb", "-N", "-e", "SHOW GRANTS FOR 'acme_staging'@'localhost'")
		if strings.Contains(grants, "acme_production") || strings.Contains(grants, "*.*` TO") && strings.Contains(grants, "ALL PRIVILEGES ON *.*") {
			t.Errorf("staging database grants reach further than its own database:\n%s", grants)
		}
		pool := inNode(t, web, "sh", "-c", "grep -h -E '^(user|listen|php_admin_value\\[open_basedir\\])' /etc/php/8.2/fpm/pool.d/acme-staging.conf")
		if !strings.Contains(pool, "user = acme-staging") || !strings.Contains(pool, "/srv/pressluft/acme-staging") {
			t.Errorf("staging pool:\n%s", pool)
		}
		mode := strings.TrimSpace(inNode(t, web, "stat", "-c", "%a %U", "/srv/pressluft/acme-production/shared/wp-config.php"))
		if mode != "640 acme-production" {
			t.Errorf("wp-config.php is %s", mode)
		}
	})

	t.Run("deleting an environment removes exactly its own parts", func(t *testing.T) {
		start := time.Now()
		job := s.api.waitJobFast(s.api.must("DELETE", "/api/environments/"+stagingEnvID, nil, 202)["job_id"].(string), 10*time.Minute)
		if job["status"] != "succeeded" {
			t.Fatalf("env_delete:\n%s", describeJob(job))
		}
		t.Logf("FIGURE environment delete (staging), API call to job done: %s (goal ≤ 3 s)", time.Since(start).Round(10*time.Millisecond))
		s.api.must("GET", "/api/environments/"+stagingEnvID, nil, 404)
		for _, check := range [][]string{
			{"id", stagingName},
			{"test", "-e", "/srv/pressluft/acme-staging"},
			{"test", "-e", "/etc/php/8.2/fpm/pool.d/acme-staging.conf"},
			{"test", "-e", "/etc/nginx/sites-enabled/acme-staging.conf"},
			{"test", "-e", "/etc/cron.d/pressluft-acme-staging"},
		} {
			if _, err := web.Exec(ctxFor(t, time.Minute), check...); err == nil {
				t.Errorf("still there after delete: %v", check)
			}
		}
		if dbs := inNode(t, web, "mariadb", "-N", "-e", "SHOW DATABASES LIKE 'acme\\_%'"); strings.TrimSpace(dbs) != "acme_production" {
			t.Errorf("databases after delete: %q", dbs)
		}
		if users := inNode(t, web, "mariadb", "-N", "-e", "SELECT user FROM mysql.user WHERE user LIKE 'acme\\_%'"); strings.TrimSpace(users) != "acme_production" {
			t.Errorf("database users after delete: %q", users)
		}
		if code, _, _ := fetch(t, c, prodURL+"/"); code != 200 {
			t.Errorf("production after deleting staging: %d", code)
		}
	})

	t.Run("figure: staging copy of 1,000 posts and 50 MB of uploads", func(t *testing.T) {
		seed := `INSERT INTO acme_production.wp_posts (post_author, post_date, post_date_gmt, post_content, post_title, post_excerpt, post_status,
  post_name, to_ping, pinged, post_modified, post_modified_gmt, post_content_filtered, guid, post_type)
SELECT 1, NOW(), NOW(), CONCAT('<p>Body with a link to ` + prodURL + `/page-', seq, '/ and more text.</p>', REPEAT(' lorem ipsum', 100)),
  CONCAT('Post ', seq), '', 'publish', CONCAT('post-', seq), '', '', NOW(), NOW(), '', CONCAT('` + prodURL + `/?p=', seq), 'post'
FROM seq_1_to_1000;`
		inNode(t, web, "mariadb", "acme_production", "-e", seed)
		inNode(t, web, "sh", "-c", "mkdir -p /srv/pressluft/acme-production/shared/uploads/2026/11 && "+
			"for i in $(seq 1 50); do head -c 1048576 /dev/urandom > /srv/pressluft/acme-production/shared/uploads/2026/11/f$i.bin; done && "+
			"chown -R acme-production: /srv/pressluft/acme-production/shared/uploads")

		// The raw work, by hand on the node: dump into a scratch database and
		// copy the files a copy carries (the release's code and the uploads).
		inNode(t, web, "sh", "-c", "mariadb -e 'CREATE DATABASE raw_copy'")
		raw := time.Now()
		inNode(t, web, "sh", "-c", "mysqldump --single-transaction --quick acme_production | mariadb raw_copy && "+
			"cp -a /srv/pressluft/acme-production/current/. /tmp/raw-code/ && rsync -a /srv/pressluft/acme-production/shared/uploads/ /tmp/raw-uploads/")
		rawTook := time.Since(raw)
		inNode(t, web, "sh", "-c", "mariadb -e 'DROP DATABASE raw_copy' && rm -rf /tmp/raw-uploads /tmp/raw-code")

		start := time.Now()
		res := s.api.must("POST", "/api/sites/"+siteID+"/environments", map[string]any{"name": "Big copy", "slug": "bigcopy",
			"type": "clone", "source_environment_id": prodEnvID}, 202)
		job := s.api.waitJob(res["job_id"].(string), 15*time.Minute)
		if job["status"] != "succeeded" {
			t.Fatalf("env_create:\n%s", describeJob(job))
		}
		took := time.Since(start)
		t.Logf("FIGURE clone of 1,000 posts + 50 MB uploads: %s through the API (raw mysqldump | mysql + rsync on the node: %s; ratio %.2f; goal ≤ 10 s and ≤ 1.5×)",
			took.Round(100*time.Millisecond), rawTook.Round(100*time.Millisecond), float64(took)/float64(rawTook))
		t.Logf("where the clone's time went:\n%s", describeJob(job))
		counts := strings.Fields(inNode(t, web, "mariadb", "-N", "-e", `SELECT
			(SELECT COUNT(*) FROM acme_production.wp_posts WHERE post_content LIKE '%acme-production.%'),
			(SELECT COUNT(*) FROM acme_bigcopy.wp_posts WHERE post_content LIKE '%acme-bigcopy.%'),
			(SELECT COUNT(*) FROM acme_bigcopy.wp_posts WHERE post_content LIKE '%acme-production.%')`))
		if n, _ := strconv.Atoi(counts[0]); len(counts) != 3 || n < 1000 || counts[1] != counts[0] || counts[2] != "0" {
			t.Errorf("posts linking to production / to the clone in the clone / to production in the clone: %v", counts)
		}
		del := s.api.waitJob(s.api.must("DELETE", "/api/environments/"+res["environment_id"].(string), nil, 202)["job_id"].(string), 10*time.Minute)
		if del["status"] != "succeeded" {
			t.Fatalf("env_delete:\n%s", describeJob(del))
		}
	})

	t.Run("a site_create interrupted half way and re-run ends active", func(t *testing.T) {
		_, created := createSite(t, s, nodeID, "Beta", "beta", "Beta Site")
		jobID := created["job_id"].(string)
		waitFor(t, "the agent to be half way", 10*time.Minute, func() bool {
			return hasEvent(s.api.must("GET", "/api/jobs/"+jobID, nil, 200), "database")
		})
		s.cp.kill()
		s.cp.start()
		s.api = s.cp.login(t)
		job := s.api.waitJob(jobID, 15*time.Minute)
		if job["status"] != "succeeded" {
			t.Fatalf("re-run site_create:\n%s", describeJob(job))
		}
		rescued := false
		for _, e := range job["events"].([]any) {
			rescued = rescued || e.(map[string]any)["step"] == "rescued"
		}
		if !rescued || job["attempt"].(float64) < 2 {
			t.Fatalf("the job was not interrupted and re-run:\n%s", describeJob(job))
		}
		env := s.api.must("GET", "/api/environments/"+created["environment_id"].(string), nil, 200)
		if code, body, _ := fetch(t, c, env["preview_url"].(string)+"/"); code != 200 || !strings.Contains(body, "Beta Site") {
			t.Fatalf("beta after the re-run: %d", code)
		}

		// Deleting the site removes it from the node and from the API.
		site := created["site"].(map[string]any)["id"].(string)
		del := s.api.waitJob(s.api.must("DELETE", "/api/sites/"+site, nil, 202)["job_id"].(string), 10*time.Minute)
		if del["status"] != "succeeded" {
			t.Fatalf("site_delete:\n%s", describeJob(del))
		}
		s.api.must("GET", "/api/sites/"+site, nil, 404)
		if _, err := web.Exec(ctxFor(t, time.Minute), "id", "beta-production"); err == nil {
			t.Error("beta's user is still there")
		}
	})
}
