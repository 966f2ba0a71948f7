package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pressluft/pressluft"
	"github.com/pressluft/pressluft/sqlite"
)

func TestCLI(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data") // created 0700 by the command
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
	if err := run(ctx, []string{"nonsense"}, &bytes.Buffer{}); err == nil {
		t.Fatal("unknown command accepted")
	}
}

func TestCLI_ResetPasswordRevokeTokens(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data") // created 0700 by the command
	ctx := context.Background()
	cli := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := run(ctx, append(args, "--data-dir", dir), &out)
		return out.String(), err
	}
	if _, err := cli("admin", "create", "--email", "ops@example.com", "--password", "correct horse"); err != nil {
		t.Fatal(err)
	}
	m := NewMain()
	m.Config.DataDir = dir
	if err := m.openStore(); err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	auth := sqlite.NewAuthService(m.DB)
	_, session, err := auth.Login(ctx, "ops@example.com", "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	u, _ := auth.AuthenticateSession(ctx, session)
	_, token, err := auth.CreateAPIToken(ctx, u.ID, "ci")
	if err != nil {
		t.Fatal(err)
	}
	out, err := cli("admin", "reset-password", "--email", "ops@example.com", "--password", "battery staple")
	if err != nil || !strings.Contains(out, "API tokens were kept") {
		t.Fatalf("reset without --revoke-tokens: %q %v", out, err)
	}
	if _, _, err := auth.AuthenticateToken(ctx, token); err != nil {
		t.Fatalf("token revoked without --revoke-tokens: %v", err)
	}
	out, err = cli("admin", "reset-password", "--email", "ops@example.com", "--password", "battery staple", "--revoke-tokens")
	if err != nil || !strings.Contains(out, "1 API token revoked") {
		t.Fatalf("reset with --revoke-tokens: %q %v", out, err)
	}
	if _, _, err := auth.AuthenticateToken(ctx, token); pressluft.ErrorCode(err) != pressluft.EUnauthorized {
		t.Fatalf("token still works after --revoke-tokens: %v", err)
	}
}

func TestServeFlags_ProxyAndHosts(t *testing.T) {
	t.Parallel()
	m := NewMain()
	if err := m.ParseFlags("serve", []string{"--trusted-proxy", "127.0.0.1, 10.0.0.0/8", "--allowed-hosts", "CP.example.com,cp2.example.com"}); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(m.Config.TrustedProxies); got != "[127.0.0.1/32 10.0.0.0/8]" {
		t.Errorf("trusted proxies %s", got)
	}
	if got := fmt.Sprint(m.Config.AllowedHosts); got != "[cp.example.com cp2.example.com]" {
		t.Errorf("allowed hosts %s", got)
	}
	for _, bad := range []string{"10.0.0.0/33", "proxy.example.com", "10.0.0.1/8x"} {
		if err := NewMain().ParseFlags("serve", []string{"--trusted-proxy", bad}); err == nil {
			t.Errorf("--trusted-proxy %q accepted", bad)
		}
	}
	if err := NewMain().ParseFlags("serve", []string{"--allowed-hosts", "bad host"}); err == nil {
		t.Error("--allowed-hosts with a space accepted")
	}
}

func TestCLI_RefusesOpenDataDirectory(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	err := run(context.Background(), []string{"migrate", "--data-dir", dir}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "chmod 700") {
		t.Fatalf("migrate in a 0755 data directory: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "secret.key")); !os.IsNotExist(err) {
		t.Fatalf("secret key written into the refused directory: %v", err)
	}
}

func TestCLI_PasswordFromStdin(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	ctx := context.Background()
	var out bytes.Buffer
	if err := runAdmin(ctx, []string{"create", "--data-dir", dir, "--email", "ops@example.com", "--password-stdin"},
		strings.NewReader("correct horse\n"), &out); err != nil {
		t.Fatal(err)
	}
	if err := runAdmin(ctx, []string{"reset-password", "--data-dir", dir, "--email", "ops@example.com", "--password-stdin"},
		strings.NewReader(""), &out); err == nil {
		t.Fatal("an empty stdin was taken for a password")
	}
	db := sqlite.NewDB(filepath.Join(dir, "pressluft.db"))
	if err := db.Open(); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, _, err := sqlite.NewAuthService(db).Login(ctx, "ops@example.com", "correct horse"); err != nil {
		t.Fatalf("the password read from stdin does not log in: %v", err)
	}
}

// A relative --data-dir is made absolute: the playbooks are extracted into it
// and ansible-playbook runs in another directory.
func TestOpenStore_DataDirBecomesAbsolute(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	m := NewMain()
	m.Config.DataDir = "data"
	if err := m.openStore(); err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if want := filepath.Join(dir, "data"); m.Config.DataDir != want {
		t.Fatalf("data dir = %q, want %q", m.Config.DataDir, want)
	}
}
