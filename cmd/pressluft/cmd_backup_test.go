package main

import (
	"context"
	"strings"
	"testing"

	"github.com/pressluft/pressluft"
)

// The backup, offsite and release commands reach their routes, send what
// the flags say, keep secrets off the command line, and print the API's
// refusals.
func TestCLI_BackupAndReleaseCommands(t *testing.T) {
	t.Parallel()
	api := newAPIServer(t)
	ce := cliEnv{vars: map[string]string{"PRESSLUFT_SERVER": api.base, "PRESSLUFT_TOKEN": api.token}}
	out := ce.must(t, "node", "add", "--name", "web", "--host", "10.77.1.3")
	nodeID := strings.TrimSuffix(strings.Fields(strings.SplitN(out, "(", 2)[1])[0], ");")
	if err := api.nodes.SetNodeStatus(context.Background(), nodeID, pressluft.NodeActive, ""); err != nil {
		t.Fatal(err)
	}
	out = ce.must(t, "site", "create", "--name", "Acme", "--slug", "acme", "--node", nodeID, "--admin-email", "a@example.com")
	var envID string
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "production:" {
			envID = f[1]
		}
	}
	if envID == "" {
		t.Fatalf("site create:\n%s", out)
	}

	// The environment is still being created: the API's refusal is printed.
	if _, err := ce.run(t, "backup", "create", "--env", envID); pressluft.ErrorCode(err) != pressluft.EConflict {
		t.Fatalf("backup of an environment being created: %v", err)
	}
	if _, err := ce.run(t, "backup", "schedule", "--env", envID, "--frequency", "daily", "--hour", "25", "--keep-last", "3"); pressluft.ErrorCode(err) != pressluft.EValidation {
		t.Fatalf("bad schedule: %v", err)
	}
	out = ce.must(t, "backup", "schedule", "--env", envID, "--frequency", "weekly", "--weekday", "1", "--hour", "2", "--keep-days", "30", "--timezone", "Europe/Berlin")
	if !strings.Contains(out, "weekly") || !strings.Contains(out, "Europe/Berlin") {
		t.Fatalf("schedule:\n%s", out)
	}
	if out := ce.must(t, "backup", "schedule", "--env", envID, "--delete"); !strings.Contains(out, "removed") {
		t.Fatalf("schedule --delete: %s", out)
	}

	withSecret := cliEnv{vars: ce.vars, stdin: "S3CRETKEY\n"}
	out = withSecret.must(t, "offsite", "set", "--endpoint", "s3.example.com", "--bucket", "backups", "--access-key", "AK", "--secret-key-stdin")
	if !strings.Contains(out, "secret key set:") || strings.Contains(out, "S3CRETKEY") {
		t.Fatalf("offsite set:\n%s", out)
	}
	if _, err := ce.run(t, "offsite", "set", "--endpoint", "https://s3.example.com", "--bucket", "backups", "--access-key", "AK"); pressluft.ErrorCode(err) != pressluft.EValidation {
		t.Fatalf("an endpoint with a scheme: %v", err)
	}

	if _, err := ce.run(t, "release", "rollback", "--env", envID, "--release", envID); pressluft.ErrorCode(err) != pressluft.EValidation {
		t.Fatalf("rollback without --restore-database: %v", err)
	}
	if _, err := ce.run(t, "release", "deploy", "--env", envID, "--git", "ext::sh -c id", "--ref", "main"); pressluft.ErrorCode(err) != pressluft.EValidation {
		t.Fatalf("deploy from a command instead of a repository: %v", err)
	}
	if out := ce.must(t, "release", "list", "--env", envID); !strings.Contains(out, "SOURCE") {
		t.Fatalf("release list:\n%s", out)
	}
}
