package nodeagent

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"time"

	"github.com/pressluft/pressluft/agent/protocol"
)

// serviceConfig is one config file a service reads (a vhost, a pool).
type serviceConfig struct {
	Path string
	Data []byte
	// Backup keeps the previous version while the new one is tested.
	Backup string
	// Pending marks a config written but not yet loaded: a run killed
	// between the two reloads on its next run.
	Pending string
	// TestAlone tests a candidate file on its own (the file is appended);
	// nil when the node has no such test.
	TestAlone []string
	// TestAll tests the service's whole configuration.
	TestAll []string
}

// installConfig puts c in place unless it is already there. The candidate
// is tested alone, then with the whole configuration; on rejection the
// previous version is back (or the new file gone) and the error is
// config_rejected with the tool's verdict. It reports whether the service
// needs a reload.
func (a *agent) installConfig(ctx context.Context, c serviceConfig) (bool, error) {
	if sameFile(c.Path, c.Data, 0o644) {
		if !exists(c.Pending) {
			return false, nil
		}
		// Written by a run that stopped before its test and reload.
		if _, err := a.run(ctx, command{argv: c.TestAll}); err != nil {
			return false, rejected(err)
		}
		return true, nil
	}
	backupDir := filepath.Dir(c.Backup)
	if err := os.MkdirAll(backupDir, 0o700); err != nil {
		return false, err
	}
	if c.TestAlone != nil {
		candidate := filepath.Join(backupDir, "."+filepath.Base(c.Backup)+".candidate")
		if err := writeFile(candidate, c.Data, 0o644, -1, -1); err != nil {
			return false, err
		}
		_, err := a.run(ctx, command{argv: append(append([]string(nil), c.TestAlone...), candidate)})
		os.Remove(candidate)
		if err != nil {
			return false, rejected(err)
		}
	}
	old, err := os.ReadFile(c.Path)
	hadOld := err == nil
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return false, err
	}
	if hadOld {
		if err := writeFile(c.Backup, old, 0o644, -1, -1); err != nil {
			return false, err
		}
	}
	if err := os.WriteFile(c.Pending, nil, 0o600); err != nil {
		return false, err
	}
	if err := writeFile(c.Path, c.Data, 0o644, -1, -1); err != nil {
		return false, err
	}
	if _, err := a.run(ctx, command{argv: c.TestAll}); err != nil {
		if hadOld {
			err2 := writeFile(c.Path, old, 0o644, -1, -1)
			err = errors.Join(rejected(err), err2)
		} else {
			_, err2 := removeFile(c.Path)
			err = errors.Join(rejected(err), err2)
		}
		os.Remove(c.Pending)
		return false, err
	}
	return true, nil
}

// rejected turns a failed test into config_rejected (a cancel stays one).
func rejected(err error) error {
	code, msg := errorCode(err)
	if code == protocol.ErrCancelled {
		return err
	}
	return &Error{Code: protocol.ErrConfigRejected, Message: msg + "; the previous configuration is in place"}
}

// reloadNginx reloads nginx after its configuration was tested.
func (a *agent) reloadNginx(ctx context.Context, node *nodeFacts) error {
	argv := []string{"nginx", "-s", "reload"}
	if node.Systemd {
		argv = []string{"systemctl", "reload", "nginx"}
	}
	_, err := a.run(ctx, command{argv: argv})
	return err
}

// reloadPHPFPM reloads PHP-FPM after its configuration was tested.
func (a *agent) reloadPHPFPM(ctx context.Context, node *nodeFacts) error {
	unit := "php" + node.PHPVersion + "-fpm"
	argv := []string{"service", unit, "reload"}
	if node.Systemd {
		argv = []string{"systemctl", "reload", unit}
	}
	_, err := a.run(ctx, command{argv: argv})
	return err
}

// waitForSocket waits until PHP-FPM opened the pool's socket.
func waitForSocket(ctx context.Context, path string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for !exists(path) {
		if time.Now().After(deadline) {
			return errorf(protocol.ErrCommandFailed, "PHP-FPM did not open %s within %s", path, limit)
		}
		select {
		case <-ctx.Done():
			return errorf(protocol.ErrCancelled, "cancelled while waiting for %s", path)
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil
}
