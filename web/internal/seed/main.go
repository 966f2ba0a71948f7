// Command seed fills a control plane's data directory with the fixture the
// dashboard's browser tests and benchmark run against: an admin, nodes in
// several states, sites with environments, releases and backups, and
// finished jobs.
// It runs next to a serving control plane (SQLite allows it), after its
// first node probe, so the fixture's unreachable addresses keep the states
// written here.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/pressluft/pressluft"
	"github.com/pressluft/pressluft/sqlite"
)

func main() {
	dataDir := flag.String("data-dir", "", "the control plane's data directory")
	sites := flag.Int("sites", 3, "number of sites")
	flag.Parse()
	if err := run(context.Background(), *dataDir, *sites); err != nil {
		fmt.Fprintln(os.Stderr, "seed:", err)
		os.Exit(1)
	}
}

// Fixture names the ids the tests look for; printed as JSON.
type Fixture struct {
	ActiveNode    string `json:"active_node"`
	BrokenNode    string `json:"broken_node"`
	Site          string `json:"site"`
	Staging       string `json:"staging"`
	RetriedJob    string `json:"retried_job"`
	Production    string `json:"production"`
	Backup        string `json:"backup"`
	FailedBackup  string `json:"failed_backup"`
	FailedJob     string `json:"failed_job"`
	AdminEmail    string `json:"admin_email"`
	AdminPassword string `json:"admin_password"`

	// The staging environment's releases.
	Releases Releases `json:"releases"`
}

const (
	adminEmail    = "ops@example.com"
	adminPassword = "correct horse"
)

// brokenError is long on purpose: the dashboard shows node errors in full.
const brokenError = "dial tcp 127.0.0.2:1: connect: connection refused (the node did not answer on its SSH port; check the firewall and that sshd runs)"

var siteNames = []string{"Acme Shop", "Field Notes Blog", "Docs Portal"}

func run(ctx context.Context, dir string, n int) error {
	if dir == "" {
		return fmt.Errorf("-data-dir is required")
	}
	key, err := sqlite.LoadOrCreateKey(filepath.Join(dir, "secret.key"))
	if err != nil {
		return err
	}
	db := sqlite.NewDB(filepath.Join(dir, "pressluft.db"))
	db.SetKey(key)
	if err := db.Open(); err != nil {
		return err
	}
	defer db.Close()
	jobs := sqlite.NewJobService(db)
	nodes, siteSvc := sqlite.NewNodeService(db, jobs), sqlite.NewSiteService(db, jobs)
	if _, err := sqlite.NewAuthService(db).CreateUser(ctx, adminEmail, adminPassword); err != nil {
		return err
	}
	fx := Fixture{AdminEmail: adminEmail, AdminPassword: adminPassword}

	// Port 1 refuses connections at once: jobs started on these nodes fail fast.
	active := &pressluft.Node{Name: "web-1", Host: "127.0.0.1", SSHPort: 1, SSHUser: "root"}
	broken := &pressluft.Node{Name: "db-2", Host: "127.0.0.2", SSHPort: 1, SSHUser: "deploy"}
	retired := &pressluft.Node{Name: "old-box", Host: "127.0.0.3", SSHPort: 1, SSHUser: "root"}
	for _, nd := range []*pressluft.Node{active, broken, retired} {
		if err := nodes.CreateNode(ctx, nd); err != nil {
			return err
		}
	}
	fx.ActiveNode, fx.BrokenNode = active.ID, broken.ID
	now := time.Now().UTC()
	exec := func(q string, args ...any) error {
		tx, err := db.BeginTx(ctx)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
		return tx.Commit()
	}
	if err := exec(`UPDATE nodes SET status = 'active', os_name = 'Debian GNU/Linux', os_version = '12', nginx_version = '1.22.1',
		php_version = '8.2.29', mariadb_version = '10.11.14', redis_version = '7.0.15', last_seen_at = ?,
		host_key_fingerprint = 'SHA256:3q2+7wAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' WHERE id = ?`, stamp(now.Add(-time.Minute)), active.ID); err != nil {
		return err
	}
	if err := exec(`UPDATE nodes SET status = 'unreachable', last_seen_at = ?, last_error = ? WHERE id = ?`, stamp(now.Add(-3*time.Hour)),
		brokenError, broken.ID); err != nil {
		return err
	}
	if err := exec(`UPDATE nodes SET status = 'decommissioned' WHERE id = ?`, retired.ID); err != nil {
		return err
	}

	for i := 0; i < n; i++ {
		name := fmt.Sprintf("Site %03d", i+1)
		if i < len(siteNames) {
			name = siteNames[i]
		}
		created, err := siteSvc.CreateSite(ctx, pressluft.SiteCreate{Name: name, Slug: fmt.Sprintf("site%03d", i+1), NodeID: active.ID,
			AdminEmail: adminEmail})
		if err != nil {
			return err
		}
		s := created.Site
		at := now.Add(-time.Duration(n-i) * time.Hour)
		if err := exec(`UPDATE sites SET status = 'active' WHERE id = ?`, s.ID); err != nil {
			return err
		}
		if err := exec(`UPDATE environments SET status = 'active', current_release_id = 'r1' WHERE site_id = ?`, s.ID); err != nil {
			return err
		}
		if err := finishJob(exec, created.Job.ID, at, at.Add(48*time.Second), 1, map[string]any{
			"release_id": "r1", "installed": true, "db_ok": true, "wp_version": "6.1.9", "php_version": "8.2.29",
		}); err != nil {
			return err
		}
		if i == 0 {
			fx.Site = s.ID
		}
	}
	if n == 0 {
		return emit(fx)
	}

	// A staging copy whose job succeeded on its second attempt, 75 s after it
	// first started, with values the URL rewrite could not parse.
	site, err := siteSvc.FindSiteByID(ctx, fx.Site)
	if err != nil {
		return err
	}
	// Backups first: the staging copy below stays the site's latest job.
	prod, err := siteSvc.FindEnvironmentByID(ctx, site.ProductionEnvironmentID)
	if err != nil {
		return err
	}
	fx.Production = prod.ID
	backups, err := seedBackups(ctx, db, jobs, exec, prod, now)
	if err != nil {
		return err
	}
	fx.Backup, fx.FailedBackup = backups.Full, backups.Failed
	env, job, err := siteSvc.CreateEnvironment(ctx, fx.Site, pressluft.EnvironmentCreate{Name: "Staging", Slug: "staging", Type: "staging",
		SourceEnvironmentID: site.ProductionEnvironmentID})
	if err != nil {
		return err
	}
	fx.Staging, fx.RetriedJob = env.ID, job.ID
	if err := exec(`UPDATE environments SET status = 'active', current_release_id = 'r1' WHERE id = ?`, env.ID); err != nil {
		return err
	}
	if err := exec(`UPDATE sites SET status = 'active' WHERE id = ?`, fx.Site); err != nil {
		return err
	}
	if fx.Releases, err = seedReleases(ctx, db, jobs, exec, env, now); err != nil {
		return err
	}
	first := now.Add(-10 * time.Minute)
	if err := finishJob(exec, job.ID, first.Add(74*time.Second), first.Add(75*time.Second), 2, map[string]any{
		"release_id": "r1", "copied": true,
		"search_replace": map[string]any{"hosts": []string{"site001-production.127.0.0.1.sslip.io"}, "cells": 1841, "unparseable": 3},
	}); err != nil {
		return err
	}
	if err := exec(`UPDATE jobs SET created_at = ? WHERE id = ?`, stamp(first.Add(-time.Second)), job.ID); err != nil {
		return err
	}
	if err := exec(`UPDATE job_events SET time = ? WHERE job_id = ?`, stamp(first.Add(-time.Second)), job.ID); err != nil {
		return err
	}
	for _, ev := range []struct {
		at          time.Duration
		step, level string
		message     string
	}{
		{0, "copy", "info", "Copying files and database from production."},
		{20 * time.Second, "retry", "warn", "Attempt 1 failed (node_unreachable): the node did not answer. Retrying."},
		{74 * time.Second, "copy", "info", "Copying files and database from production."},
		{75 * time.Second, "done", "info", "Staging is ready."},
	} {
		if err := exec(`INSERT INTO job_events (job_id, step, level, message, time) VALUES (?, ?, ?, ?, ?)`,
			job.ID, ev.step, ev.level, ev.message, stamp(first.Add(ev.at))); err != nil {
			return err
		}
	}

	// A provisioning run that failed for good on the broken node.
	failed, err := nodes.ProvisionNode(ctx, broken.ID)
	if err != nil {
		return err
	}
	fx.FailedJob = failed.ID
	if err := exec(`UPDATE jobs SET status = 'failed', attempt = max_attempts, error_code = 'node_unreachable',
		error_message = 'The node did not answer on 127.0.0.2:1.', created_at = ?, started_at = ?, finished_at = ?, updated_at = ?,
		output_tail = 'ssh: connect to host 127.0.0.2 port 1: Connection refused' WHERE id = ?`,
		stamp(now.Add(-2*time.Hour-time.Second)), stamp(now.Add(-2*time.Hour)), stamp(now.Add(-2*time.Hour+3*time.Second)), stamp(now), failed.ID); err != nil {
		return err
	}
	if err := exec(`UPDATE job_events SET time = ? WHERE job_id = ?`, stamp(now.Add(-2*time.Hour-time.Second)), failed.ID); err != nil {
		return err
	}
	if err := exec(`UPDATE nodes SET status = 'unreachable', last_error = ? WHERE id = ?`, brokenError, broken.ID); err != nil {
		return err
	}
	return emit(fx)
}

func finishJob(exec func(string, ...any) error, id string, started, finished time.Time, attempt int, result map[string]any) error {
	b, err := json.Marshal(result)
	if err != nil {
		return err
	}
	return exec(`UPDATE jobs SET status = 'succeeded', attempt = ?, result = ?, started_at = ?, finished_at = ?, updated_at = ?,
		output_tail = 'PLAY RECAP *** ok=24 changed=11 failed=0' WHERE id = ?`, attempt, string(b), stamp(started), stamp(finished), stamp(finished), id)
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000000Z") }

func emit(fx Fixture) error {
	return json.NewEncoder(os.Stdout).Encode(fx)
}
