//go:build e2e

package e2e

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pressluft/pressluft"
	"github.com/pressluft/pressluft/e2e/testnode"
	"github.com/pressluft/pressluft/sqlite"
)

// soakPrepare makes, after the soak, what a kind needs that the warm-up
// kinds do not make: a promotion needs a staging copy whose source has not
// changed since (production saw deploys and restores during the soak) and a
// clean drift check of it.
var soakPrepare = map[string]func(sk *soak, a *api){
	pressluft.JobEnvPromote: func(sk *soak, a *api) {
		for _, it := range a.must("GET", "/api/sites", nil, 200)["items"].([]any) {
			site := it.(map[string]any)
			if site["status"] != "active" {
				continue
			}
			n := sk.nextName()
			acc := a.must("POST", "/api/sites/"+str(site["id"])+"/environments", map[string]any{"name": fmt.Sprintf("Staging %d", n),
				"slug": fmt.Sprintf("s%d", n), "type": "staging", "source_environment_id": str(site["production_environment_id"])}, 202)
			if job := a.waitJob(str(acc["job_id"]), 15*time.Minute); job["status"] != "succeeded" {
				sk.t.Logf("a staging copy for a promotion failed:\n%s", describeJob(job))
				return
			}
			check := a.must("POST", "/api/environments/"+str(acc["environment_id"])+"/drift-check", nil, 202)
			job := a.waitJob(str(check["job_id"]), 5*time.Minute)
			if job["status"] != "succeeded" {
				sk.t.Logf("a drift check for a promotion failed:\n%s", describeJob(job))
			} else {
				sk.t.Logf("a fresh staging copy of %v to promote: drift check %v", site["name"], job["result"].(map[string]any)["result"])
			}
			return
		}
	},
}

// soakKinds says how the crash soak starts a job of each kind, the way a
// user or the scheduler does. Each returns what it started (a job id, or
// what it made due), or "" when the soak's state offers nothing to act on
// now. A kind without an entry fails the soak: adding a kind adds its entry.
var soakKinds = map[string]func(sk *soak, st *soakState) (string, error){
	pressluft.JobNodeProvision: func(sk *soak, st *soakState) (string, error) {
		if st.inFlight[pressluft.JobNodeProvision] > 0 || !oneOf(st.node["status"], "active", "failed", "unreachable") {
			return "", nil
		}
		return sk.startJob("POST", "/api/nodes/"+sk.nodeID+"/provision", nil)
	},
	pressluft.JobNodeCheck: func(sk *soak, st *soakState) (string, error) {
		if st.inFlight[pressluft.JobNodeCheck] > 0 {
			return "", nil
		}
		return sk.startJob("POST", "/api/nodes/"+sk.nodeID+"/check", nil)
	},
	pressluft.JobSiteCreate: func(sk *soak, st *soakState) (string, error) {
		if st.node["status"] != "active" || len(st.sites) >= soakMaxSites {
			return "", nil
		}
		n := sk.nextName()
		return sk.startJob("POST", "/api/sites", map[string]any{"name": soakTitle(n), "title": soakTitle(n),
			"slug": fmt.Sprintf("sk%d", n), "node_id": sk.nodeID, "admin_email": "ops@example.com"})
	},
	pressluft.JobEnvCreate: func(sk *soak, st *soakState) (string, error) {
		site := st.pick(sk.rng, func(site map[string]any, envs []map[string]any) bool {
			return site["status"] == "active" && len(envs) < soakMaxEnvs && envs[0]["status"] == "active"
		})
		if site == nil {
			return "", nil
		}
		n := sk.nextName()
		return sk.startJob("POST", "/api/sites/"+str(site["id"])+"/environments", map[string]any{"name": fmt.Sprintf("Staging %d", n),
			"slug": fmt.Sprintf("s%d", n), "type": "staging", "source_environment_id": str(site["production_environment_id"])})
	},
	pressluft.JobEnvDelete: func(sk *soak, st *soakState) (string, error) {
		site := st.pick(sk.rng, func(_ map[string]any, envs []map[string]any) bool {
			return len(envs) > 1 && oneOf(envs[len(envs)-1]["status"], "active", "failed")
		})
		if site == nil {
			return "", nil
		}
		envs := soakEnvs(site)
		return sk.startJob("DELETE", "/api/environments/"+str(envs[len(envs)-1]["id"]), nil)
	},
	pressluft.JobSiteDelete: func(sk *soak, st *soakState) (string, error) {
		if len(st.sites) < 3 { // keep sites for the other kinds to work on
			return "", nil
		}
		site := st.pick(sk.rng, func(_ map[string]any, envs []map[string]any) bool {
			for _, e := range envs {
				if !oneOf(e["status"], "active", "failed") {
					return false
				}
			}
			return true
		})
		if site == nil {
			return "", nil
		}
		return sk.startJob("DELETE", "/api/sites/"+str(site["id"]), nil)
	},
	pressluft.JobSessionCleanup: func(sk *soak, st *soakState) (string, error) {
		return sk.periodicDue(st, pressluft.JobSessionCleanup)
	},
	pressluft.JobBackupCleanup: func(sk *soak, st *soakState) (string, error) {
		return sk.periodicDue(st, pressluft.JobBackupCleanup)
	},
	pressluft.JobBackupCreate: func(sk *soak, st *soakState) (string, error) {
		env := st.pickEnv(sk.rng, func(env map[string]any) bool { return env["status"] == "active" })
		if env == nil {
			return "", nil
		}
		// With the offsite target set every new backup goes offsite; without
		// it, backups stay on the node for backup_upload to copy.
		if st.offsite && len(st.backups(func(b map[string]any) bool { return b["status"] == "completed" && b["location"] == "node" })) == 0 {
			if code, m, err := sk.do("DELETE", "/api/settings/offsite", nil); err != nil {
				return "", fmt.Errorf("%w: %v", errCut, err)
			} else if code != http.StatusNoContent {
				sk.unexpected("DELETE /api/settings/offsite", code, m)
				return "", nil
			}
		}
		scope := []string{"full", "db", "files"}[sk.rng.IntN(3)]
		return sk.startJob("POST", "/api/environments/"+str(env["id"])+"/backups", map[string]any{"scope": scope})
	},
	pressluft.JobBackupUpload: func(sk *soak, st *soakState) (string, error) {
		b := pickOne(sk.rng, st.backups(func(b map[string]any) bool {
			return b["status"] == "completed" && b["location"] == "node" && !st.busy[str(b["site_id"])]
		}))
		if b == nil {
			return "", nil
		}
		if !st.offsite {
			if code, m, err := sk.do("PUT", "/api/settings/offsite", sk.offsite); err != nil {
				return "", fmt.Errorf("%w: %v", errCut, err)
			} else if code != http.StatusOK {
				sk.unexpected("PUT /api/settings/offsite", code, m)
				return "", nil
			}
		}
		return sk.startJob("POST", "/api/backups/"+str(b["id"])+"/upload", nil)
	},
	pressluft.JobBackupDelete: func(sk *soak, st *soakState) (string, error) {
		b := pickOne(sk.rng, st.backups(func(b map[string]any) bool {
			return oneOf(b["status"], "completed", "failed") && !st.busy[str(b["site_id"])]
		}))
		if b == nil {
			return "", nil
		}
		return sk.startJob("DELETE", "/api/backups/"+str(b["id"]), nil)
	},
	pressluft.JobEnvRestore: func(sk *soak, st *soakState) (string, error) {
		env := st.pickEnv(sk.rng, func(env map[string]any) bool {
			return env["status"] == "active" && len(st.backups(func(b map[string]any) bool {
				return b["status"] == "completed" && b["site_id"] == env["site_id"]
			})) > 0
		})
		if env == nil {
			return "", nil
		}
		b := pickOne(sk.rng, st.backups(func(b map[string]any) bool { return b["status"] == "completed" && b["site_id"] == env["site_id"] }))
		return sk.startJob("POST", "/api/environments/"+str(env["id"])+"/restore", map[string]any{"backup_id": str(b["id"])})
	},
	pressluft.JobEnvDeploy: func(sk *soak, st *soakState) (string, error) {
		env := st.pickEnv(sk.rng, func(env map[string]any) bool { return env["status"] == "active" })
		if env == nil {
			return "", nil
		}
		return sk.startJob("POST", "/api/environments/"+str(env["id"])+"/deploy", map[string]any{"source_type": "archive",
			"archive_url": sk.content + "/wp-content.tar.gz"})
	},
	pressluft.JobEnvUpdate: func(sk *soak, st *soakState) (string, error) {
		env := st.pickEnv(sk.rng, func(env map[string]any) bool { // where a deploy put the plugin
			return env["status"] == "active" && oneOf(st.current(env)["source"], pressluft.ReleaseArchive, pressluft.ReleaseUpdate)
		})
		if env == nil {
			return "", nil
		}
		return sk.startJob("POST", "/api/environments/"+str(env["id"])+"/updates", map[string]any{"scope": "plugins",
			"items": []string{soakPlugin}, "package_url": sk.content + "/" + soakPlugin + ".zip"})
	},
	pressluft.JobReleaseRollback: func(sk *soak, st *soakState) (string, error) {
		env := st.pickEnv(sk.rng, func(env map[string]any) bool {
			return env["status"] == "active" && len(st.releases[str(env["id"])]) > 1
		})
		if env == nil {
			return "", nil
		}
		var earlier []map[string]any
		for _, r := range st.releases[str(env["id"])] {
			if r["id"] != env["current_release_id"] {
				earlier = append(earlier, r)
			}
		}
		return sk.startJob("POST", "/api/environments/"+str(env["id"])+"/rollback", map[string]any{
			"release_id": str(pickOne(sk.rng, earlier)["id"]), "restore_database": false})
	},
	pressluft.JobDriftCheck: func(sk *soak, st *soakState) (string, error) {
		env := st.pickEnv(sk.rng, func(env map[string]any) bool { return env["type"] == "staging" && env["status"] == "active" })
		if env == nil {
			return "", nil
		}
		return sk.startJob("POST", "/api/environments/"+str(env["id"])+"/drift-check", nil)
	},
	// Only where the gates let it through: a clean drift check of the last
	// 15 minutes (the drift_check kind gives those; soakPrepare when none
	// did). The newest such copy: an older one's source has more likely
	// changed since, which the job's own drift check refuses.
	pressluft.JobEnvPromote: func(sk *soak, st *soakState) (string, error) {
		var env map[string]any
		for _, site := range st.sites {
			if st.busy[str(site["id"])] {
				continue
			}
			for _, e := range soakEnvs(site) {
				if e["type"] != "staging" || e["status"] != "active" || (env != nil && str(e["id"]) < str(env["id"])) {
					continue
				}
				code, g, err := sk.do("GET", "/api/environments/"+str(e["id"])+"/promotion", nil)
				if drift, _ := g["drift"].(map[string]any); err == nil && code == http.StatusOK && drift["ok"] == true {
					env = e
				}
			}
		}
		if env == nil {
			return "", nil
		}
		return sk.startJob("POST", "/api/environments/"+str(env["id"])+"/promote", map[string]any{
			"target_environment_id": str(env["source_environment_id"]), "backup_first": true})
	},
	// No route enqueues it (it measures the engine's own cost): the store does.
	pressluft.JobNoop: func(sk *soak, st *soakState) (string, error) {
		var id string
		err := sk.withStore(func(db *sqlite.DB) error {
			j, err := sqlite.NewJobService(db).Enqueue(context.Background(), pressluft.NewJob{Type: pressluft.JobNoop})
			if err == nil {
				id = j.ID
			}
			return err
		})
		return id, err
	},
}

// periodicDue makes a periodic job's schedule due in the store; the
// control plane enqueues the run within its scheduler interval, or at its
// next start.
func (sk *soak) periodicDue(st *soakState, name string) (string, error) {
	if st.inFlight[name] > 0 {
		return "", nil
	}
	return "schedule made due", sk.withStore(func(db *sqlite.DB) error {
		tx, err := db.BeginTx(context.Background())
		if err != nil {
			return err
		}
		defer tx.Rollback()
		// In the store's own time format.
		now := time.Now().UTC().Format("2006-01-02T15:04:05.000000000Z")
		if _, err := tx.Exec(`UPDATE periodic_jobs SET next_run_at = ? WHERE name = ?`, now, name); err != nil {
			return err
		}
		return tx.Commit()
	})
}

func soakTitle(n int) string { return fmt.Sprintf("Soak Site %d", n) }

// soakPlugin is the plugin that deploys carry (version 1) and updates
// install (version 2).
const soakPlugin = "pl-soak"

// serveContent serves what deploys and updates download, on the node's
// host-side address: the node's own WordPress wp-content (its themes, so
// that a deployed site still shows its title) with the soak's plugin, as
// wp-content.tar.gz, and the plugin's next version as pl-soak.zip.
func serveContent(t *testing.T, node *testnode.Node) string {
	t.Helper()
	plugin := func(version string) []byte {
		return []byte("<?php\n/*\nPlugin Name: Pressluft soak\nVersion: " + version + "\n*/\n")
	}
	// Packed on the node: its WordPress tree is links into its packages.
	const pack = `set -e
d=/root/pl-soak
rm -rf "$d" && mkdir -p "$d/wp-content"
cp -aL /usr/local/lib/pressluft/wordpress-src/wp-content/. "$d/wp-content/"
rm -rf "$d/wp-content/uploads" && mkdir -p "$d/wp-content/plugins/pl-soak"
cat > "$d/wp-content/plugins/pl-soak/pl-soak.php"
tar -czf /root/pl-soak.tar.gz -C "$d" wp-content && rm -rf "$d"`
	cmd, err := node.Command(ctxFor(t, 5*time.Minute), "sh", "-c", pack)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdin = bytes.NewReader(plugin("1.0"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("pack the node's wp-content: %v\n%s", err, out)
	}
	tgz, err := os.ReadFile(filepath.Join(node.Root, "root/pl-soak.tar.gz"))
	if err != nil {
		t.Fatal(err)
	}
	var zipped bytes.Buffer
	zw := zip.NewWriter(&zipped)
	w, err := zw.Create(soakPlugin + "/" + soakPlugin + ".php")
	if err == nil {
		_, err = w.Write(plugin("2.0"))
	}
	if err := errors.Join(err, zw.Close()); err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{"/wp-content.tar.gz": tgz, "/" + soakPlugin + ".zip": zipped.Bytes()}
	ln, err := net.Listen("tcp", net.JoinHostPort(node.HostIP, "0"))
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write(b)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String()
}
