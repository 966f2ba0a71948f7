package sqlite_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/pressluft/pressluft"
	"github.com/pressluft/pressluft/sqlite"
)

// clock is a settable time source for tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// mustOpenDB returns a fresh migrated database in a temporary directory and
// the clock it runs on.
func mustOpenDB(tb testing.TB) (*sqlite.DB, *clock) {
	tb.Helper()
	dir := tb.TempDir()
	key, err := sqlite.LoadOrCreateKey(filepath.Join(dir, "secret.key"))
	if err != nil {
		tb.Fatal(err)
	}
	db := sqlite.NewDB(filepath.Join(dir, "pressluft.db"))
	c := &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	db.Now = c.Now
	db.SetKey(key)
	if err := db.Open(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db, c
}

// mustActiveNode registers a node and marks it active.
func mustActiveNode(tb testing.TB, db *sqlite.DB, host string) *pressluft.Node {
	tb.Helper()
	ctx := context.Background()
	svc := sqlite.NewNodeService(db, sqlite.NewJobService(db))
	n := &pressluft.Node{Name: "node " + host, Host: host, SSHPort: 22, SSHUser: "root"}
	if err := svc.CreateNode(ctx, n); err != nil {
		tb.Fatal(err)
	}
	if err := svc.SetNodeStatus(ctx, n.ID, pressluft.NodeActive, ""); err != nil {
		tb.Fatal(err)
	}
	n.Status = pressluft.NodeActive
	return n
}

func wantCode(tb testing.TB, err error, code string) {
	tb.Helper()
	if got := pressluft.ErrorCode(err); got != code {
		tb.Fatalf("error code = %q (%v), want %q", got, err, code)
	}
}

func TestDB_ReopenKeepsRows(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	key, err := sqlite.LoadOrCreateKey(filepath.Join(dir, "secret.key"))
	if err != nil {
		t.Fatal(err)
	}
	open := func() *sqlite.DB {
		db := sqlite.NewDB(filepath.Join(dir, "pressluft.db"))
		db.SetKey(key)
		if err := db.Open(); err != nil {
			t.Fatal(err)
		}
		return db
	}
	db := open()
	ctx := context.Background()
	if _, err := sqlite.NewAuthService(db).CreateUser(ctx, "a@example.com", "password1"); err != nil {
		t.Fatal(err)
	}
	if err := sqlite.NewSecretService(db).PutSecret(ctx, "x", []byte("v")); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db = open() // migrations run again and must be a no-op
	defer db.Close()
	if _, _, err := sqlite.NewAuthService(db).Login(ctx, "a@example.com", "password1"); err != nil {
		t.Fatalf("login after reopen: %v", err)
	}
	if v, err := sqlite.NewSecretService(db).GetSecret(ctx, "x"); err != nil || string(v) != "v" {
		t.Fatalf("secret after reopen = %q, %v", v, err)
	}
}

func TestSecrets(t *testing.T) {
	t.Parallel()
	db, _ := mustOpenDB(t)
	ctx := context.Background()
	s := sqlite.NewSecretService(db)
	if err := s.PutSecret(ctx, "a", []byte("hunter2")); err != nil {
		t.Fatal(err)
	}
	if err := s.PutSecret(ctx, "a", []byte("hunter3")); err != nil {
		t.Fatal(err)
	}
	if v, err := s.GetSecret(ctx, "a"); err != nil || string(v) != "hunter3" {
		t.Fatalf("GetSecret = %q, %v", v, err)
	}
	_, err := s.GetSecret(ctx, "missing")
	wantCode(t, err, pressluft.ENotFound)
	if err := s.DeleteSecret(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	_, err = s.GetSecret(ctx, "a")
	wantCode(t, err, pressluft.ENotFound)
}

func TestLoadOrCreateKey_RefusesLooseMode(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "k")
	if _, err := sqlite.LoadOrCreateKey(path); err != nil {
		t.Fatal(err)
	}
	if err := chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := sqlite.LoadOrCreateKey(path); err == nil {
		t.Fatal("a world-readable key file was accepted")
	}
}
