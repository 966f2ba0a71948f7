// Package sqlite implements the domain services on SQLite through the
// pure-Go modernc.org/sqlite driver.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/pressluft/pressluft"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// timeFormat sorts as text and keeps nanoseconds.
const timeFormat = "2006-01-02T15:04:05.000000000Z"

// DB is the store: a one-connection writer (SQLite allows one writer at a
// time; queuing in Go is cheaper than busy retries) and a reader pool.
type DB struct {
	write *sql.DB
	read  *sql.DB
	Path  string
	Now   pressluft.Clock
	key   []byte
}

// NewDB returns a DB for the file at path; call Open next.
func NewDB(path string) *DB {
	return &DB{Path: path, Now: func() time.Time { return time.Now().UTC() }}
}

func dsn(path string, immediate bool) string {
	// busy_timeout comes first so that the other pragmas wait for locks too.
	v := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)" +
		"&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)&_time_format=sqlite"
	if immediate {
		v += "&_txlock=immediate"
	}
	return v
}

// Open opens both pools and applies pending migrations.
func (db *DB) Open() error {
	if db.Path == "" {
		return fmt.Errorf("database path required")
	}
	if err := os.MkdirAll(filepath.Dir(db.Path), 0o700); err != nil {
		return err
	}
	if err := createPrivate(db.Path); err != nil {
		return err
	}
	var err error
	if db.write, err = sql.Open("sqlite", dsn(db.Path, true)); err != nil {
		return err
	}
	db.write.SetMaxOpenConns(1)
	db.write.SetConnMaxLifetime(0)
	if db.read, err = sql.Open("sqlite", dsn(db.Path, false)); err != nil {
		return err
	}
	db.read.SetMaxOpenConns(8)
	if err := db.migrate(); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// CheckDataDir refuses a data directory that other users can enter: it
// holds the database and the secret key.
func CheckDataDir(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("data directory %s: mode %o lets other users in, and it holds the database and the secret key; chmod 700 it",
			dir, fi.Mode().Perm())
	}
	return nil
}

// createPrivate creates the database file 0600 before SQLite does (SQLite
// follows the umask, and gives the -wal and -shm files the database file's
// mode). Files of earlier versions are narrowed to 0600.
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	for _, name := range []string{path, path + "-wal", path + "-shm"} {
		if fi, err := os.Stat(name); err == nil && fi.Mode().Perm()&0o077 != 0 {
			if err := os.Chmod(name, 0o600); err != nil {
				return err
			}
		}
	}
	return nil
}

// Close closes both pools.
func (db *DB) Close() error {
	var err error
	if db.read != nil {
		err = db.read.Close()
	}
	if db.write != nil {
		if e := db.write.Close(); e != nil {
			err = e
		}
	}
	return err
}

func (db *DB) migrate() error {
	if _, err := db.write.Exec(`CREATE TABLE IF NOT EXISTS schema_migrations (version TEXT PRIMARY KEY, applied_at TEXT NOT NULL)`); err != nil {
		return err
	}
	names, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		if err := db.migrateFile(name); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

func (db *DB) migrateFile(name string) error {
	version := strings.TrimSuffix(filepath.Base(name), ".sql")
	tx, err := db.write.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRow(`SELECT COUNT(*) FROM schema_migrations WHERE version = ?`, version).Scan(&n); err != nil {
		return err
	} else if n > 0 {
		return nil
	}
	body, err := migrationFS.ReadFile(name)
	if err != nil {
		return err
	}
	if _, err := tx.Exec(string(body)); err != nil {
		return err
	}
	if _, err := tx.Exec(`INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`, version, db.Now().Format(timeFormat)); err != nil {
		return err
	}
	return tx.Commit()
}

// Tx wraps a write transaction with the time captured once for it.
type Tx struct {
	*sql.Tx
	db  *DB
	now time.Time
}

// BeginTx starts a write transaction (BEGIN IMMEDIATE).
func (db *DB) BeginTx(ctx context.Context) (*Tx, error) {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	return &Tx{Tx: tx, db: db, now: db.Now().UTC()}, nil
}

// rowQuerier is a transaction or the reader pool.
type rowQuerier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// ts formats a time for storage.
func ts(t time.Time) string { return t.UTC().Format(timeFormat) }

// nullTS formats an optional time.
func nullTS(t *time.Time) any {
	if t == nil || t.IsZero() {
		return nil
	}
	return ts(*t)
}

// parseTS parses a stored time.
func parseTS(s string) time.Time {
	t, _ := time.Parse(timeFormat, s)
	return t
}

// parseNullTS parses an optional stored time.
func parseNullTS(s sql.NullString) *time.Time {
	if !s.Valid || s.String == "" {
		return nil
	}
	t := parseTS(s.String)
	return &t
}

// limit clamps a page size.
func limit(n int) int {
	if n <= 0 {
		return 50
	}
	return min(n, 500)
}

// isUniqueViolation reports a UNIQUE constraint failure.
func isUniqueViolation(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE
}
