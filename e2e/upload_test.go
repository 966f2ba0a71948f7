//go:build e2e

package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pressluft/pressluft/e2e/testnode"
)

// upload posts body as the deploy's request body, as a CI pipeline does.
func (a *api) upload(path, contentType string, body io.Reader, size int64) (int, map[string]any) {
	a.t.Helper()
	req, err := http.NewRequest("POST", a.base+path, body)
	if err != nil {
		a.t.Fatal(err)
	}
	req.ContentLength = size
	req.Header.Set("Content-Type", contentType)
	// The refusal of an oversized upload comes before its body is sent.
	req.Header.Set("Expect", "100-continue")
	hc := &http.Client{Jar: a.hc.Jar, Timeout: 5 * time.Minute, Transport: &http.Transport{ExpectContinueTimeout: 5 * time.Second}}
	res, err := hc.Do(req)
	if err != nil {
		a.t.Fatalf("upload to %s: %v", path, err)
	}
	defer res.Body.Close()
	var m map[string]any
	raw, _ := io.ReadAll(res.Body)
	if err := json.Unmarshal(raw, &m); err != nil {
		a.t.Fatalf("upload to %s: not JSON: %s", path, raw)
	}
	return res.StatusCode, m
}

// testUploadDeploys deploys archives uploaded through the API: the site
// serves what the upload carried, nothing of the upload stays on the node,
// and an upload over the limit is refused with nothing switched.
func testUploadDeploys(t *testing.T, s *stack, web *testnode.Node, envID, env string, site func(map[string]string) map[string]string, serves func(*testing.T)) {
	deploy := "/api/environments/" + envID + "/deploy"
	e := s.api.must("GET", "/api/environments/"+envID, nil, 200)
	prodURL := e["preview_url"].(string)
	c := previewClient(web.IP)
	uploadsLeft := func(t *testing.T) {
		t.Helper()
		if out := inNode(t, web, "sh", "-c", "ls /srv/pressluft/"+env+"/tmp/ | grep '^upload-'; true"); strings.TrimSpace(out) != "" {
			t.Fatalf("uploads left on the node:\n%s", out)
		}
	}
	const marker = "e2e-upload-marker-7f3a"
	mu := map[string]string{"wp-content/mu-plugins/e2e-upload.php": "<?php\nadd_action('wp_footer', function () { echo '<!-- " + marker + " -->'; });\n"}

	t.Run("a tar.gz uploaded as the request body", func(t *testing.T) {
		archive := tarGz(t, site(mu))
		code, acc := s.api.upload(deploy, "application/gzip", bytes.NewReader(archive), int64(len(archive)))
		if code != 202 {
			t.Fatalf("upload: %d %v", code, acc)
		}
		sum := sha256.Sum256(archive)
		if up := acc["upload"].(map[string]any); up["sha256"] != hex.EncodeToString(sum[:]) || up["size"] != float64(len(archive)) {
			t.Fatalf("upload answered %v", up)
		}
		if job := s.api.waitJob(acc["job_id"].(string), 10*time.Minute); job["status"] != "succeeded" {
			t.Fatalf("deploy of the upload:\n%s", describeJob(job))
		}
		serves(t)
		if code, body, _ := fetch(t, c, prodURL); code != 200 || !strings.Contains(body, marker) {
			t.Fatalf("the site answers %d without the uploaded plugin's marker:\n%.300s", code, body)
		}
		rel := s.api.must("GET", "/api/environments/"+envID+"/releases", nil, 200)["items"].([]any)[0].(map[string]any)
		if rel["current"] != true || rel["source"] != "archive" || rel["ref"] != "upload sha256:"+hex.EncodeToString(sum[:]) {
			t.Fatalf("release of the upload: %v", rel)
		}
		uploadsLeft(t)
	})

	t.Run("an upload over the limit is refused with nothing switched", func(t *testing.T) {
		before := s.api.must("GET", "/api/environments/"+envID, nil, 200)["current_release_id"]
		const size = 512<<20 + 1
		code, m := s.api.upload(deploy, "application/zip", io.LimitReader(zeros{}, size), size)
		if code != 413 || m["code"] != "archive_too_large" {
			t.Fatalf("oversized upload: %d %v", code, m)
		}
		if e := s.api.must("GET", "/api/environments/"+envID, nil, 200); e["status"] != "active" || e["current_release_id"] != before {
			t.Fatalf("after the refused upload: %v", e)
		}
		// An upload the node refuses on its own (a broken archive) fails
		// the job, leaves the site as it was and takes the upload away.
		junk := []byte(strings.Repeat("not an archive ", 1000))
		code, acc := s.api.upload(deploy, "application/octet-stream", bytes.NewReader(junk), int64(len(junk)))
		if code != 202 {
			t.Fatalf("upload: %d %v", code, acc)
		}
		if job := s.api.waitJob(acc["job_id"].(string), 10*time.Minute); job["status"] != "failed" {
			t.Fatalf("deploy of a broken upload:\n%s", describeJob(job))
		}
		if e := s.api.must("GET", "/api/environments/"+envID, nil, 200); e["status"] != "active" || e["current_release_id"] != before {
			t.Fatalf("after the broken upload: %v", e)
		}
		serves(t)
		uploadsLeft(t)
	})

	t.Run("figure: deploy of a 20 MB uploaded archive", func(t *testing.T) {
		extra := map[string]string{}
		for i := 0; i < 20; i++ {
			extra[fmt.Sprintf("wp-content/plugins/e2e-big/assets/f%02d.bin", i)] = randHex(512 * 1024) // 1 MB of hex text each
		}
		for k, v := range mu {
			extra[k] = v
		}
		archive := tarGz(t, site(extra))
		start := time.Now()
		code, acc := s.api.upload(deploy, "application/gzip", bytes.NewReader(archive), int64(len(archive)))
		uploaded := time.Since(start)
		if code != 202 {
			t.Fatalf("upload: %d %v", code, acc)
		}
		job := s.api.waitJobFast(acc["job_id"].(string), 10*time.Minute)
		took := time.Since(start)
		if job["status"] != "succeeded" {
			t.Fatalf("deploy:\n%s", describeJob(job))
		}
		serves(t)
		uploadsLeft(t)
		t.Logf("FIGURE deploy of a %.0f MB uploaded wp-content archive, API call (body streamed to the node: %s) to the new release serving: %s (goal ≤ 5 s)",
			float64(len(archive))/1e6, uploaded.Round(10*time.Millisecond), took.Round(100*time.Millisecond))
		t.Logf("where the deploy's time went:\n%s", describeJob(job))
	})
}

// zeros is an endless stream of zero bytes.
type zeros struct{}

func (zeros) Read(b []byte) (int, error) { clear(b); return len(b), nil }
