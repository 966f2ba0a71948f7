//go:build e2e

package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// testDashboard runs the dashboard's browser flows that need a provisioned
// node (web/tests/browser/node-flows.e2e.mjs): re-provision, site create,
// staging copy and the deletes, in Chromium against this stack's control plane.
func testDashboard(t *testing.T, s *stack, nodeID string) {
	t.Helper()
	web, err := filepath.Abs("../web")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat("/usr/bin/chromium"); err != nil {
		t.Fatalf("the dashboard flows need Chromium (scripts/install-test-deps.sh installs it): %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Minute)
	defer cancel()
	if _, err := os.Stat(filepath.Join(web, "node_modules", "playwright-core")); err != nil {
		npm := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund")
		npm.Dir, npm.Env = web, append(os.Environ(), "NUXT_TELEMETRY_DISABLED=1")
		if out, err := npm.CombinedOutput(); err != nil {
			t.Fatalf("npm ci in web/: %v\n%s", err, out)
		}
	}
	cmd := exec.CommandContext(ctx, "node", "--test", "--test-concurrency=1", "tests/browser/node-flows.e2e.mjs")
	cmd.Dir = web
	cmd.Env = append(os.Environ(),
		"PRESSLUFT_URL=http://"+s.cp.addr,
		"PRESSLUFT_EMAIL=ops@example.com",
		"PRESSLUFT_PASSWORD=correct horse",
		"PRESSLUFT_NODE_ID="+nodeID,
	)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("dashboard flows on node %s: %v\n%s", nodeID, err, out)
	}
	t.Logf("dashboard flows:\n%s", out)
}
