//go:build e2e

package e2e

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/pressluft/pressluft/e2e/testnode"
)

// fakeS3 is an S3-compatible server on the host side of a node's network,
// started by the suite. It refuses requests signed with another access
// key, as a real target refuses wrong credentials.
type fakeS3 struct {
	addr      string
	accessKey string
	srv       *http.Server
}

func startFakeS3(t *testing.T, hostIP, bucket string) *fakeS3 {
	t.Helper()
	backend := s3mem.New()
	if err := backend.CreateBucket(bucket); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(hostIP, "0"))
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeS3{addr: ln.Addr().String(), accessKey: "PLE2EACCESSKEY"}
	s3 := gofakes3.New(backend).Server()
	f.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.Contains(r.Header.Get("Authorization"), "Credential="+f.accessKey+"/") && r.URL.Query().Get("X-Amz-Credential") == "" {
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>InvalidAccessKeyId</Code><Message>The AWS Access Key Id you provided does not exist in our records.</Message></Error>`)
			return
		}
		s3.ServeHTTP(w, r)
	})}
	go f.srv.Serve(ln)
	t.Cleanup(func() { f.srv.Close() })
	return f
}

// envState is what a restore must bring back: a checksum per table and a
// hash per file of wp-content (uploads included, through its link).
func envState(t *testing.T, n *testnode.Node, env string) map[string]string {
	t.Helper()
	db := strings.ReplaceAll(env, "-", "_")
	state := map[string]string{}
	tables := strings.Fields(inNode(t, n, "mariadb", "-N", "-e",
		"SELECT table_name FROM information_schema.tables WHERE table_schema = '"+db+"' ORDER BY table_name"))
	if len(tables) < 10 {
		t.Fatalf("%s has %d tables", db, len(tables))
	}
	var qualified []string
	for _, tb := range tables {
		qualified = append(qualified, db+"."+tb)
	}
	for _, line := range strings.Split(strings.TrimSpace(inNode(t, n, "mariadb", "-N", "-e", "CHECKSUM TABLE "+strings.Join(qualified, ", ")+" EXTENDED")), "\n") {
		if f := strings.Fields(line); len(f) == 2 {
			state["table "+f[0]] = f[1]
		}
	}
	files := inNode(t, n, "sh", "-c", "cd /srv/pressluft/"+env+"/current/wp-content && find -L . -type f -print0 | sort -z | xargs -0 -r sha256sum")
	for _, line := range strings.Split(strings.TrimSpace(files), "\n") {
		if sum, name, ok := strings.Cut(line, "  "); ok {
			state["file "+name] = sum
		}
	}
	return state
}

func diffState(a, b map[string]string) []string {
	var d []string
	for k, v := range a {
		if b[k] != v {
			d = append(d, k)
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			d = append(d, k)
		}
	}
	sort.Strings(d)
	return d
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func randInt(n int64) int64 {
	v, _ := rand.Int(rand.Reader, big.NewInt(n))
	return v.Int64()
}

// writeOnNode writes content to path on the node as root.
func writeOnNode(t *testing.T, n *testnode.Node, path, content string) {
	t.Helper()
	cmd, err := n.Command(ctxFor(t, time.Minute), "sh", "-c", `mkdir -p "$(dirname "$1")" && cat > "$1"`, "sh", path)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdin = strings.NewReader(content)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("write %s: %v %s", path, err, out)
	}
}

// changeContent changes posts, an option, a plugin file and uploads of env,
// with random content.
func changeContent(t *testing.T, n *testnode.Node, env string) {
	t.Helper()
	db := strings.ReplaceAll(env, "-", "_")
	var sql strings.Builder
	for i := int64(0); i < 5+randInt(20); i++ {
		fmt.Fprintf(&sql, "INSERT INTO wp_posts (post_author, post_date, post_date_gmt, post_content, post_title, post_excerpt, to_ping, pinged, post_content_filtered, post_modified, post_modified_gmt, post_status, post_type) VALUES (1, NOW(), NOW(), '%s', 'Post %s', '', '', '', '', NOW(), NOW(), 'publish', 'post');\n",
			randHex(200), randHex(4))
	}
	fmt.Fprintf(&sql, "UPDATE wp_options SET option_value = 'tagline %s' WHERE option_name = 'blogdescription';\n", randHex(6))
	fmt.Fprintf(&sql, "UPDATE wp_posts SET post_content = '%s' WHERE ID = 1;\n", randHex(50))
	cmd, err := n.Command(ctxFor(t, time.Minute), "mariadb", db)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdin = strings.NewReader(sql.String())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("change posts: %v %s", err, out)
	}
	root := "/srv/pressluft/" + env
	writeOnNode(t, n, root+"/current/wp-content/plugins/e2e-notes/e2e-notes.php", "<?php\n/* Plugin Name: E2E notes */\n// "+randHex(32)+"\n")
	writeOnNode(t, n, root+"/shared/uploads/2026/11/upload-"+randHex(4)+".bin", randHex(int(1000+randInt(50000))))
}

// downloadPart fetches a part through the API, in two ranges when it is
// large enough, so resuming is exercised.
func downloadPart(t *testing.T, a *api, id, part string, size int64) []byte {
	t.Helper()
	get := func(rng string) *http.Response {
		req, _ := http.NewRequest("GET", a.base+"/api/backups/"+id+"/download?part="+part, nil)
		if rng != "" {
			req.Header.Set("Range", rng)
		}
		res, err := a.hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	if size < 2 {
		res := get("")
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return b
	}
	half := size / 2
	res := get(fmt.Sprintf("bytes=0-%d", half-1))
	first, _ := io.ReadAll(res.Body)
	res.Body.Close()
	res2 := get(fmt.Sprintf("bytes=%d-", half))
	rest, _ := io.ReadAll(res2.Body)
	res2.Body.Close()
	if res.StatusCode != 206 || res2.StatusCode != 206 {
		t.Fatalf("range downloads of %s: %d %d", part, res.StatusCode, res2.StatusCode)
	}
	return append(first, rest...)
}

func testBackups(t *testing.T, s *stack, web *testnode.Node, nodeID string) {
	const title = "Backup Roastery"
	site, created := createSite(t, s, nodeID, "Backups", "bkp", title)
	if job := s.api.waitJob(created["job_id"].(string), 10*time.Minute); job["status"] != "succeeded" {
		t.Fatalf("site create:\n%s", describeJob(job))
	}
	_ = site
	envID, env := created["environment_id"].(string), "bkp-production"
	prodURL := created["environment"].(map[string]any)["preview_url"].(string)
	c := previewClient(web.IP)

	backup := func(t *testing.T, scope string) (map[string]any, map[string]any) {
		t.Helper()
		acc := s.api.must("POST", "/api/environments/"+envID+"/backups", map[string]any{"scope": scope}, 202)
		job := s.api.waitJob(acc["job_id"].(string), 10*time.Minute)
		return s.api.must("GET", "/api/backups/"+acc["backup_id"].(string), nil, 200), job
	}
	restore := func(t *testing.T, backupID string) map[string]any {
		t.Helper()
		acc := s.api.must("POST", "/api/environments/"+envID+"/restore", map[string]any{"backup_id": backupID}, 202)
		return s.api.waitJob(acc["job_id"].(string), 15*time.Minute)
	}

	var lastBackup map[string]any
	if !t.Run("three rounds of backup, change and restore bring back every table and file", func(t *testing.T) {
		for round := 1; round <= 3; round++ {
			changeContent(t, web, env)
			want := envState(t, web, env)
			b, job := backup(t, "full")
			if job["status"] != "succeeded" || b["status"] != "completed" || b["location"] != "node" {
				t.Fatalf("round %d backup:\n%s\n%v", round, describeJob(job), b)
			}
			lastBackup = b
			changeContent(t, web, env)
			if d := diffState(want, envState(t, web, env)); len(d) == 0 {
				t.Fatal("the change changed nothing")
			}
			if job := restore(t, b["id"].(string)); job["status"] != "succeeded" {
				t.Fatalf("round %d restore:\n%s", round, describeJob(job))
			}
			if d := diffState(want, envState(t, web, env)); len(d) > 0 {
				t.Fatalf("round %d: after the restore these differ from the backup: %v", round, d)
			}
			if code, body, _ := fetch(t, c, prodURL); code != 200 || !strings.Contains(body, title) {
				t.Fatalf("round %d: the restored site answers %d", round, code)
			}
		}
	}) {
		return
	}

	t.Run("a download matches the manifest", func(t *testing.T) {
		id := lastBackup["id"].(string)
		manifest := downloadPart(t, s.api, id, "manifest.json", -1)
		if sum := sha256.Sum256(manifest); hex.EncodeToString(sum[:]) != lastBackup["sha256"] {
			t.Fatalf("manifest.json hashes to %x, the backup says %v", sum, lastBackup["sha256"])
		}
		for _, p := range lastBackup["manifest"].(map[string]any)["parts"].([]any) {
			part := p.(map[string]any)
			body := downloadPart(t, s.api, id, part["name"].(string), int64(part["size"].(float64)))
			if sum := sha256.Sum256(body); hex.EncodeToString(sum[:]) != part["sha256"] || int64(len(body)) != int64(part["size"].(float64)) {
				t.Fatalf("%s: %d bytes hashing to %x, manifest says %v", part["name"], len(body), sum, part)
			}
		}
	})

	t.Run("a corrupted archive is refused and the site is untouched", func(t *testing.T) {
		b, _ := backup(t, "db")
		before := envState(t, web, env)
		path := "/srv/pressluft/" + env + "/backups/" + b["id"].(string) + "/db.sql.zst"
		inNode(t, web, "python3", "-c", "import sys\nf=open(sys.argv[1],'r+b'); f.seek(int(sys.argv[2])); c=f.read(1); f.seek(int(sys.argv[2])); f.write(bytes([c[0]^1]))", path, "40")
		job := restore(t, b["id"].(string))
		if job["status"] != "failed" || job["error_code"] != "checksum_mismatch" {
			t.Fatalf("restore of a corrupted backup:\n%s", describeJob(job))
		}
		if d := diffState(before, envState(t, web, env)); len(d) > 0 {
			t.Fatalf("a refused restore changed %v", d)
		}
		if e := s.api.must("GET", "/api/environments/"+envID, nil, 200); e["status"] != "active" {
			t.Fatalf("environment after a refused restore: %v", e["status"])
		}
	})

	t.Run("offsite: wrong key keeps the node copy; upload, lose the node copy, restore from offsite", func(t *testing.T) {
		s3 := startFakeS3(t, web.HostIP, "pl-backups")
		secret := "e2e-" + randHex(12)
		remember("offsite secret key", secret)
		s.api.must("PUT", "/api/settings/offsite", map[string]any{"endpoint": s3.addr, "bucket": "pl-backups", "prefix": "agency",
			"access_key": "WRONGKEY", "secret_key": secret}, 200)
		if code, m, _ := s.api.call("POST", "/api/settings/offsite/test", nil); code != 502 || m["code"] != "offsite_auth_failed" {
			t.Fatalf("test with a wrong key: %d %v", code, m)
		}
		b, job := backup(t, "full")
		if job["status"] != "failed" || job["error_code"] != "offsite_auth_failed" || b["status"] != "completed" ||
			b["location"] != "node" || b["offsite_error"] != "offsite_auth_failed" {
			t.Fatalf("backup with a wrong key:\n%s\n%v", describeJob(job), b)
		}
		s.api.must("PUT", "/api/settings/offsite", map[string]any{"endpoint": s3.addr, "bucket": "pl-backups", "prefix": "agency",
			"access_key": s3.accessKey}, 200)
		s.api.must("POST", "/api/settings/offsite/test", nil, 200)
		up := s.api.must("POST", "/api/backups/"+b["id"].(string)+"/upload", nil, 202)
		if job := s.api.waitJob(up["job_id"].(string), 10*time.Minute); job["status"] != "succeeded" {
			t.Fatalf("upload:\n%s", describeJob(job))
		}
		b = s.api.must("GET", "/api/backups/"+b["id"].(string), nil, 200)
		if b["location"] != "both" || !strings.HasPrefix(b["offsite_key"].(string), "agency/bkp/bkp-production/") {
			t.Fatalf("after the upload: %v", b)
		}
		want := envState(t, web, env)
		changeContent(t, web, env)
		inNode(t, web, "rm", "-rf", "/srv/pressluft/"+env+"/backups/"+b["id"].(string))
		if job := restore(t, b["id"].(string)); job["status"] != "succeeded" {
			t.Fatalf("restore from offsite:\n%s", describeJob(job))
		}
		if d := diffState(want, envState(t, web, env)); len(d) > 0 {
			t.Fatalf("after the restore from offsite these differ: %v", d)
		}
		s.api.must("DELETE", "/api/settings/offsite", nil, 204)
	})

	t.Run("figure: backup, offsite upload and restore of a large site beside the raw work", func(t *testing.T) {
		figureBackup(t, s, web, envID, env)
	})

	t.Run("scheduled backups come on time and retention removes exactly the expired ones", func(t *testing.T) {
		sch := s.api.must("PUT", "/api/environments/"+envID+"/backup-schedule", map[string]any{"frequency": "hourly", "minute": 0,
			"scope": "db", "keep_last": 2}, 200)
		first, _ := time.Parse(time.RFC3339, sch["next_run_at"].(string))
		base := append([]string(nil), s.cp.args...)
		defer func() { s.cp.stop(); s.cp.args = base; s.cp.start() }()
		var scheduled []string
		for i := 0; i < 3; i++ {
			// Move the clock to a minute past the i-th run.
			at := first.Add(time.Duration(i)*time.Hour + time.Minute)
			s.cp.stop()
			s.cp.args = append(append([]string(nil), base...), "--clock-offset", time.Until(at).Round(time.Second).String())
			s.cp.start()
			var b map[string]any
			waitFor(t, fmt.Sprintf("scheduled backup %d", i+1), 5*time.Minute, func() bool {
				for _, item := range s.api.must("GET", "/api/environments/"+envID+"/backups", nil, 200)["items"].([]any) {
					m := item.(map[string]any)
					if m["trigger"] == "schedule" && m["status"] == "completed" && !contains(scheduled, m["id"].(string)) {
						b = m
						return true
					}
				}
				return false
			})
			created, _ := time.Parse(time.RFC3339, b["created_at"].(string))
			if d := created.Sub(first.Add(time.Duration(i) * time.Hour)); d < 0 || d > 3*time.Minute {
				t.Fatalf("scheduled backup %d created %s after its time", i+1, d)
			}
			scheduled = append(scheduled, b["id"].(string))
		}
		// keep_last 2: the oldest scheduled backup goes, on the node too;
		// every other backup stays.
		waitFor(t, "the oldest scheduled backup removed", 3*time.Minute, func() bool {
			code, _, _ := s.api.call("GET", "/api/backups/"+scheduled[0], nil)
			return code == 404
		})
		for _, id := range scheduled[1:] {
			s.api.must("GET", "/api/backups/"+id, nil, 200)
		}
		s.api.must("GET", "/api/backups/"+lastBackup["id"].(string), nil, 200)
		if out := inNode(t, web, "ls", "/srv/pressluft/"+env+"/backups/"); strings.Contains(out, scheduled[0]) || !strings.Contains(out, scheduled[2]) {
			t.Fatalf("backups on the node: %s", out)
		}
		s.api.must("DELETE", "/api/environments/"+envID+"/backup-schedule", nil, 204)
	})
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// figureBackup grows the site to PRESSLUFT_BACKUP_FIGURE_MB (half database,
// half uploads; default 200) and times a backup, its upload and a restore
// through the API beside the same work done by hand on the node.
func figureBackup(t *testing.T, s *stack, web *testnode.Node, envID, env string) {
	mb := 200
	if v, err := strconv.Atoi(os.Getenv("PRESSLUFT_BACKUP_FIGURE_MB")); err == nil && v > 0 {
		mb = v
	}
	db := strings.ReplaceAll(env, "-", "_")
	// Posts of ~100 KB of distinct text each, and uploads of random bytes
	// (photos do not compress either).
	posts := mb / 2 * 10
	inNode(t, web, "mariadb", db, "-e", fmt.Sprintf(`INSERT INTO wp_posts (post_author, post_date, post_date_gmt, post_content, post_title,
  post_excerpt, post_status, post_name, to_ping, pinged, post_modified, post_modified_gmt, post_content_filtered, guid, post_type)
SELECT 1, NOW(), NOW(), (SELECT GROUP_CONCAT(CONCAT(MD5(RAND()), ' lorem ipsum ', s.seq) SEPARATOR ' ') FROM seq_1_to_2200 s WHERE s.seq > p.seq * 0),
  CONCAT('Big post ', p.seq), '', 'publish', CONCAT('big-', p.seq), '', '', NOW(), NOW(), '', '', 'post' FROM seq_1_to_%d p`, posts))
	inNode(t, web, "sh", "-c", fmt.Sprintf("mkdir -p /srv/pressluft/%[1]s/shared/uploads/big && for i in $(seq 1 %[2]d); do "+
		"head -c 1048576 /dev/urandom > /srv/pressluft/%[1]s/shared/uploads/big/f$i.jpg; done && chown -R %[1]s: /srv/pressluft/%[1]s/shared/uploads", env, mb/2))
	size := strings.TrimSpace(inNode(t, web, "sh", "-c", "du -sm /var/lib/mysql/"+db+" /srv/pressluft/"+env+"/shared/uploads | awk '{s+=$1} END {print s}'"))

	timed := func(f func()) time.Duration { start := time.Now(); f(); return time.Since(start) }
	raw := timed(func() {
		inNode(t, web, "sh", "-c", "mysqldump --single-transaction --quick --hex-blob "+db+" | zstd -q > /root/raw.sql.zst && "+
			"tar -C /srv/pressluft/"+env+" -chf - current/wp-content shared/uploads | zstd -q > /root/raw.tar.zst")
	})
	var b map[string]any
	took := timed(func() {
		acc := s.api.must("POST", "/api/environments/"+envID+"/backups", map[string]any{"scope": "full"}, 202)
		if job := s.api.waitJobFast(acc["job_id"].(string), 30*time.Minute); job["status"] != "succeeded" {
			t.Fatalf("backup:\n%s", describeJob(job))
		}
		b = s.api.must("GET", "/api/backups/"+acc["backup_id"].(string), nil, 200)
	})
	t.Logf("FIGURE full backup of a %s MB site: %s through the API, raw mysqldump | zstd + tar | zstd on the node %s: %.0f%% of the raw throughput (goal ≥ 80%%)",
		size, took.Round(100*time.Millisecond), raw.Round(100*time.Millisecond), 100*float64(raw)/float64(took))

	s3 := startFakeS3(t, web.HostIP, "pl-figure")
	rawUp := timed(func() {
		inNode(t, web, "curl", "-sf", "-T", "/root/raw.tar.zst", "-H", "Authorization: AWS4-HMAC-SHA256 Credential="+s3.accessKey+"/x",
			"http://"+s3.addr+"/pl-figure/raw.tar.zst")
	})
	rawFile := strings.TrimSpace(inNode(t, web, "stat", "-c", "%s", "/root/raw.tar.zst"))
	s.api.must("PUT", "/api/settings/offsite", map[string]any{"endpoint": s3.addr, "bucket": "pl-figure", "access_key": s3.accessKey,
		"secret_key": "figure-" + randHex(8)}, 200)
	upTook := timed(func() {
		up := s.api.must("POST", "/api/backups/"+b["id"].(string)+"/upload", nil, 202)
		if job := s.api.waitJobFast(up["job_id"].(string), 30*time.Minute); job["status"] != "succeeded" {
			t.Fatalf("upload:\n%s", describeJob(job))
		}
	})
	rawBytes, _ := strconv.ParseFloat(rawFile, 64)
	t.Logf("FIGURE offsite upload of a %.0f MB backup: %s (%.0f MB/s); raw curl upload of the %s-byte files archive to the same server %s (%.0f MB/s): %.0f%% (goal ≥ 80%%)",
		float64(int64(b["size_bytes"].(float64)))/1e6, upTook.Round(100*time.Millisecond), b["size_bytes"].(float64)/1e6/upTook.Seconds(),
		rawFile, rawUp.Round(100*time.Millisecond), rawBytes/1e6/rawUp.Seconds(),
		100*(b["size_bytes"].(float64)/upTook.Seconds())/(rawBytes/rawUp.Seconds()))
	s.api.must("DELETE", "/api/settings/offsite", nil, 204)

	inNode(t, web, "sh", "-c", "mariadb -e 'CREATE DATABASE raw_restore' && mkdir -p /root/raw-files")
	rawRestore := timed(func() {
		inNode(t, web, "sh", "-c", "zstd -dcq /root/raw.sql.zst | mariadb raw_restore && zstd -dcq /root/raw.tar.zst | tar -C /root/raw-files -xf -")
	})
	inNode(t, web, "sh", "-c", "mariadb -e 'DROP DATABASE raw_restore' && rm -rf /root/raw-files /root/raw.sql.zst /root/raw.tar.zst")
	var job map[string]any
	restoreTook := timed(func() {
		acc := s.api.must("POST", "/api/environments/"+envID+"/restore", map[string]any{"backup_id": b["id"]}, 202)
		if job = s.api.waitJobFast(acc["job_id"].(string), 30*time.Minute); job["status"] != "succeeded" {
			t.Fatalf("restore:\n%s", describeJob(job))
		}
	})
	t.Logf("FIGURE restore of the %s MB site: %s through the API, which first takes a full backup of the target (%s), raw import + extract %s: %.2f× raw for the whole job (goal ≤ 1.5× for the restore itself)",
		size, restoreTook.Round(100*time.Millisecond), took.Round(100*time.Millisecond), rawRestore.Round(100*time.Millisecond), float64(restoreTook)/float64(rawRestore))
	t.Logf("where the restore's time went:\n%s", describeJob(job))
	// Shrink the site again for what follows.
	inNode(t, web, "sh", "-c", "mariadb "+db+" -e \"DELETE FROM wp_posts WHERE post_name LIKE 'big-%'\" && rm -rf /srv/pressluft/"+env+"/shared/uploads/big")
}
