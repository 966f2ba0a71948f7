//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/pressluft/pressluft"
	"github.com/pressluft/pressluft/agent/protocol"
	"github.com/pressluft/pressluft/e2e/testnode"
)

// testPromoteAgent drives the node side of drift checks and promotions
// directly through the agent on the suite's provisioned node: env_state
// before and after changes, db_promote (killed and run again),
// release_build from an environment, with the figures beside the raw work.
func testPromoteAgent(t *testing.T, s *stack, web *testnode.Node, nodeID string) {
	site, created := createSite(t, s, nodeID, "Promote Agent", "pa", "Promote Agent")
	if job := s.api.waitJob(created["job_id"].(string), 10*time.Minute); job["status"] != "succeeded" {
		t.Fatalf("site create:\n%s", describeJob(job))
	}
	const prod, stg = "pa-production", "pa-staging"
	prodURL := created["environment"].(map[string]any)["preview_url"].(string)
	sql := func(db, q string) string {
		t.Helper()
		args := []string{"mariadb", "-N", "-B"}
		if db != "" {
			args = append(args, db)
		}
		return strings.TrimSpace(inNode(t, web, append(args, "-e", q)...))
	}
	sql("pa_production", `INSERT INTO wp_posts (post_author, post_date, post_date_gmt, post_content, post_title, post_excerpt, post_status,
		comment_status, ping_status, post_name, to_ping, pinged, post_modified, post_modified_gmt, post_content_filtered, guid, post_type)
		SELECT 1, NOW(), NOW(), CONCAT('<p>See <a href="`+prodURL+`/post-', seq, '/">this</a>.</p>', REPEAT(' lorem ipsum', 100)),
		CONCAT('Post ', seq), '', 'publish', 'open', 'open', CONCAT('post-', seq), '', '', NOW(), NOW(), '', CONCAT('`+prodURL+`/?p=', seq), 'post'
		FROM seq_1_to_1000`)
	res := s.api.must("POST", "/api/sites/"+site["id"].(string)+"/environments", map[string]any{"name": "Staging", "slug": "staging",
		"type": "staging", "source_environment_id": created["environment_id"]}, 202)
	if job := s.api.waitJob(res["job_id"].(string), 10*time.Minute); job["status"] != "succeeded" {
		t.Fatalf("staging create:\n%s", describeJob(job))
	}
	stgURL := s.api.must("GET", "/api/environments/"+res["environment_id"].(string), nil, 200)["preview_url"].(string)
	stgHost := strings.TrimPrefix(strings.TrimPrefix(stgURL, "http://"), "https://")
	agentBin := strings.TrimSpace(inNode(t, web, "sh", "-c", "ls "+protocol.AgentDir+"/*/pressluft-agent | head -n1"))
	version := strings.TrimSpace(inNode(t, web, agentBin, "version"))
	run := func(t *testing.T, req protocol.Request) (json.RawMessage, *protocol.Message) {
		t.Helper()
		req.Version = version
		b, _ := json.Marshal(req)
		writeOnNode(t, web, "/root/pa-req.json", string(b)+"\n")
		out, _ := web.Exec(ctxFor(t, 10*time.Minute), "sh", "-c", agentBin+" < /root/pa-req.json")
		return answer(t, out)
	}
	prodEnv := &protocol.Env{Name: prod, Type: "production", URL: prodURL, DBName: "pa_production", DBUser: "pa_production"}
	stgEnv := &protocol.Env{Name: stg, Type: "staging", URL: stgURL, DBName: "pa_staging", DBUser: "pa_staging"}
	state := func(t *testing.T, env *protocol.Env) (protocol.EnvStateResult, time.Duration) {
		t.Helper()
		start := time.Now()
		raw, fail := run(t, protocol.Request{Op: protocol.OpEnvState, Env: &protocol.Env{Name: env.Name, DBName: env.DBName, DBUser: env.DBUser}})
		took := time.Since(start)
		if fail != nil {
			t.Fatalf("env_state %s: %s %s", env.Name, fail.Code, fail.Message)
		}
		var st protocol.EnvStateResult
		if err := json.Unmarshal(raw, &st); err != nil {
			t.Fatal(err)
		}
		return st, took
	}
	protect := pressluft.ProtectedPatterns(pressluft.PresetContent, nil)
	c := previewClient(web.IP)

	t.Run("figure: env_state of a 1,000-post site", func(t *testing.T) {
		var took []time.Duration
		var first protocol.EnvStateResult
		for i := range 5 {
			st, d := state(t, prodEnv)
			took = append(took, d)
			if i == 0 {
				first = st
			}
		}
		if len(first.Tables) < 12 || first.Components["core"] == "" || len(first.Paths) == 0 || first.ContentHash == "" {
			t.Fatalf("state: %+v", first)
		}
		t.Logf("FIGURE env_state of a 1,000-post site (agent exec on the node, SSH not included), p50 of 5: %s (all: %s; goal of the whole drift check ≤ 3 s)",
			median(took).Round(time.Millisecond), roundAll(took))
		t.Logf("components: %v; paths: %v", first.Components, sortedKeys(first.Paths))
	})

	t.Run("production's posts, comments and page views are no change to wp_options", func(t *testing.T) {
		before, _ := state(t, prodEnv)
		sql("pa_production", `INSERT INTO wp_posts (post_author, post_date, post_date_gmt, post_content, post_title, post_excerpt, post_status,
			comment_status, ping_status, post_name, to_ping, pinged, post_modified, post_modified_gmt, post_content_filtered, post_type)
			VALUES (1, NOW(), NOW(), 'Written on production after the copy', 'Production only', '', 'publish', 'open', 'open',
			'production-only', '', '', NOW(), NOW(), '', 'post')`)
		sql("pa_production", `INSERT INTO wp_comments (comment_post_ID, comment_author, comment_author_email, comment_date, comment_date_gmt,
			comment_content, comment_approved, comment_type) SELECT ID, 'Visitor', 'v@example.com', NOW(), NOW(), 'Production comment', '1', 'comment'
			FROM wp_posts WHERE post_name = 'production-only'`)
		sql("pa_production", `UPDATE wp_posts SET comment_count = comment_count + 1 WHERE post_name = 'production-only'`)
		for _, path := range []string{"/", "/production-only/", "/post-5/", "/?s=lorem", "/wp-cron.php", "/feed/", "/wp-login.php"} {
			fetch(t, c, prodURL+path)
		}
		helper(t, web, prod, "cron", "")
		after, _ := state(t, prodEnv)
		var changed []string
		for name, sum := range after.Tables {
			if before.Tables[name] != sum {
				changed = append(changed, name)
			}
		}
		sort.Strings(changed)
		if strings.Join(changed, " ") != "wp_comments wp_posts" {
			t.Errorf("tables changed by a post, a comment and page views: %v, want wp_comments and wp_posts", changed)
		}
		if after.ContentHash != before.ContentHash {
			t.Errorf("wp-content changed by page views")
		}
	})

	t.Run("db_promote moves staging's tables, rewritten, and keeps production's protected ones", func(t *testing.T) {
		stgBefore, _ := state(t, stgEnv)
		sql("pa_staging", "UPDATE wp_options SET option_value = 'Promoted Title' WHERE option_name = 'blogname'")
		link := stgURL + "/promoted/"
		helper(t, web, stg, "option-set", fmt.Sprintf(`{"value": {"link": %q, "json": %q}}`, link, `{"u":"`+strings.ReplaceAll(link, "/", `\/`)+`"}`), "--name=pa_promoted")
		sql("pa_staging", "UPDATE wp_posts SET post_title = 'Changed on staging' WHERE post_name = 'post-1'")
		stgAfter, _ := state(t, stgEnv)
		var changed []string
		for name, sum := range stgAfter.Tables {
			if stgBefore.Tables[name] != sum {
				changed = append(changed, name)
			}
		}
		sort.Strings(changed)
		if strings.Join(changed, " ") != "wp_options wp_posts" {
			t.Errorf("staging's changed tables: %v", changed)
		}
		drift := pressluft.Drift(&pressluft.EnvState{Tables: stgBefore.Tables}, &pressluft.EnvState{Tables: stgAfter.Tables}, protect)
		if len(drift) != 1 || drift[0].Name != "wp_options" {
			t.Errorf("drift with content-protect: %+v, want wp_options only", drift)
		}

		blogPublic := sql("pa_production", "SELECT option_value FROM wp_options WHERE option_name = 'blog_public'")
		start := time.Now()
		raw, fail := run(t, protocol.Request{Op: protocol.OpDBPromote, Env: prodEnv, Source: stgEnv,
			Promote: &protocol.Promote{Protect: protect, RunID: "pa-run-1"}})
		took := time.Since(start)
		if fail != nil {
			t.Fatalf("db_promote: %s %s", fail.Code, fail.Message)
		}
		var facts protocol.PromoteResult
		json.Unmarshal(raw, &facts)
		if !contains(facts.Moved, "wp_options") || contains(facts.Moved, "wp_posts") || !contains(facts.Protected, "wp_posts") ||
			facts.SearchReplace == nil || facts.SearchReplace.Cells == 0 {
			t.Errorf("facts: %+v", facts)
		}
		checkPromoted(t, web, sql, prodURL, stgHost, blogPublic)
		t.Logf("db_promote took %s: moved %v, protected %v, %d cells rewritten", took.Round(time.Millisecond), facts.Moved, facts.Protected, facts.SearchReplace.Cells)

		// The same run again answers from its record.
		raw, fail = run(t, protocol.Request{Op: protocol.OpDBPromote, Env: prodEnv, Source: stgEnv,
			Promote: &protocol.Promote{Protect: protect, RunID: "pa-run-1"}})
		if fail != nil || !strings.Contains(string(raw), `"reused":true`) {
			t.Errorf("the same run again: %s %v", raw, fail)
		}
	})

	t.Run("a killed db_promote converges when run again", func(t *testing.T) {
		// Killed while staging (the temporary database exists, no state file
		// yet), when the state file says switching (just before the swap),
		// and once the old tables were moved aside (after the swap).
		wait := func(cond string) string {
			return `n=0; until ` + cond + ` || [ $n -ge 3000 ]; do sleep 0.002; n=$((n+1)); done`
		}
		for i, kill := range []string{
			wait(`[ -n "$(mariadb -N -e "SHOW DATABASES LIKE 'plpromote%'")" ]`),
			wait(`grep -q '"phase":"switching"' /srv/pressluft/` + prod + `/.pressluft-promote.json 2>/dev/null`),
			wait(`[ -n "$(mariadb -N -e "SHOW DATABASES LIKE 'plpold%'")" ]`),
		} {
			runID := fmt.Sprintf("pa-kill-%d", i)
			sql("pa_staging", fmt.Sprintf("UPDATE wp_options SET option_value = 'Killed %d' WHERE option_name = 'blogname'", i))
			req := protocol.Request{Op: protocol.OpDBPromote, Version: version, Env: prodEnv, Source: stgEnv,
				Promote: &protocol.Promote{Protect: protect, RunID: runID}}
			b, _ := json.Marshal(req)
			writeOnNode(t, web, "/root/pa-req.json", string(b)+"\n")
			out := inNode(t, web, "sh", "-c", agentBin+" < /root/pa-req.json > /root/pa-out.json 2>&1 & pid=$!; "+kill+"; kill -KILL $pid; wait $pid; echo killed $?; "+
				"cat /srv/pressluft/"+prod+"/.pressluft-promote.json 2>/dev/null; mariadb -N -e \"SHOW DATABASES LIKE 'pl%'\"")
			t.Logf("kill %d: %s", i, strings.TrimSpace(out))
			raw, fail := run(t, req)
			if fail != nil {
				t.Fatalf("db_promote after a kill: %s %s", fail.Code, fail.Message)
			}
			if strings.Contains(string(raw), `"reused":true`) {
				t.Logf("kill %d came after the commit", i)
			}
			if got := sql("pa_production", "SELECT option_value FROM wp_options WHERE option_name = 'blogname'"); got != fmt.Sprintf("Killed %d", i) {
				t.Errorf("blogname after the re-run: %q", got)
			}
			if left := sql("", "SHOW DATABASES LIKE 'pl%'"); left != "" {
				t.Errorf("databases left: %s", left)
			}
			checkPromoted(t, web, sql, prodURL, stgHost, "")
		}
	})

	t.Run("figure: db_promote beside the raw work", func(t *testing.T) {
		moved := strings.Fields(sql("", `SELECT table_name FROM information_schema.tables WHERE table_schema = 'pa_staging' AND table_type = 'BASE TABLE'`))
		var tables []string
		for _, tb := range moved {
			if !pressluft.TableProtected(protect, tb) {
				tables = append(tables, tb)
			}
		}
		var raws, runs []time.Duration
		for i := range 3 {
			inNode(t, web, "mariadb", "-e", "DROP DATABASE IF EXISTS rawpromote; CREATE DATABASE rawpromote; GRANT ALL ON rawpromote.* TO 'pa_production'@'localhost'")
			start := time.Now()
			inNode(t, web, "sh", "-c", "mysqldump --single-transaction --quick pa_staging "+strings.Join(tables, " ")+" | mariadb rawpromote")
			helper(t, web, prod, "search-replace-many", `{"pairs":[{"from":"//`+stgHost+`","to":"//`+strings.TrimPrefix(prodURL, "http://")+`"}]}`, "--database=rawpromote")
			raws = append(raws, time.Since(start))
			inNode(t, web, "mariadb", "-e", "REVOKE ALL ON rawpromote.* FROM 'pa_production'@'localhost'; DROP DATABASE rawpromote")

			start = time.Now()
			if _, fail := run(t, protocol.Request{Op: protocol.OpDBPromote, Env: prodEnv, Source: stgEnv,
				Promote: &protocol.Promote{Protect: protect, RunID: fmt.Sprintf("pa-figure-%d", i)}}); fail != nil {
				t.Fatalf("db_promote: %s %s", fail.Code, fail.Message)
			}
			runs = append(runs, time.Since(start))
		}
		_, events := runEvents(t, web, agentBin, protocol.Request{Op: protocol.OpDBPromote, Version: version, Env: prodEnv, Source: stgEnv,
			Promote: &protocol.Promote{Protect: protect, RunID: "pa-figure-events"}})
		t.Logf("where db_promote's time went:\n%s", events)
		t.Logf("FIGURE db_promote of a 1,000-post staging (%d tables moved), p50 of 3: %s (all %s); raw mysqldump | mariadb + search-replace of the same tables: %s (all %s); ratio %.2f",
			len(tables), median(runs).Round(time.Millisecond), roundAll(runs), median(raws).Round(time.Millisecond), roundAll(raws),
			float64(median(runs))/float64(median(raws)))
	})

	t.Run("release_build from an environment", func(t *testing.T) {
		theme := sql("pa_staging", "SELECT option_value FROM wp_options WHERE option_name = 'stylesheet'")
		inNode(t, web, "sh", "-c", "echo '/* pa promoted */' >> /srv/pressluft/"+stg+"/current/wp-content/themes/"+theme+"/style.css && "+
			"mkdir -p /srv/pressluft/"+stg+"/current/wp-content/cache/page && echo x > /srv/pressluft/"+stg+"/current/wp-content/cache/page/i.html")
		start := time.Now()
		raw, fail := run(t, protocol.Request{Op: protocol.OpReleaseBuild, Env: &protocol.Env{Name: prod, ReleaseID: "pa-env-1"},
			Deploy: &protocol.Deploy{Type: "environment", Environment: stg}})
		if fail != nil {
			t.Fatalf("release_build: %s %s", fail.Code, fail.Message)
		}
		t.Logf("release_build from %s: %s in %s", stg, raw, time.Since(start).Round(time.Millisecond))
		rel := "/srv/pressluft/" + prod + "/releases/pa-env-1"
		out := inNode(t, web, "sh", "-c", "grep -c 'pa promoted' "+rel+"/wp-content/themes/"+theme+"/style.css; readlink "+rel+"/wp-content/uploads; "+
			"test -e "+rel+"/wp-content/cache && echo cache-copied; stat -c %U "+rel+"/wp-content/themes/"+theme+"/style.css; "+
			"find "+rel+" ! -user "+prod+" | head -3; test -f "+rel+"/wp-config.php && echo config")
		if fields := strings.Fields(out); len(fields) != 4 || fields[0] != "1" || fields[1] != "../../../shared/uploads" || fields[2] != prod || fields[3] != "config" {
			t.Errorf("the new release: %q", out)
		}
		if _, fail := run(t, protocol.Request{Op: protocol.OpReleaseSwitch, Env: &protocol.Env{Name: prod, ReleaseID: "pa-env-1", URL: prodURL}}); fail != nil {
			t.Fatalf("release_switch: %s %s", fail.Code, fail.Message)
		}
		title := sql("pa_production", "SELECT option_value FROM wp_options WHERE option_name = 'blogname'")
		if code, body, _ := fetch(t, c, prodURL+"/"); code != 200 || !strings.Contains(body, title) {
			t.Errorf("production after the switch: %d, the promoted title %q shown: %t", code, title, strings.Contains(body, title))
		}
	})
}

// checkPromoted checks production after a promotion: staging's option came
// with production's URL, no staging URL is left anywhere, production's own
// post and comment are there and staging's post edit is not.
func checkPromoted(t *testing.T, web *testnode.Node, sql func(db, q string) string, prodURL, stgHost, blogPublic string) {
	t.Helper()
	// mariadb -B prints a backslash as \\: the JSON form http:\/\/ reads http:\\/\\/.
	opt := sql("pa_production", "SELECT option_value FROM wp_options WHERE option_name = 'pa_promoted'")
	if !strings.Contains(opt, prodURL+"/promoted/") || strings.Contains(opt, stgHost) || !strings.Contains(opt, strings.ReplaceAll(prodURL, "/", `\\/`)) {
		t.Errorf("pa_promoted on production: %s", opt)
	}
	if n := strings.TrimSpace(inNode(t, web, "sh", "-c", "mysqldump --skip-extended-insert pa_production | grep -c '"+stgHost+"' || true")); n != "0" {
		t.Errorf("%s lines of production's dump name staging's host %s", n, stgHost)
	}
	if home := sql("pa_production", "SELECT option_value FROM wp_options WHERE option_name = 'home'"); home != prodURL {
		t.Errorf("production's home is %q", home)
	}
	if blogPublic != "" {
		if got := sql("pa_production", "SELECT option_value FROM wp_options WHERE option_name = 'blog_public'"); got != blogPublic {
			t.Errorf("production's blog_public is %q, was %q", got, blogPublic)
		}
	}
	if got := sql("pa_production", "SELECT COUNT(*) FROM wp_posts WHERE post_name = 'production-only'") + " " +
		sql("pa_production", "SELECT COUNT(*) FROM wp_comments WHERE comment_content = 'Production comment'") + " " +
		sql("pa_production", "SELECT COUNT(*) FROM wp_posts WHERE post_title = 'Changed on staging'"); got != "1 1 0" {
		t.Errorf("production's own post, comment, staging's edit: %s, want 1 1 0", got)
	}
}

// answer reads the agent's output: its result, or its error.
func answer(t *testing.T, out string) (json.RawMessage, *protocol.Message) {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		var m protocol.Message
		if json.Unmarshal([]byte(line), &m) != nil {
			continue
		}
		switch m.Type {
		case protocol.TypeResult:
			return m.Result, nil
		case protocol.TypeError:
			return nil, &m
		}
	}
	t.Fatalf("the agent answered nothing:\n%s", out)
	return nil, nil
}

func sortedKeys(m map[string]string) []string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// runEvents runs one request and returns the agent's raw output and its
// events, one per line with the time since the start.
func runEvents(t *testing.T, web *testnode.Node, agentBin string, req protocol.Request) (string, string) {
	t.Helper()
	b, _ := json.Marshal(req)
	writeOnNode(t, web, "/root/pa-req.json", string(b)+"\n")
	out, _ := web.Exec(ctxFor(t, 10*time.Minute), "sh", "-c", agentBin+" < /root/pa-req.json")
	var lines []string
	for _, line := range strings.Split(out, "\n") {
		var m protocol.Message
		if json.Unmarshal([]byte(line), &m) == nil && m.Type == protocol.TypeEvent {
			lines = append(lines, m.Step+": "+m.Message)
		}
	}
	return out, strings.Join(lines, "\n")
}
