//go:build e2e

package e2e

import (
	"bufio"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestFoundation drives the binary over HTTP: CLI admin, login and cookie,
// errors, throttling, audit, jobs and SSE, Prometheus, restart, and a job
// whose process was killed mid-run.
func TestFoundation(t *testing.T) {
	cp := startControlPlane(t, "--job-lease", "3s")

	anon := &api{t: t, base: "http://" + cp.addr, hc: &http.Client{}}
	if code, m, _ := anon.call("GET", "/api/me", nil); code != 401 || m["code"] != "unauthorized" {
		t.Fatalf("/api/me without session: %d %v", code, m)
	}
	_, _, hdr := anon.call("POST", "/api/login", map[string]string{"email": "ops@example.com", "password": "correct horse"})
	cookie := hdr.Get("Set-Cookie")
	for _, want := range []string{"HttpOnly", "SameSite=Lax"} {
		if !strings.Contains(cookie, want) {
			t.Errorf("cookie %q lacks %s", cookie, want)
		}
	}
	a := cp.login(t)
	if me := a.must("GET", "/api/me", nil, 200); me["email"] != "ops@example.com" {
		t.Fatalf("me = %v", me)
	}

	req, _ := http.NewRequest("POST", a.base+"/api/nodes", strings.NewReader(`{"name":`))
	res, err := a.hc.Do(req)
	if err != nil || res.StatusCode != 400 {
		t.Fatalf("bad JSON: %v %v", res, err)
	}
	res.Body.Close()

	// Throttling: a stranger's eleventh try within a minute is refused.
	for i := 0; i < 12; i++ {
		code, m, _ := anon.call("POST", "/api/login", map[string]string{"email": "ops@example.com", "password": "guess" + strings.Repeat("x", i)})
		if i >= 10 && (code != 429 || m["code"] != "rate_limited") {
			t.Fatalf("login try %d: %d %v", i+1, code, m)
		}
	}

	// A node whose SSH port accepts connections but never answers: its
	// provisioning runs (waiting for the handshake) long enough to be killed.
	silent := silentListener(t)
	node := a.must("POST", "/api/nodes", map[string]any{"name": "silent", "host": "127.0.0.1", "ssh_port": silent}, 201)
	nodeID := node["id"].(string)
	jobID := a.must("POST", "/api/nodes/"+nodeID+"/provision", nil, 202)["job_id"].(string)
	waitFor(t, "the provisioning job to run", 20*time.Second, func() bool {
		return a.must("GET", "/api/jobs/"+jobID, nil, 200)["status"] == "running"
	})

	// Live progress over SSE while it runs.
	sse, err := a.hc.Get(a.base + "/api/jobs/" + jobID + "/events")
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(sse.Body)
	var sawConnect bool
	for i := 0; i < 50 && sc.Scan(); i++ {
		if strings.Contains(sc.Text(), `"step":"connect"`) {
			sawConnect = true
			break
		}
	}
	sse.Body.Close()
	if !sawConnect {
		t.Fatal("no progress event on the SSE stream")
	}

	cp.kill()
	cp.start()
	a = cp.login(t) // sessions survive the restart too, but log in afresh
	waitFor(t, "the orphaned job to be rescued", 30*time.Second, func() bool {
		j := a.must("GET", "/api/jobs/"+jobID, nil, 200)
		for _, e := range j["events"].([]any) {
			if e.(map[string]any)["step"] == "rescued" {
				return j["status"] != "running" || j["attempt"].(float64) > 1
			}
		}
		return false
	})
	a.must("POST", "/api/jobs/"+jobID+"/cancel", nil, 200)
	final := a.waitJob(jobID, 30*time.Second)
	if final["status"] != "cancelled" {
		t.Fatalf("after cancel: %s", describeJob(final))
	}
	if got := a.must("GET", "/api/nodes/"+nodeID, nil, 200); got["status"] != "failed" || got["last_error"] == "" {
		t.Fatalf("node after its provisioning was cancelled: %v %v", got["status"], got["last_error"])
	}

	// Rows survive a graceful restart; the audit log has the story.
	cp.stop()
	cp.start()
	a = cp.login(t)
	if nodes := a.must("GET", "/api/nodes", nil, 200)["items"].([]any); len(nodes) != 1 {
		t.Fatalf("nodes after restart: %v", nodes)
	}
	audit := a.must("GET", "/api/audit?action=auth.login&limit=100", nil, 200)["items"].([]any)
	var failures int
	for _, e := range audit {
		if e.(map[string]any)["result"] == "failure" {
			failures++
		}
	}
	if failures < 10 {
		t.Fatalf("failed logins in the audit log: %d", failures)
	}
	metrics := a.hc
	res, err = metrics.Get(a.base + "/metrics")
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("/metrics: %v %v", res, err)
	}
	body := new(strings.Builder)
	bufio.NewReader(res.Body).WriteTo(body)
	res.Body.Close()
	if !strings.Contains(body.String(), `pressluft_jobs{status="cancelled"} 1`) {
		t.Fatalf("prometheus output:\n%s", body)
	}
}

// silentListener accepts TCP connections and never says anything.
func silentListener(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().(*net.TCPAddr).Port
}
