package main

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestLockRefusesASecondSandbox(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "demo.lock")
	l, err := acquireLock(path, "/srv/a")
	if err != nil {
		t.Fatal(err)
	}
	// Held: even the same data directory is refused.
	if _, err := acquireLock(path, "/srv/a"); !errors.Is(err, errBusy) {
		t.Fatalf("second acquire while held: %v, want errBusy", err)
	}
	if err := l.release(); err != nil {
		t.Fatal(err)
	}
	// Released, and the owner (this process) alive: another data dir is refused...
	if _, err := acquireLock(path, "/srv/b"); !errors.Is(err, errOtherSandbox) {
		t.Fatalf("other data dir while the owner lives: %v, want errOtherSandbox", err)
	}
	// ...the same one reuses the sandbox.
	l, err = acquireLock(path, "/srv/a")
	if err != nil {
		t.Fatalf("same data dir: %v", err)
	}
	if err := l.remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("lock file after remove: %v", err)
	}
}

func TestLockOfADeadOwnerIsTakenOver(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "demo.lock")
	// A PID above the kernel's maximum never belongs to a live process.
	if err := os.WriteFile(path, []byte("99999999\n/srv/gone\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := acquireLock(path, "/srv/new")
	if err != nil {
		t.Fatalf("stale lock: %v", err)
	}
	defer l.release()
	b, _ := os.ReadFile(path)
	if o := readOwner(l.f); o.PID != os.Getpid() || o.DataDir != "/srv/new" {
		t.Fatalf("owner after takeover: %+v (%q)", o, b)
	}
}
