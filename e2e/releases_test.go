//go:build e2e

package e2e

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pressluft/pressluft/e2e/testnode"
)

// fileServer serves files from memory on the host side of a node's network.
type fileServer struct {
	base  string
	files map[string][]byte
}

func startFileServer(t *testing.T, hostIP string) *fileServer {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(hostIP, "0"))
	if err != nil {
		t.Fatal(err)
	}
	fs := &fileServer{base: "http://" + ln.Addr().String(), files: map[string][]byte{}}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, ok := fs.files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write(b)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return fs
}

func (fs *fileServer) put(name string, b []byte) string {
	fs.files["/"+name] = b
	return fs.base + "/" + name
}

// tarGz packs files (path → content) into a .tar.gz.
func tarGz(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for name, body := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg, ModTime: time.Now()}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(body))
	}
	tw.Close()
	gz.Close()
	return buf.Bytes()
}

// pluginZip is a WordPress plugin package: <slug>/<slug>.php.
func pluginZip(t *testing.T, slug, version string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create(slug + "/" + slug + ".php")
	fmt.Fprintf(w, "<?php\n/*\nPlugin Name: %s\nVersion: %s\n*/\n", slug, version)
	zw.Close()
	return buf.Bytes()
}

// themeZip is a WordPress theme package: <slug>/style.css and index.php.
func themeZip(t *testing.T, slug, version string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, body := range themeFiles(slug, version) {
		w, _ := zw.Create(strings.TrimPrefix(name, "wp-content/themes/"))
		w.Write([]byte(body))
	}
	zw.Close()
	return buf.Bytes()
}

// themeFiles are the files of a minimal theme under wp-content/themes/.
func themeFiles(slug, version string) map[string]string {
	dir := "wp-content/themes/" + slug + "/"
	return map[string]string{
		dir + "style.css": fmt.Sprintf("/*\nTheme Name: %s\nVersion: %s\n*/\n", slug, version),
		dir + "index.php": "<?php\n// A theme without a template of its own: WordPress falls back to this file.\n",
	}
}

func pluginFile(slug, version string) string {
	return fmt.Sprintf("<?php\n/*\nPlugin Name: %s\nVersion: %s\n*/\n", slug, version)
}

// gitRepo makes a repository holding files and serves it with git daemon
// on the host side of the node's network; it returns the clone URL.
func gitRepo(t *testing.T, hostIP string, files map[string]string) (url, commit string) {
	t.Helper()
	dir := t.TempDir()
	work := filepath.Join(dir, "work")
	git := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = work
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=e2e", "GIT_AUTHOR_EMAIL=e2e@example.com", "GIT_COMMITTER_NAME=e2e", "GIT_COMMITTER_EMAIL=e2e@example.com")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	if err := os.MkdirAll(work, 0o755); err != nil {
		t.Fatal(err)
	}
	git("init", "-q", "-b", "main")
	for name, body := range files {
		p := filepath.Join(work, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	git("add", "-A")
	git("commit", "-q", "-m", "site")
	commit = git("rev-parse", "HEAD")
	git("clone", "-q", "--bare", work, filepath.Join(dir, "site.git"))
	ln, err := net.Listen("tcp", net.JoinHostPort(hostIP, "0"))
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	daemon := exec.Command("git", "daemon", "--reuseaddr", "--export-all", "--base-path="+dir, "--listen="+hostIP, fmt.Sprintf("--port=%d", port), dir)
	if err := daemon.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { daemon.Process.Kill(); daemon.Wait() })
	waitFor(t, "git daemon", 10*time.Second, func() bool {
		c, err := net.Dial("tcp", net.JoinHostPort(hostIP, fmt.Sprint(port)))
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return fmt.Sprintf("git://%s:%d/site.git", hostIP, port), commit
}

func testReleases(t *testing.T, s *stack, web *testnode.Node, nodeID string) {
	const title = "Release Bakery"
	_, created := createSite(t, s, nodeID, "Releases", "rls", title)
	if job := s.api.waitJob(created["job_id"].(string), 10*time.Minute); job["status"] != "succeeded" {
		t.Fatalf("site create:\n%s", describeJob(job))
	}
	envID, env := created["environment_id"].(string), "rls-production"
	prodURL := created["environment"].(map[string]any)["preview_url"].(string)
	c := previewClient(web.IP)
	files := startFileServer(t, web.HostIP)
	s.api.must("PUT", "/api/settings", map[string]any{"allow_private_sources": true, "releases_keep": 3}, 200)
	defer s.api.must("PUT", "/api/settings", map[string]any{"allow_private_sources": false, "releases_keep": 5}, 200)

	act := func(t *testing.T, action string, body any) map[string]any {
		t.Helper()
		acc := s.api.must("POST", "/api/environments/"+envID+"/"+action, body, 202)
		return s.api.waitJob(acc["job_id"].(string), 10*time.Minute)
	}
	serves := func(t *testing.T) {
		t.Helper()
		if code, body, _ := fetch(t, c, prodURL); code != 200 || !strings.Contains(body, title) || strings.Contains(body, "Fatal error") {
			t.Fatalf("the site answers %d:\n%.300s", code, body)
		}
	}
	releases := func() []any {
		return s.api.must("GET", "/api/environments/"+envID+"/releases", nil, 200)["items"].([]any)
	}
	theme := inNode(t, web, "sh", "-c", "ls /srv/pressluft/"+env+"/current/wp-content/themes | head -1")
	// Every deploy carries the theme the site uses, as a real repository would.
	site := func(extra map[string]string) map[string]string {
		out := map[string]string{"wp-content/plugins/e2e-updatable/e2e-updatable.php": pluginFile("e2e-updatable", "1.0")}
		for _, f := range strings.Fields(inNode(t, web, "sh", "-c", "cd /srv/pressluft/"+env+"/current/wp-content/themes && find "+strings.TrimSpace(theme)+" -type f")) {
			out["wp-content/themes/"+f] = inNode(t, web, "cat", "/srv/pressluft/"+env+"/current/wp-content/themes/"+f)
		}
		for k, v := range extra {
			out[k] = v
		}
		return out
	}

	t.Run("deploy from an archive and from git", func(t *testing.T) {
		job := act(t, "deploy", map[string]any{"source_type": "archive", "archive_url": files.put("site.tar.gz", tarGz(t, site(nil)))})
		if job["status"] != "succeeded" {
			t.Fatalf("archive deploy:\n%s", describeJob(job))
		}
		serves(t)
		inNode(t, web, "test", "-f", "/srv/pressluft/"+env+"/current/wp-content/plugins/e2e-updatable/e2e-updatable.php")
		if r := releases(); len(r) != 2 || r[0].(map[string]any)["current"] != true || r[0].(map[string]any)["source"] != "archive" ||
			r[0].(map[string]any)["snapshot_id"] == "" {
			t.Fatalf("releases after an archive deploy: %v", r)
		}
		repo, commit := gitRepo(t, web.HostIP, site(map[string]string{"wp-content/plugins/e2e-git/e2e-git.php": pluginFile("e2e-git", "0.1")}))
		job = act(t, "deploy", map[string]any{"source_type": "git", "repository": repo, "source_ref": "main"})
		if job["status"] != "succeeded" {
			t.Fatalf("git deploy:\n%s", describeJob(job))
		}
		serves(t)
		if r := releases()[0].(map[string]any); r["source"] != "git" || r["ref"] != commit {
			t.Fatalf("git release: %v, want ref %s", r, commit)
		}
		inNode(t, web, "test", "-f", "/srv/pressluft/"+env+"/current/wp-content/plugins/e2e-git/e2e-git.php")

		before := releases()[0].(map[string]any)["id"]
		job = act(t, "deploy", map[string]any{"source_type": "git", "repository": repo, "source_ref": "no-such-branch"})
		if job["status"] != "failed" || job["error_code"] != "git_ref_not_found" {
			t.Fatalf("deploy of a missing ref:\n%s", describeJob(job))
		}
		bad := files.put("evil.tar.gz", tarGz(t, map[string]string{"wp-content/../../../../etc/evil": "x"}))
		if job = act(t, "deploy", map[string]any{"source_type": "archive", "archive_url": bad}); job["status"] != "failed" || job["error_code"] != "unsafe_archive" {
			t.Fatalf("deploy of a traversal archive:\n%s", describeJob(job))
		}
		inNode(t, web, "sh", "-c", "! test -e /etc/evil")
		if e := s.api.must("GET", "/api/environments/"+envID, nil, 200); e["status"] != "active" || e["current_release_id"] != before {
			t.Fatalf("after refused deploys: %v", e)
		}
		serves(t)
	})

	t.Run("deploy from an uploaded archive", func(t *testing.T) { testUploadDeploys(t, s, web, envID, env, site, serves) })

	t.Run("a plugin that fatals is rolled back with the database", func(t *testing.T) {
		before := releases()[0].(map[string]any)["id"]
		fatal := `<?php
global $wpdb;
$wpdb->query("CREATE TABLE IF NOT EXISTS {$wpdb->prefix}bad_plugin (id INT)");
update_option('bad_plugin_was_here', 'yes');
bad_plugin_undefined_function();
`
		start := time.Now()
		job := act(t, "deploy", map[string]any{"source_type": "archive",
			"archive_url": files.put("fatal.tar.gz", tarGz(t, site(map[string]string{"wp-content/mu-plugins/bad.php": fatal})))})
		if job["status"] != "failed" || job["error_code"] != "health_check_failed" || !strings.Contains(fmt.Sprint(job["error_message"]), "Rolled back") {
			t.Fatalf("fatal deploy:\n%s", describeJob(job))
		}
		serves(t)
		db := "rls_production"
		if out := inNode(t, web, "mariadb", "-N", "-e", "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema='"+db+"' AND table_name='wp_bad_plugin'; SELECT COUNT(*) FROM "+db+".wp_options WHERE option_name='bad_plugin_was_here'"); strings.Fields(out)[0] != "0" || strings.Fields(out)[1] != "0" {
			t.Fatalf("the bad plugin's table and option after the rollback: %q", out)
		}
		if e := s.api.must("GET", "/api/environments/"+envID, nil, 200); e["status"] != "active" || e["current_release_id"] != before {
			t.Fatalf("after the rollback: %v", e)
		}
		for _, ev := range job["events"].([]any) {
			if m := ev.(map[string]any)["message"].(string); strings.HasPrefix(m, "Rolled back in ") {
				t.Logf("FIGURE automatic rollback of files + database after a failed health check: %s (the whole failed deploy took %s; goal ≤ 5 s)",
					strings.SplitN(strings.TrimPrefix(m, "Rolled back in "), ":", 2)[0], time.Since(start).Round(100*time.Millisecond))
			}
		}
	})

	t.Run("a plugin update from a local zip", func(t *testing.T) {
		start := time.Now()
		job := act(t, "updates", map[string]any{"scope": "plugins", "items": []string{"e2e-updatable"},
			"package_url": files.put("e2e-updatable.2.0.zip", pluginZip(t, "e2e-updatable", "2.0"))})
		if job["status"] != "succeeded" {
			t.Fatalf("update:\n%s", describeJob(job))
		}
		t.Logf("FIGURE plugin update from a local zip, API call to the new release serving: %s (goal ≤ 6 s)", time.Since(start).Round(100*time.Millisecond))
		serves(t)
		var version string
		for _, it := range s.api.must("GET", "/api/environments/"+envID+"/updates", nil, 200)["items"].([]any) {
			if m := it.(map[string]any); m["slug"] == "e2e-updatable" {
				version = m["version"].(string)
			}
		}
		if version != "2.0" {
			t.Fatalf("e2e-updatable is %q after the update", version)
		}
	})

	t.Run("manual rollback with and without the database; pruning keeps exactly N", func(t *testing.T) {
		rels := releases()
		if len(rels) != 3 {
			t.Fatalf("releases_keep 3 kept %d releases: %v", len(rels), rels)
		}
		if n := strings.Fields(inNode(t, web, "sh", "-c", "ls /srv/pressluft/"+env+"/releases | wc -l"))[0]; n != "3" {
			t.Fatalf("%s release directories on the node, want 3", n)
		}
		previous := rels[1].(map[string]any)
		inNode(t, web, "mariadb", "rls_production", "-e", "UPDATE wp_options SET option_value='after the update' WHERE option_name='blogdescription'")
		if job := act(t, "rollback", map[string]any{"release_id": previous["id"], "restore_database": false}); job["status"] != "succeeded" {
			t.Fatalf("rollback without the database:\n%s", describeJob(job))
		}
		serves(t)
		if out := inNode(t, web, "mariadb", "-N", "rls_production", "-e", "SELECT option_value FROM wp_options WHERE option_name='blogdescription'"); strings.TrimSpace(out) != "after the update" {
			t.Fatalf("a rollback without the database changed it: %q", out)
		}
		if code, m, _ := s.api.call("POST", "/api/environments/"+envID+"/rollback", map[string]any{"release_id": rels[2].(map[string]any)["id"]}); code != 400 {
			t.Fatalf("rollback without restore_database: %d %v", code, m)
		}
		// The oldest kept release, with the database as it was when the
		// next one replaced it.
		if job := act(t, "rollback", map[string]any{"release_id": rels[2].(map[string]any)["id"], "restore_database": true}); job["status"] != "succeeded" {
			t.Fatalf("rollback with the database:\n%s", describeJob(job))
		}
		serves(t)
		if out := inNode(t, web, "mariadb", "-N", "rls_production", "-e", "SELECT option_value FROM wp_options WHERE option_name='blogdescription'"); strings.TrimSpace(out) == "after the update" {
			t.Fatalf("a rollback with the database kept content written after the release was replaced")
		}
	})

	t.Run("figure: deploy of a 20 MB wp-content archive beside the raw work", func(t *testing.T) {
		extra := map[string]string{}
		for i := 0; i < 20; i++ {
			extra[fmt.Sprintf("wp-content/plugins/e2e-big/assets/f%02d.bin", i)] = randHex(512 * 1024) // 1 MB of hex text each
		}
		archive := tarGz(t, site(extra))
		url := files.put("big.tar.gz", archive)
		inNode(t, web, "curl", "-sf", "-o", "/root/big.tar.gz", url)
		raw := time.Now()
		inNode(t, web, "sh", "-c", "mkdir -p /root/raw-rel && tar -C /root/raw-rel -xzf /root/big.tar.gz && cp -a /srv/pressluft/"+env+"/current/. /root/raw-copy/ && "+
			"cp -a /root/raw-rel/wp-content/. /root/raw-copy/wp-content/ && ln -sfn /root/raw-copy /root/raw-current.tmp && mv -T /root/raw-current.tmp /root/raw-current")
		rawTook := time.Since(raw)
		inNode(t, web, "rm", "-rf", "/root/raw-rel", "/root/raw-copy", "/root/raw-current", "/root/big.tar.gz")
		start := time.Now()
		acc := s.api.must("POST", "/api/environments/"+envID+"/deploy", map[string]any{"source_type": "archive", "archive_url": url}, 202)
		job := s.api.waitJobFast(acc["job_id"].(string), 10*time.Minute)
		took := time.Since(start)
		if job["status"] != "succeeded" {
			t.Fatalf("deploy:\n%s", describeJob(job))
		}
		t.Logf("FIGURE deploy of a %.0f MB wp-content archive, API call to the new release serving: %s; raw download + extract + copy + switch on the node %s: %.2f× (goal ≤ 5 s and ≤ 2×)",
			float64(len(archive))/1e6, took.Round(100*time.Millisecond), rawTook.Round(100*time.Millisecond), float64(took)/float64(rawTook))
		t.Logf("where the deploy's time went:\n%s", describeJob(job))
	})

	version := func(t *testing.T, slug string) string {
		t.Helper()
		for _, it := range s.api.must("GET", "/api/environments/"+envID+"/updates", nil, 200)["items"].([]any) {
			if m := it.(map[string]any); m["slug"] == slug {
				return m["version"].(string)
			}
		}
		return ""
	}
	// Nothing of a temporary copy is left on the node: its name starts
	// with the site's slug and "-vf-".
	noTrialLeft := func(t *testing.T) {
		t.Helper()
		out := inNode(t, web, "sh", "-c", "ls -d /srv/pressluft/rls-vf-* /etc/nginx/sites-enabled/rls-vf-* /etc/php/*/fpm/pool.d/rls-vf-* "+
			"/etc/cron.d/pressluft-rls-vf-* /run/php/pl-rls-vf-* 2>/dev/null; getent passwd | grep '^rls-vf-'; "+
			`mariadb -N -e "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE 'rls\\_vf\\_%'; `+
			`SELECT User FROM mysql.global_priv WHERE User LIKE 'rls\\_vf\\_%'"; true`)
		if strings.TrimSpace(out) != "" {
			t.Fatalf("left of the temporary copy on the node:\n%s", out)
		}
	}
	stepsOf := func(job map[string]any) map[string]int {
		n := map[string]int{}
		for _, ev := range job["events"].([]any) {
			n[ev.(map[string]any)["step"].(string)]++
		}
		return n
	}
	s.api.must("PUT", "/api/environments/"+envID+"/health-paths", map[string]any{"paths": []string{"/wp-login.php"}}, 200)
	defer s.api.must("PUT", "/api/environments/"+envID+"/health-paths", map[string]any{"paths": []string{}}, 200)

	t.Run("a theme update from a local zip, tried on a temporary copy first", func(t *testing.T) {
		extra := themeFiles("e2e-theme", "1.0")
		if job := act(t, "deploy", map[string]any{"source_type": "archive", "archive_url": files.put("theme.tar.gz", tarGz(t, site(extra)))}); job["status"] != "succeeded" {
			t.Fatalf("deploy of the theme:\n%s", describeJob(job))
		}
		if v := version(t, "e2e-theme"); v != "1.0" {
			t.Fatalf("e2e-theme is %q after the deploy", v)
		}
		start := time.Now()
		job := act(t, "updates", map[string]any{"scope": "themes", "items": []string{"e2e-theme"}, "verify_on_clone": true,
			"package_url": files.put("e2e-theme.2.0.zip", themeZip(t, "e2e-theme", "2.0"))})
		took := time.Since(start)
		if job["status"] != "succeeded" || job["result"].(map[string]any)["verified_on_clone"] != true {
			t.Fatalf("update:\n%s", describeJob(job))
		}
		steps := stepsOf(job)
		for _, step := range []string{"verify_copy", "verify_update", "verify_check", "verify_cleanup", "snapshot", "build"} {
			if steps[step] == 0 {
				t.Fatalf("no %s event:\n%s", step, describeJob(job))
			}
		}
		t.Logf("FIGURE theme update from a local zip tried on a temporary copy first, API call to the new release serving: %s", took.Round(100*time.Millisecond))
		t.Logf("where the verified update's time went:\n%s", describeJob(job))
		serves(t)
		if v := version(t, "e2e-theme"); v != "2.0" {
			t.Fatalf("e2e-theme is %q after the update", v)
		}
		noTrialLeft(t)
	})

	t.Run("an update whose temporary copy fails never touches the live site", func(t *testing.T) {
		// The plugin runs on every page once active; its next version fatals on load.
		inNode(t, web, "mariadb", "rls_production", "-e",
			`UPDATE wp_options SET option_value='a:1:{i:0;s:31:"e2e-updatable/e2e-updatable.php";}' WHERE option_name='active_plugins'`)
		serves(t)
		was := version(t, "e2e-updatable")
		before := s.api.must("GET", "/api/environments/"+envID, nil, 200)["current_release_id"]
		kept := len(releases())
		var zbuf bytes.Buffer
		zw := zip.NewWriter(&zbuf)
		w, _ := zw.Create("e2e-updatable/e2e-updatable.php")
		fmt.Fprint(w, pluginFile("e2e-updatable", "3.0")+"e2e_updatable_undefined_function();\n")
		zw.Close()
		start := time.Now()
		job := act(t, "updates", map[string]any{"scope": "plugins", "items": []string{"e2e-updatable"}, "verify_on_clone": true,
			"package_url": files.put("e2e-updatable.3.0.zip", zbuf.Bytes())})
		took := time.Since(start)
		if job["status"] != "failed" || (job["error_code"] != "health_check_failed" && job["error_code"] != "update_failed") ||
			!strings.HasSuffix(fmt.Sprint(job["error_message"]), "The live environment was not changed.") {
			t.Fatalf("update of a plugin that fatals:\n%s", describeJob(job))
		}
		t.Logf("FIGURE refused update tried on a temporary copy, API call to the job's end: %s", took.Round(100*time.Millisecond))
		t.Logf("the refused update:\n%s", describeJob(job))
		if steps := stepsOf(job); steps["snapshot"] != 0 || steps["build"] != 0 || steps["verify_cleanup"] == 0 {
			t.Fatalf("the live environment was touched, or the copy not removed:\n%s", describeJob(job))
		}
		if e := s.api.must("GET", "/api/environments/"+envID, nil, 200); e["status"] != "active" || e["current_release_id"] != before {
			t.Fatalf("after the refused update: %v", e)
		}
		if n := len(releases()); n != kept {
			t.Fatalf("%d releases after the refused update, want %d", n, kept)
		}
		serves(t)
		if v := version(t, "e2e-updatable"); v != was {
			t.Fatalf("e2e-updatable is %q after the refused update, want %q", v, was)
		}
		noTrialLeft(t)
	})
}
