//go:build e2e

package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pressluft/pressluft/e2e/testnode"
)

// testPromotion: a production site with 1,000 posts, a staging copy changed
// the way people change staging (an option, a plugin, a theme file), and
// production written to after the copy (a post and a comment). The drift
// check is clean because only protected tables changed; the promotion
// brings staging's changes and keeps production's content; drift and a
// missing backup stop the next one; a staging that fatals is rolled back.
func testPromotion(t *testing.T, s *stack, web *testnode.Node, nodeID string) {
	const title = "Promote Bakery"
	site, created := createSite(t, s, nodeID, "Promote", "prm", title)
	if job := s.api.waitJob(created["job_id"].(string), 10*time.Minute); job["status"] != "succeeded" {
		t.Fatalf("site create:\n%s", describeJob(job))
	}
	siteID, prodID := site["id"].(string), created["environment_id"].(string)
	prodURL := created["environment"].(map[string]any)["preview_url"].(string)
	const prod, stg = "prm-production", "prm-staging"
	sql := func(db, q string) string {
		t.Helper()
		return strings.TrimSpace(inNode(t, web, "mariadb", "-N", "-B", db, "-e", q))
	}
	sql("prm_production", `INSERT INTO wp_posts (post_author, post_date, post_date_gmt, post_content, post_title, post_excerpt, post_status,
		comment_status, ping_status, post_name, to_ping, pinged, post_modified, post_modified_gmt, post_content_filtered, post_type)
		SELECT 1, NOW(), NOW(), CONCAT('Body ', seq, ' ', REPEAT('lorem ipsum ', 40)), CONCAT('Post ', seq), '', 'publish', 'open', 'open',
		CONCAT('post-', seq), '', '', NOW(), NOW(), '', 'post' FROM seq_1_to_1000`)

	res := s.api.must("POST", "/api/sites/"+siteID+"/environments", map[string]any{"name": "Staging", "slug": "staging",
		"type": "staging", "source_environment_id": prodID}, 202)
	stgID := res["environment_id"].(string)
	if job := s.api.waitJob(res["job_id"].(string), 10*time.Minute); job["status"] != "succeeded" || !hasEvent(job, "baseline") {
		t.Fatalf("staging create:\n%s", describeJob(job))
	}
	stgURL := s.api.must("GET", "/api/environments/"+stgID, nil, 200)["preview_url"].(string)
	c := previewClient(web.IP)

	driftCheck := func(t *testing.T) (map[string]any, time.Duration) {
		t.Helper()
		start := time.Now()
		acc := s.api.must("POST", "/api/environments/"+stgID+"/drift-check", nil, 202)
		job := s.api.waitJobFast(acc["job_id"].(string), 5*time.Minute)
		took := time.Since(start)
		if job["status"] != "succeeded" {
			t.Fatalf("drift check:\n%s", describeJob(job))
		}
		checks := s.api.must("GET", "/api/environments/"+stgID+"/drift-checks", nil, 200)["items"].([]any)
		return checks[0].(map[string]any), took
	}
	promote := func(t *testing.T, backupFirst bool) map[string]any {
		t.Helper()
		acc := s.api.must("POST", "/api/environments/"+stgID+"/promote", map[string]any{"target_environment_id": prodID, "backup_first": backupFirst}, 202)
		return s.api.waitJob(acc["job_id"].(string), 15*time.Minute)
	}
	refused := func(t *testing.T, from string, body map[string]any, status int, code string) {
		t.Helper()
		if got, b, _ := s.api.call("POST", "/api/environments/"+from+"/promote", body); got != status || b["code"] != code {
			t.Fatalf("promote %v from %s = %d %v, want %d %s", body, from, got, b, status, code)
		}
	}

	t.Run("staging's changes are promoted and production's content is kept", func(t *testing.T) {
		// Staging: a new site name, an active plugin, an edited theme file.
		sql("prm_staging", "UPDATE wp_options SET option_value = 'Promoted Bakery' WHERE option_name = 'blogname'")
		plugin := "e2e-promoted/e2e-promoted.php"
		writeNodeFile(t, web, stg, "/srv/pressluft/"+stg+"/current/wp-content/plugins/"+plugin,
			"<?php\n/*\nPlugin Name: E2E Promoted\nVersion: 1.0\n*/\nadd_action('wp_head', function () { echo '<meta name=\"e2e-promoted\" content=\"yes\">'; });\n")
		sql("prm_staging", fmt.Sprintf(`UPDATE wp_options SET option_value = 'a:1:{i:0;s:%d:"%s";}' WHERE option_name = 'active_plugins'`, len(plugin), plugin))
		theme := strings.TrimSpace(sql("prm_staging", "SELECT option_value FROM wp_options WHERE option_name = 'stylesheet'"))
		style := "/srv/pressluft/" + stg + "/current/wp-content/themes/" + theme + "/style.css"
		inNode(t, web, "sh", "-c", "echo '/* promoted from staging */' >> "+style)

		// Production, after the copy: a post and a comment, and visitors.
		sql("prm_production", `INSERT INTO wp_posts (post_author, post_date, post_date_gmt, post_content, post_title, post_excerpt, post_status,
			comment_status, ping_status, post_name, to_ping, pinged, post_modified, post_modified_gmt, post_content_filtered, post_type)
			VALUES (1, NOW(), NOW(), 'Written on production after the copy', 'Fresh production post', '', 'publish', 'open', 'open', 'fresh-post', '', '', NOW(), NOW(), '', 'post')`)
		sql("prm_production", `INSERT INTO wp_comments (comment_post_ID, comment_author, comment_author_email, comment_author_url, comment_author_IP,
			comment_date, comment_date_gmt, comment_content, comment_approved, comment_agent, comment_type)
			VALUES (1, 'Visitor', 'v@example.com', '', '127.0.0.1', NOW(), NOW(), 'A comment on production', '1', '', 'comment')`)
		for i := 0; i < 3; i++ {
			fetch(t, c, prodURL+"/")
		}

		d, took := driftCheck(t)
		if d["result"] != "clean" {
			t.Fatalf("drift after content-only changes on production: %v", d)
		}
		t.Logf("FIGURE drift check of a 1,000-post site, API call to the result: %s (goal ≤ 3 s)", took.Round(10*time.Millisecond))

		// Gates and bad targets.
		refused(t, stgID, map[string]any{"target_environment_id": prodID}, 409, "backup_not_fresh")
		refused(t, prodID, map[string]any{"target_environment_id": stgID, "backup_first": true}, 422, "promotion_invalid")
		refused(t, stgID, map[string]any{"target_environment_id": stgID, "backup_first": true}, 422, "promotion_invalid")
		for _, other := range s.api.must("GET", "/api/sites", nil, 200)["items"].([]any) {
			if o := other.(map[string]any); o["id"] != siteID && o["production_environment_id"] != nil && o["production_environment_id"] != "" {
				refused(t, stgID, map[string]any{"target_environment_id": o["production_environment_id"], "backup_first": true}, 422, "promotion_invalid")
				break
			}
		}
		if code, b, _ := s.api.call("PUT", "/api/environments/"+stgID+"/promotion", map[string]any{"promotion_preset": "custom",
			"protected_tables": []string{"wp_no_such_table"}}); code != 400 || b["code"] != "validation_failed" {
			t.Fatalf("a custom preset naming a missing table = %d %v", code, b)
		}

		backup := s.api.must("POST", "/api/environments/"+prodID+"/backups", map[string]any{"scope": "full"}, 202)
		if job := s.api.waitJob(backup["job_id"].(string), 10*time.Minute); job["status"] != "succeeded" {
			t.Fatalf("backup:\n%s", describeJob(job))
		}
		if g := s.api.must("GET", "/api/environments/"+stgID+"/promotion", nil, 200); g["drift"].(map[string]any)["ok"] != true || g["backup"].(map[string]any)["ok"] != true {
			t.Fatalf("gates before the promotion: %v", g)
		}
		raw := rawPromotion(t, web)
		start := time.Now()
		job := promote(t, false)
		took = time.Since(start)
		if job["status"] != "succeeded" {
			t.Fatalf("promotion:\n%s", describeJob(job))
		}
		t.Logf("FIGURE promotion of a 1,000-post staging site, API call to production serving the change: %s; raw on the node (dump/import of the moved tables + copy of a release + switch + PHP-FPM reload): %s; ratio %.2f (goal ≤ 15 s and ≤ 2×)\n%s",
			took.Round(10*time.Millisecond), raw.Round(10*time.Millisecond), took.Seconds()/raw.Seconds(), describeJob(job))

		code, body, _ := fetch(t, c, prodURL+"/")
		if code != 200 || !strings.Contains(body, "Promoted Bakery") || !strings.Contains(body, `name="e2e-promoted"`) {
			t.Fatalf("production after the promotion: %d\n%.500s", code, body)
		}
		inNode(t, web, "grep", "-q", "promoted from staging", "/srv/pressluft/"+prod+"/current/wp-content/themes/"+theme+"/style.css")
		if n := sql("prm_production", "SELECT COUNT(*) FROM wp_posts WHERE post_name = 'fresh-post'"); n != "1" {
			t.Fatalf("production's post written after the copy: %s rows", n)
		}
		if n := sql("prm_production", "SELECT COUNT(*) FROM wp_comments WHERE comment_content = 'A comment on production'"); n != "1" {
			t.Fatalf("production's comment written after the copy: %s rows", n)
		}
		stgHost := strings.TrimPrefix(stgURL, "http://")
		if n := strings.TrimSpace(inNode(t, web, "sh", "-c", "mysqldump --skip-extended-insert prm_production | grep -c -F '"+stgHost+"' || true")); n != "0" {
			t.Fatalf("%s lines of production's database still name staging's host %s", n, stgHost)
		}
		if e := s.api.must("GET", "/api/environments/"+prodID, nil, 200); e["status"] != "active" {
			t.Fatalf("production after the promotion: %v", e)
		}
	})

	t.Run("drift on production stops the next promotion", func(t *testing.T) {
		extra := "/srv/pressluft/" + prod + "/current/wp-content/plugins/e2e-promoted/hotfix.php"
		writeNodeFile(t, web, prod, extra, "<?php // a fix made on production\n")
		d, _ := driftCheck(t)
		if d["result"] != "drifted" || !strings.Contains(fmt.Sprint(d["changes"]), "plugins/e2e-promoted") {
			t.Fatalf("drift after a plugin change on production: %v", d)
		}
		refused(t, stgID, map[string]any{"target_environment_id": prodID, "backup_first": true}, 409, "drift_not_clean")
		inNode(t, web, "rm", extra)
		if d, _ := driftCheck(t); d["result"] != "clean" {
			t.Fatalf("drift after the change was undone: %v", d)
		}
	})

	t.Run("a staging that fatals is rolled back on production", func(t *testing.T) {
		before := s.api.must("GET", "/api/environments/"+prodID, nil, 200)["current_release_id"]
		sql("prm_staging", "UPDATE wp_options SET option_value = 'Broken Bakery' WHERE option_name = 'blogname'")
		writeNodeFile(t, web, stg, "/srv/pressluft/"+stg+"/current/wp-content/mu-plugins/e2e-fatal.php", "<?php e2e_undefined_function();\n")
		job := promote(t, true)
		if job["status"] != "failed" || job["error_code"] != "health_check_failed" || job["rolled_back"] != true {
			t.Fatalf("promotion of a fatal staging:\n%s", describeJob(job))
		}
		code, body, _ := fetch(t, c, prodURL+"/")
		if code != 200 || !strings.Contains(body, "Promoted Bakery") || strings.Contains(body, "Fatal error") {
			t.Fatalf("production after the rolled back promotion: %d\n%.500s", code, body)
		}
		if e := s.api.must("GET", "/api/environments/"+prodID, nil, 200); e["status"] != "active" || e["current_release_id"] != before {
			t.Fatalf("production after the rollback: %v", e)
		}
		inNode(t, web, "rm", "/srv/pressluft/"+stg+"/current/wp-content/mu-plugins/e2e-fatal.php")
	})
}

// writeNodeFile writes a file on the node, in a directory made if needed,
// both owned by the environment's user, as an upload over SFTP would.
func writeNodeFile(t *testing.T, n *testnode.Node, owner, path, content string) {
	t.Helper()
	cmd, err := n.Command(ctxFor(t, time.Minute), "sh", "-c", `d=$(dirname "$2"); mkdir -p "$d" && chown "$1:" "$d" && cat > "$2" && chown "$1:" "$2"`,
		"sh", owner, path)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdin = strings.NewReader(content)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("write %s: %v %s", path, err, out)
	}
}

// rawPromotion does by hand on the node what a promotion does, into scratch
// places: dump the unprotected tables of staging and load them into another
// database, copy a release (core and wp-content), swap a symlink and reload
// PHP-FPM. It leaves out the URL rewrite, so the ratio errs on the high side.
func rawPromotion(t *testing.T, n *testnode.Node) time.Duration {
	t.Helper()
	tables := strings.Fields(inNode(t, n, "mariadb", "-N", "-B", "-e", `SELECT table_name FROM information_schema.tables WHERE table_schema = 'prm_staging'
		AND table_name NOT IN ('wp_posts','wp_postmeta','wp_terms','wp_term_taxonomy','wp_term_relationships','wp_termmeta','wp_comments','wp_commentmeta','wp_users','wp_usermeta')`))
	script := `set -e
mariadb -e 'DROP DATABASE IF EXISTS e2e_raw; CREATE DATABASE e2e_raw'
rm -rf /tmp/e2e-raw && mkdir /tmp/e2e-raw
start=$(date +%s%N)
mysqldump --single-transaction prm_staging ` + strings.Join(tables, " ") + ` | mariadb e2e_raw
cp -a /srv/pressluft/prm-staging/current/. /tmp/e2e-raw/release
ln -sfn /tmp/e2e-raw/release /tmp/e2e-raw/current.tmp && mv -T /tmp/e2e-raw/current.tmp /tmp/e2e-raw/current
systemctl reload "php$(ls /etc/php | sort -V | tail -1)-fpm"
end=$(date +%s%N)
mariadb -e 'DROP DATABASE e2e_raw'; rm -rf /tmp/e2e-raw
echo $(( (end - start) / 1000000 ))`
	ms := strings.TrimSpace(inNode(t, n, "sh", "-c", script))
	var v int64
	fmt.Sscan(ms, &v)
	return time.Duration(v) * time.Millisecond
}
