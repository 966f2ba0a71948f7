//go:build e2e

package e2e

import (
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pressluft/pressluft/e2e/testnode"
)

// previousVersion is the last release before environment work moved from
// Ansible playbooks to the node agent: its nodes have no agent, and its
// environments were built by the playbooks.
const previousVersion = "29c8636"

// buildPrevious builds the pressluft binary of previousVersion from the
// repository's history.
func buildPrevious(t *testing.T) string {
	t.Helper()
	src := t.TempDir()
	archive := exec.Command("sh", "-c", `git -C .. archive "$1" | tar -x -C "$2"`, "sh", previousVersion, src)
	if out, err := archive.CombinedOutput(); err != nil {
		t.Fatalf("the previous version %s is not in this clone's history: %v\n%s", previousVersion, err, out)
	}
	bin := filepath.Join(t.TempDir(), "pressluft-previous")
	build := exec.Command("go", "build", "-o", bin, "./cmd/pressluft")
	build.Dir = src
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", previousVersion, err, out)
	}
	return bin
}

// TestUpgradeFromPreviousVersion provisions a node and creates a site with
// the previous version, then upgrades the control plane on the same data
// directory: the new version works on that node with no manual step (the
// agent arrives with the first operation).
func TestUpgradeFromPreviousVersion(t *testing.T) {
	old := buildPrevious(t)
	lab, err := testnode.NewLab(ctxFor(t, 15*time.Minute), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("test nodes: %v", err)
	}
	t.Cleanup(func() {
		if err := lab.Close(); err != nil {
			t.Errorf("tear down test nodes: %v", err)
		}
	})

	cp := &controlPlane{t: t, bin: old, dataDir: filepath.Join(t.TempDir(), "data"), addr: freeAddr(t), args: []string{"--probe-interval", "2s"}}
	cp.cli("admin", "create", "--email", "ops@example.com", "--password", "correct horse")
	cp.start()
	t.Cleanup(func() { cp.stop() })
	a := cp.login(t)
	pub := a.must("GET", "/api/nodes/ssh-key", nil, 200)["public_key"].(string)
	n, err := lab.Up(ctxFor(t, 5*time.Minute), "pl-e2e-old", testnode.WithAuthorizedKey(pub), testnode.WithDeployUser())
	if err != nil {
		t.Fatal(err)
	}
	nodeID := a.must("POST", "/api/nodes", map[string]any{"name": "old", "host": n.IP, "ssh_port": 22, "ssh_user": "deploy"}, 201)["id"].(string)
	if job := a.waitJob(a.must("POST", "/api/nodes/"+nodeID+"/provision", nil, 202)["job_id"].(string), 20*time.Minute); job["status"] != "succeeded" {
		t.Fatalf("provision with %s:\n%s", previousVersion, describeJob(job))
	}
	created := a.must("POST", "/api/sites", map[string]any{"name": "Legacy", "slug": "legacy", "node_id": nodeID, "title": "Legacy Site",
		"admin_email": "ops@example.com"}, 202)
	if job := a.waitJob(created["job_id"].(string), 10*time.Minute); job["status"] != "succeeded" {
		t.Fatalf("site_create with %s:\n%s", previousVersion, describeJob(job))
	}
	if _, err := n.Exec(ctxFor(t, time.Minute), "test", "-e", "/usr/local/lib/pressluft/agent"); err == nil {
		t.Fatal("the previous version's node already has an agent")
	}

	// The upgrade: the same data directory, the new binary.
	cp.stop()
	cp.bin = binary
	cp.start()
	a = cp.login(t)
	c := previewClient(n.IP)
	prod := a.must("GET", "/api/environments/"+created["environment_id"].(string), nil, 200)
	waitServes(t, c, prod["preview_url"].(string), "Legacy Site", time.Minute)

	res := a.must("POST", "/api/sites/"+created["site"].(map[string]any)["id"].(string)+"/environments",
		map[string]any{"name": "Staging", "slug": "staging", "type": "staging", "source_environment_id": prod["id"]}, 202)
	job := a.waitJob(res["job_id"].(string), 10*time.Minute)
	if job["status"] != "succeeded" {
		t.Fatalf("staging copy after the upgrade:\n%s", describeJob(job))
	}
	if !strings.Contains(describeJob(job), "Installing node agent") {
		t.Errorf("the first operation after the upgrade did not install the agent:\n%s", describeJob(job))
	}
	stg := a.must("GET", "/api/environments/"+res["environment_id"].(string), nil, 200)
	waitServes(t, c, stg["preview_url"].(string), "Legacy Site", time.Minute)

	// Environments of both generations go away cleanly.
	del := a.waitJob(a.must("DELETE", "/api/sites/"+created["site"].(map[string]any)["id"].(string), nil, 202)["job_id"].(string), 10*time.Minute)
	if del["status"] != "succeeded" {
		t.Fatalf("site_delete after the upgrade:\n%s", describeJob(del))
	}
	for _, user := range []string{"legacy-production", "legacy-staging"} {
		if _, err := n.Exec(ctxFor(t, time.Minute), "id", user); err == nil {
			t.Errorf("user %s is still on the node", user)
		}
	}
	if _, err := os.Stat(filepath.Join(n.Root, "srv/pressluft/legacy-production")); err == nil {
		t.Error("legacy-production's files are still on the node")
	}
}
