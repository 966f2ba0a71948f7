//go:build e2e

package e2e

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pressluft/pressluft/e2e/testnode"
)

// stack is one control plane and the lab of disposable nodes it manages.
type stack struct {
	lab *testnode.Lab
	cp  *controlPlane
	api *api
	pub string // the control plane's SSH public key
}

func newStack(t *testing.T) *stack {
	t.Helper()
	ctx := ctxFor(t, 15*time.Minute)
	lab, err := testnode.NewLab(ctx, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("test nodes: %v", err)
	}
	t.Cleanup(func() {
		if err := lab.Close(); err != nil {
			t.Errorf("tear down test nodes: %v", err)
		}
	})
	// Twelve workers: ten sites' jobs on one node run at once (testAgent).
	cp := startControlPlane(t, "--probe-interval", "2s", "--job-lease", "5s", "--workers", "12")
	a := cp.login(t)
	pub := a.must("GET", "/api/nodes/ssh-key", nil, 200)["public_key"].(string)
	if cli := strings.TrimSpace(cp.cli("node", "ssh-key")); cli != pub {
		t.Fatalf("CLI and API disagree on the public key:\n%s\n%s", cli, pub)
	}
	return &stack{lab: lab, cp: cp, api: a, pub: pub}
}

// up boots a node that the control plane's key may log in to. Its name
// gets PRESSLUFT_E2E_NODE_PREFIX in front, so runs side by side on one
// machine keep to their own nodes.
func (s *stack) up(t *testing.T, name string) *testnode.Node {
	t.Helper()
	name = os.Getenv("PRESSLUFT_E2E_NODE_PREFIX") + name
	n, err := s.lab.Up(ctxFor(t, 5*time.Minute), name, testnode.WithAuthorizedKey(s.pub), testnode.WithDeployUser())
	if err != nil {
		t.Fatalf("boot node %s: %v", name, err)
	}
	return n
}

// addNode registers a node with the API and returns its id.
func (s *stack) addNode(t *testing.T, name, host string, port int, user string) string {
	t.Helper()
	return s.api.must("POST", "/api/nodes", map[string]any{"name": name, "host": host, "ssh_port": port, "ssh_user": user}, 201)["id"].(string)
}

// provision runs node_provision and returns the finished job.
func (s *stack) provision(t *testing.T, nodeID string) (map[string]any, time.Duration) {
	t.Helper()
	start := time.Now()
	jobID := s.api.must("POST", "/api/nodes/"+nodeID+"/provision", nil, 202)["job_id"].(string)
	return s.api.waitJob(jobID, 20*time.Minute), time.Since(start)
}

func (s *stack) node(t *testing.T, id string) map[string]any {
	return s.api.must("GET", "/api/nodes/"+id, nil, 200)
}

func inNode(t *testing.T, n *testnode.Node, args ...string) string {
	t.Helper()
	out, err := n.Exec(ctxFor(t, 2*time.Minute), args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestNodesAndSites provisions a bare node for real and then exercises
// nodes and sites on it, in order: each stage builds on the one before.
func TestNodesAndSites(t *testing.T) {
	s := newStack(t)
	web := s.up(t, "pl-e2e-web")
	nodeID := s.addNode(t, "web", web.IP, 22, "deploy") // a sudo user, as on most real servers

	ok := t.Run("provision a bare node", func(t *testing.T) {
		job, took := s.provision(t, nodeID)
		if job["status"] != "succeeded" {
			t.Fatalf("provisioning failed:\n%s", describeJob(job))
		}
		t.Logf("FIGURE first provision of a bare node: %s", took.Round(time.Second))
		n := s.node(t, nodeID)
		if n["status"] != "active" || n["os_name"] != "Debian" || n["nginx_version"] == "" || n["php_version"] == "" ||
			n["mariadb_version"] == "" || n["host_key_fingerprint"] == "" || n["last_seen_at"] == nil {
			t.Fatalf("node after provisioning: %v", n)
		}
		for _, unit := range []string{"nginx", "php8.2-fpm", "mariadb", "redis-server"} {
			if out := strings.TrimSpace(inNode(t, web, "systemctl", "is-active", unit)); out != "active" {
				t.Errorf("%s is %s", unit, out)
			}
		}
		if out := inNode(t, web, "mariadb", "-N", "-e", "SELECT 1+1"); strings.TrimSpace(out) != "2" {
			t.Errorf("mariadb answered %q", out)
		}
		if out := inNode(t, web, "php", "-r", "echo extension_loaded('mysqli') ? 'yes' : 'no';"); out != "yes" {
			t.Errorf("PHP mysqli: %q", out)
		}
		// nginx answers, and drops requests for names it does not serve.
		res, err := http.Get("http://" + web.IP + "/")
		if err == nil {
			res.Body.Close()
			t.Errorf("unknown host got an answer: %d", res.StatusCode)
		}
		if out := inNode(t, web, "sh", "-c", "ss -ltn | grep -c ':3306 ' ; ss -ltn | grep ':3306 '"); !strings.Contains(out, "127.0.0.1:3306") {
			t.Errorf("MariaDB listens beyond localhost:\n%s", out)
		}
	})
	if !ok {
		return
	}

	t.Run("provision again changes nothing", func(t *testing.T) {
		job, took := s.provision(t, nodeID)
		if job["status"] != "succeeded" {
			t.Fatalf("re-provisioning failed:\n%s", describeJob(job))
		}
		t.Logf("FIGURE re-run of the provisioning playbook: %s", took.Round(time.Second))
		var changed []string
		for _, e := range job["events"].([]any) {
			ev := e.(map[string]any)
			if ev["message"] == "Changed." {
				changed = append(changed, fmt.Sprint(ev["step"]))
			}
		}
		if len(changed) > 0 {
			t.Fatalf("the second run changed:\n  %s", strings.Join(changed, "\n  "))
		}
	})

	t.Run("a re-run brings back a stopped service", func(t *testing.T) {
		inNode(t, web, "systemctl", "stop", "nginx")
		job, took := s.provision(t, nodeID)
		if job["status"] != "succeeded" {
			t.Fatalf("re-provisioning failed:\n%s", describeJob(job))
		}
		if out := strings.TrimSpace(inNode(t, web, "systemctl", "is-active", "nginx")); out != "active" {
			t.Fatalf("nginx is %s after a re-run (%s)", out, took.Round(time.Second))
		}
	})

	t.Run("runner fixed cost", func(t *testing.T) {
		// A plain "ssh node true" with a fresh connection, against a trivial
		// playbook run as a job (API call to job finished).
		key := filepath.Join(t.TempDir(), "id_ed25519")
		if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key).CombinedOutput(); err != nil {
			t.Fatalf("ssh-keygen: %v %s", err, out)
		}
		pub, _ := os.ReadFile(key + ".pub")
		if err := testnode.AuthorizeKey(web, string(pub)); err != nil {
			t.Fatal(err)
		}
		const n = 5
		var sshTotal, jobTotal time.Duration
		for i := 0; i < n; i++ {
			start := time.Now()
			if out, err := exec.Command("ssh", "-i", key, "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
				"-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "root@"+web.IP, "true").CombinedOutput(); err != nil {
				t.Fatalf("ssh: %v %s", err, out)
			}
			sshTotal += time.Since(start)
			start = time.Now()
			job := s.api.waitJobFast(s.api.must("POST", "/api/nodes/"+nodeID+"/check", nil, 202)["job_id"].(string), 2*time.Minute)
			if job["status"] != "succeeded" {
				t.Fatalf("node_check:\n%s", describeJob(job))
			}
			jobTotal += time.Since(start)
		}
		t.Logf("FIGURE runner fixed cost: ssh node true %s, trivial playbook as a job %s (mean of %d)",
			(sshTotal / n).Round(time.Millisecond), (jobTotal / n).Round(time.Millisecond), n)
	})

	t.Run("the dashboard's node flows", func(t *testing.T) { testDashboard(t, s, nodeID) })
	t.Run("sites and environments", func(t *testing.T) { testSites(t, s, web, nodeID) })
	t.Run("the node agent", func(t *testing.T) { testAgent(t, s, web, nodeID) })
	t.Run("backups and restore", func(t *testing.T) { testBackups(t, s, web, nodeID) })
	t.Run("releases, deploys and updates", func(t *testing.T) { testReleases(t, s, web, nodeID) })
	t.Run("drift checks and promotion", func(t *testing.T) { testPromotion(t, s, web, nodeID) })
	t.Run("the agent's drift and promotion operations", func(t *testing.T) { testPromoteAgent(t, s, web, nodeID) })

	t.Run("a stopped sshd makes the node unreachable, and jobs fail fast", func(t *testing.T) {
		inNode(t, web, "systemctl", "stop", "ssh.service")
		waitFor(t, "the node to turn unreachable", time.Minute, func() bool { return s.node(t, nodeID)["status"] == "unreachable" })
		inNode(t, web, "systemctl", "start", "ssh.service")
		waitFor(t, "the node to turn active again", time.Minute, func() bool { return s.node(t, nodeID)["status"] == "active" })

		inNode(t, web, "systemctl", "stop", "ssh.service")
		waitFor(t, "the node to turn unreachable", time.Minute, func() bool { return s.node(t, nodeID)["status"] == "unreachable" })
		job, took := s.provision(t, nodeID) // three attempts with backoff, then failed
		if job["status"] != "failed" || job["error_code"] != "node_unreachable" || job["attempt"] != float64(3) {
			t.Fatalf("job against a node without sshd:\n%s", describeJob(job))
		}
		t.Logf("job against an unreachable node failed after %s (3 attempts with backoff)", took.Round(time.Second))
		// Nothing ran on the node: it is unreachable, not failed, and comes back by itself.
		if n := s.node(t, nodeID); n["status"] != "unreachable" {
			t.Fatalf("node after a provision that could not connect: %v (%v)", n["status"], n["last_error"])
		}
		inNode(t, web, "systemctl", "start", "ssh.service")
		waitFor(t, "the node to turn active on its own", time.Minute, func() bool { return s.node(t, nodeID)["status"] == "active" })
		if job, _ := s.provision(t, nodeID); job["status"] != "succeeded" {
			t.Fatalf("provisioning after sshd returned:\n%s", describeJob(job))
		}
	})

	t.Run("forget a site on an unreachable node", func(t *testing.T) { testForget(t, s, web, nodeID) })

	t.Run("a changed host key is refused", func(t *testing.T) {
		keys, err := filepath.Glob(filepath.Join(web.Root, "etc/ssh/ssh_host_*"))
		if err != nil || len(keys) == 0 {
			t.Fatalf("host keys: %v", err)
		}
		saved := map[string][]byte{}
		for _, k := range keys {
			saved[k], _ = os.ReadFile(k)
		}
		inNode(t, web, "sh", "-c", "rm -f /etc/ssh/ssh_host_* && ssh-keygen -A >/dev/null && systemctl restart ssh.service")
		job, _ := s.provision(t, nodeID)
		if job["status"] != "failed" || job["error_code"] != "host_key_mismatch" || job["attempt"] != float64(1) {
			t.Fatalf("job against a node with a new host key:\n%s", describeJob(job))
		}
		for k, b := range saved {
			if err := os.WriteFile(k, b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		inNode(t, web, "sh", "-c", "chmod 644 /etc/ssh/ssh_host_*.pub && systemctl restart ssh.service")
		if job, _ := s.provision(t, nodeID); job["status"] != "succeeded" {
			t.Fatalf("provisioning with the original key back:\n%s", describeJob(job))
		}
	})

	t.Run("a wrong port or user gives a clear error", func(t *testing.T) {
		other := s.up(t, "pl-e2e-other")
		badUser := s.addNode(t, "bad-user", other.IP, 22, "nobody")
		job, _ := s.provision(t, badUser)
		if job["status"] != "failed" || job["error_code"] != "ssh_auth_failed" ||
			!strings.Contains(job["error_message"].(string), "authorized_keys") {
			t.Fatalf("wrong user:\n%s", describeJob(job))
		}
		badPort := s.addNode(t, "bad-port", other.IP, 2222, "root")
		jobID := s.api.must("POST", "/api/nodes/"+badPort+"/provision", nil, 202)["job_id"].(string)
		waitFor(t, "the first attempt to fail", time.Minute, func() bool {
			j := s.api.must("GET", "/api/jobs/"+jobID, nil, 200)
			return j["error_code"] == "node_unreachable" && strings.Contains(j["error_message"].(string), "connection refused")
		})
		s.api.must("POST", "/api/jobs/"+jobID+"/cancel", nil, 200)
		s.api.waitJob(jobID, time.Minute)
	})

	t.Run("no secret in any job record", func(t *testing.T) {
		secrets := collectSecrets(t, s)
		cursor := ""
		for {
			page := s.api.must("GET", "/api/jobs?limit=100&cursor="+cursor, nil, 200)
			for _, it := range page["items"].([]any) {
				id := it.(map[string]any)["id"].(string)
				code, raw := rawGet(t, s.api, "/api/jobs/"+id)
				if code != 200 {
					t.Fatalf("job %s: %d", id, code)
				}
				for name, v := range secrets {
					if strings.Contains(raw, v) {
						t.Errorf("job %s contains the %s", id, name)
					}
				}
			}
			if cursor, _ = page["next_cursor"].(string); cursor == "" {
				break
			}
		}
	})
}

func rawGet(t *testing.T, a *api, path string) (int, string) {
	t.Helper()
	res, err := a.hc.Get(a.base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// collectSecrets returns values that must never appear in job records: the
// control plane's private key and the secrets the sites test registered.
func collectSecrets(t *testing.T, s *stack) map[string]string {
	t.Helper()
	out := map[string]string{"private key marker": "PRIVATE KEY"}
	for k, v := range knownSecrets {
		out[k] = v
	}
	return out
}

// knownSecrets are secrets the suite learnt on the way (admin passwords
// shown once, database passwords read on the node).
var knownSecrets = map[string]string{}

func remember(name, value string) {
	if len(value) >= 8 {
		knownSecrets[name] = value
	}
}
