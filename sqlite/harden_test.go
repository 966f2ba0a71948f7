package sqlite_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/pressluft/pressluft"
	"github.com/pressluft/pressluft/sqlite"
)

// The database and its journal files are private to the control plane's user
// whatever the umask.
func TestDB_FilesArePrivate(t *testing.T) {
	// Not parallel: the umask is process-wide.
	old := syscall.Umask(0o002)
	defer syscall.Umask(old)
	db, _ := mustOpenDB(t)
	if _, _, err := sqlite.NewAuditService(db).FindAuditEntries(context.Background(), pressluft.AuditFilter{}); err != nil {
		t.Fatal(err)
	}
	for _, suffix := range []string{"", "-wal", "-shm"} {
		fi, err := os.Stat(db.Path + suffix)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %o, want 600", filepath.Base(db.Path+suffix), fi.Mode().Perm())
		}
	}
}

func TestDB_RefusesOpenDataDirectory(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	err := sqlite.CheckDataDir(dir)
	if err == nil || !strings.Contains(err.Error(), "chmod 700") {
		t.Fatalf("CheckDataDir(0755) = %v, want a refusal that says what to do", err)
	}
	for _, mode := range []os.FileMode{0o750, 0o705} {
		if err := os.Chmod(dir, mode); err != nil {
			t.Fatal(err)
		}
		if sqlite.CheckDataDir(dir) == nil {
			t.Errorf("mode %o accepted", mode)
		}
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := sqlite.CheckDataDir(dir); err != nil {
		t.Fatal(err)
	}
}

func TestAudit_RecordClips(t *testing.T) {
	t.Parallel()
	db, _ := mustOpenDB(t)
	ctx := context.Background()
	audit := sqlite.NewAuditService(db)
	if err := audit.Record(ctx, &pressluft.AuditEntry{Actor: strings.Repeat("a", 1<<20), Action: "auth.login",
		ResourceType: "user", ResourceID: strings.Repeat("9", 500<<10), Result: "failure"}); err != nil {
		t.Fatal(err)
	}
	entries, _, err := audit.FindAuditEntries(ctx, pressluft.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || len(entries[0].Actor) > pressluft.MaxAuditField || len(entries[0].ResourceID) > pressluft.MaxAuditField {
		t.Fatalf("recorded actor %d bytes, resource id %d bytes", len(entries[0].Actor), len(entries[0].ResourceID))
	}
}

func TestAuth_ResetPasswordRevokesTokensOnRequest(t *testing.T) {
	t.Parallel()
	db, _ := mustOpenDB(t)
	ctx := context.Background()
	auth := sqlite.NewAuthService(db)
	u, err := auth.CreateUser(ctx, "ops@example.com", "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	_, kept, _ := auth.CreateAPIToken(ctx, u.ID, "ci")
	n, err := auth.ResetPassword(ctx, "ops@example.com", "battery staple", false)
	if err != nil || n != 0 {
		t.Fatalf("reset without revoking: %d, %v", n, err)
	}
	if _, _, err := auth.AuthenticateToken(ctx, kept); err != nil {
		t.Fatalf("token revoked without being asked: %v", err)
	}
	_, second, _ := auth.CreateAPIToken(ctx, u.ID, "deploy")
	n, err = auth.ResetPassword(ctx, "ops@example.com", "battery staple 2", true)
	if err != nil || n != 2 {
		t.Fatalf("reset revoking tokens: %d, %v", n, err)
	}
	for _, tok := range []string{kept, second} {
		_, _, err := auth.AuthenticateToken(ctx, tok)
		wantCode(t, err, pressluft.EUnauthorized)
	}
}

func TestAuth_PasswordOverBcryptLimit(t *testing.T) {
	t.Parallel()
	db, _ := mustOpenDB(t)
	ctx := context.Background()
	auth := sqlite.NewAuthService(db)
	_, err := auth.CreateUser(ctx, "ops@example.com", strings.Repeat("p", 73))
	wantCode(t, err, pressluft.EValidation)
	if _, err := auth.CreateUser(ctx, "ops@example.com", "correct horse"); err != nil {
		t.Fatal(err)
	}
	_, err = auth.ResetPassword(ctx, "ops@example.com", strings.Repeat("€", 25), false)
	wantCode(t, err, pressluft.EValidation)
}
