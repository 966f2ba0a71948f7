package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestCLI(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := context.Background()
	cli := func(args ...string) (string, error) {
		var out bytes.Buffer
		// Flags go between the command words and the arguments.
		full := append(append(append([]string{}, args[:2]...), "--data-dir", dir), args[2:]...)
		err := run(ctx, full, &out)
		return out.String(), err
	}
	if out, err := cli("admin", "create", "--email", "ops@example.com", "--password", "correct horse"); err != nil || !strings.Contains(out, "created administrator") {
		t.Fatalf("admin create: %q %v", out, err)
	}
	if _, err := cli("admin", "create", "--email", "ops@example.com", "--password", "correct horse"); err == nil || !strings.Contains(cliMessage(err), "already exists") {
		t.Fatalf("duplicate admin: %v", err)
	}
	if _, err := cli("admin", "reset-password", "--email", "ops@example.com", "--password", "short"); err == nil {
		t.Fatal("short password accepted")
	}
	if _, err := cli("admin", "reset-password", "--email", "ops@example.com", "--password", "battery staple"); err != nil {
		t.Fatal(err)
	}
	key, err := cli("node", "ssh-key")
	if err != nil || !strings.HasPrefix(key, "ssh-ed25519 ") {
		t.Fatalf("ssh-key: %q %v", key, err)
	}
	if again, _ := cli("node", "ssh-key"); again != key {
		t.Fatal("the key pair changed between runs")
	}
	if _, err := cli("node", "add", "--name", "web", "--host", "bad host"); err == nil {
		t.Fatal("bad host accepted")
	}
	out, err := cli("node", "add", "--name", "web", "--host", "10.77.1.2")
	if err != nil {
		t.Fatal(err)
	}
	id := strings.Fields(strings.SplitN(out, "(", 2)[1])[0]
	id = strings.TrimSuffix(id, ");")
	if out, err := cli("node", "provision", id); err != nil || !strings.Contains(out, "queued job") {
		t.Fatalf("provision: %q %v", out, err)
	}
	if out, _ := cli("node", "list"); !strings.Contains(out, "provisioning") {
		t.Fatalf("list: %q", out)
	}
	if err := run(ctx, []string{"nonsense"}, &bytes.Buffer{}); err == nil {
		t.Fatal("unknown command accepted")
	}
}
