package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/pressluft/pressluft/e2e/testnode"
)

// up brings every part of the sandbox up, reusing each one that already is.
func (s *sandbox) up(ctx context.Context) error {
	lk, err := acquireLock(lockPath, s.dataDir)
	if err != nil {
		return err
	}
	defer lk.release()
	if err := os.MkdirAll(s.dataDir, 0o700); err != nil {
		return err
	}
	if err := s.loadState(); err != nil {
		return err
	}

	// A data directory whose node is gone (the machine restarted) cannot be
	// reused: the control plane pinned that node's host key.
	n, _ := testnode.Load(nodeName)
	nodeOurs := n != nil && n.Running() && s.state.NodeIP == n.IP
	if !nodeOurs && s.state.NodeIP != "" {
		s.say("sandbox", "the node of the last run is gone; starting over with a fresh data directory")
		if _, err := s.stopControlPlane(); err != nil {
			return err
		}
		if err := os.RemoveAll(s.dataDir); err != nil {
			return err
		}
		if err := os.MkdirAll(s.dataDir, 0o700); err != nil {
			return err
		}
		s.state = state{}
	}

	if _, err := os.Stat(testnode.BaseDir); err != nil {
		s.say("base tree", "building the cached Debian 12 tree for nodes (once, about 2 minutes)")
		if _, err := testnode.Base(ctx); err != nil {
			return err
		}
		s.say("base tree", "ready in %s", testnode.BaseDir)
	}

	password, err := s.ensureAdmin(ctx)
	if err != nil {
		return err
	}
	if err := s.upControlPlane(ctx); err != nil {
		return err
	}
	if err := lk.record(s.state.PID); err != nil {
		return err
	}
	a, err := login(ctx, s.baseURL(), adminEmail, password)
	if err != nil {
		return err
	}

	if nodeOurs {
		s.say("node", "%s is running at %s", nodeName, n.IP)
	} else if n, err = s.bootNode(ctx, a); err != nil {
		return err
	}
	nodeID, err := s.provisionNode(ctx, a, n.IP)
	if err != nil {
		return err
	}
	previewURL, wpPassword, err := s.upSite(ctx, a, nodeID)
	if err != nil {
		return err
	}

	u, err := url.Parse(previewURL)
	if err != nil {
		return err
	}
	if _, err := setHosts(hostsFile, map[string]string{u.Hostname(): n.IP}); err != nil {
		return err
	}
	s.say("host names", "%s → %s in %s (marked block)", u.Hostname(), n.IP, hostsFile)
	if err := s.checkSite(ctx, previewURL); err != nil {
		return err
	}
	s.summary(password, previewURL, wpPassword)
	return nil
}

func (s *sandbox) upControlPlane(ctx context.Context) error {
	if s.cpRunning() && s.cpOutdated() {
		s.say("control plane", "restarting pid %d: its binary was rebuilt", s.state.PID)
		if _, err := s.stopControlPlane(); err != nil {
			return err
		}
	}
	if s.cpRunning() && s.healthy(ctx) {
		s.say("control plane", "running on %s (pid %d)", s.baseURL(), s.state.PID)
		return nil
	}
	if err := s.startControlPlane(ctx); err != nil {
		return err
	}
	s.say("control plane", "started on %s (pid %d, SQLite in %s)", s.baseURL(), s.state.PID, s.dataDir)
	return nil
}

// bootNode starts the disposable node with the control plane's key
// authorised, through the harness's command so that its apt proxy runs in
// the background for as long as the node does.
func (s *sandbox) bootNode(ctx context.Context, a *api) (*testnode.Node, error) {
	if old, err := testnode.Load(nodeName); err == nil {
		s.say("node", "removing %s left by another run", old.Name)
		if err := testnode.Down(ctx, nodeName); err != nil {
			return nil, err
		}
	}
	var key struct {
		PublicKey string `json:"public_key"`
	}
	if err := a.do(ctx, "GET", "/api/nodes/ssh-key", nil, &key); err != nil {
		return nil, err
	}
	keyFile := filepath.Join(s.dataDir, "control-plane.pub")
	if err := os.WriteFile(keyFile, []byte(key.PublicKey+"\n"), 0o600); err != nil {
		return nil, err
	}
	s.say("node", "booting %s (systemd-nspawn, its own network namespace)", nodeName)
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, filepath.Join(s.binDir, "pressluft-testnode"), "up", nodeName, "--authorize-key", keyFile)
	cmd.Stderr = &stderr
	if _, err := cmd.Output(); err != nil {
		return nil, fmt.Errorf("boot %s: %v: %s", nodeName, err, strings.TrimSpace(stderr.String()))
	}
	n, err := testnode.Load(nodeName)
	if err != nil {
		return nil, err
	}
	s.state.NodeIP = n.IP
	if err := s.saveState(); err != nil {
		return nil, err
	}
	s.say("node", "%s up at %s", nodeName, n.IP)
	return n, nil
}

// provisionNode adds the node to the control plane and provisions it,
// unless that was done before.
func (s *sandbox) provisionNode(ctx context.Context, a *api, ip string) (string, error) {
	nodes, err := list[node](ctx, a, "/api/nodes")
	if err != nil {
		return "", err
	}
	var nd *node
	for i := range nodes {
		if nodes[i].Name == cpNodeName {
			nd = &nodes[i]
		}
	}
	if nd == nil {
		nd = &node{}
		if err := a.do(ctx, "POST", "/api/nodes", map[string]any{"name": cpNodeName, "host": ip, "ssh_port": 22, "ssh_user": "root"}, nd); err != nil {
			return "", err
		}
		s.say("add node", "%q added through the API (root@%s)", cpNodeName, ip)
	}
	if nd.Status == "active" {
		s.say("provision", "node %q is provisioned", cpNodeName)
		return nd.ID, nil
	}
	var queued struct {
		JobID string `json:"job_id"`
	}
	if running, err := a.unfinishedJob(ctx, "type=node_provision&node_id="+nd.ID); err != nil {
		return "", err
	} else if running != nil {
		queued.JobID = running.ID // left going by an interrupted run
	} else if err := a.do(ctx, "POST", "/api/nodes/"+nd.ID+"/provision", nil, &queued); err != nil {
		return "", err
	}
	start := time.Now()
	s.say("provision", "job %s: nginx, PHP-FPM, MariaDB, firewall (several minutes the first time)", queued.JobID)
	j, err := a.waitJob(ctx, queued.JobID, s.showEvent("provision"))
	if err != nil {
		return "", err
	}
	if j.Status != "succeeded" {
		return "", jobFailure(j)
	}
	s.say("provision", "done in %s", time.Since(start).Round(time.Second))
	return nd.ID, nil
}

// showEvent prints a job's events as they come: each task when it starts
// (a long one shows what is being waited for), and any outcome other than
// the usual OK, Changed or Skipped.
func (s *sandbox) showEvent(stage string) func(jobEvent) {
	return func(e jobEvent) {
		switch e.Message {
		case "Running.":
			s.say(stage, "  %s …", e.Step)
		case "OK.", "Changed.", "Skipped.":
		default:
			s.say(stage, "  %s: %s", e.Step, e.Message)
		}
	}
}

func jobFailure(j *job) error {
	msg := fmt.Sprintf("job %s (%s) %s: %s %s", j.ID, j.Type, j.Status, j.ErrorCode, j.ErrorMessage)
	if j.OutputTail != "" {
		msg += "\n--- output (last lines) ---\n" + j.OutputTail
	}
	return errors.New(msg)
}

// upSite creates the demo site unless it exists, and returns its
// production URL and the WordPress administrator's password.
func (s *sandbox) upSite(ctx context.Context, a *api, nodeID string) (string, string, error) {
	passFile := filepath.Join(s.dataDir, "wordpress-admin-password")
	sites, err := list[site](ctx, a, "/api/sites")
	if err != nil {
		return "", "", err
	}
	for _, st := range sites {
		if st.Slug != siteSlug {
			continue
		}
		if running, err := a.unfinishedJob(ctx, "site_id="+st.ID); err != nil {
			return "", "", err
		} else if running != nil {
			s.say("site", "job %s (%s) of an interrupted run is still going", running.ID, running.Type)
			if _, err := a.waitJob(ctx, running.ID, s.showEvent("site")); err != nil {
				return "", "", err
			}
			if err := a.do(ctx, "GET", "/api/sites/"+st.ID, nil, &st); err != nil {
				return "", "", err
			}
		}
		envs, err := list[environment](ctx, a, "/api/sites/"+st.ID+"/environments")
		if err != nil {
			return "", "", err
		}
		pw, _ := os.ReadFile(passFile)
		for _, env := range envs {
			if env.Type == "production" && env.Status == "active" && st.Status == "active" && len(pw) > 0 {
				s.say("site", "%q is live", siteSlug)
				return env.PreviewURL, strings.TrimSpace(string(pw)), nil
			}
		}
		// Half made (a failed or interrupted run): remove it and start again.
		s.say("site", "removing %q (status %s) to create it again", siteSlug, st.Status)
		var queued struct {
			JobID string `json:"job_id"`
		}
		if err := a.do(ctx, "DELETE", "/api/sites/"+st.ID, nil, &queued); err != nil {
			return "", "", err
		}
		if j, err := a.waitJob(ctx, queued.JobID, s.showEvent("site")); err != nil {
			return "", "", err
		} else if j.Status != "succeeded" {
			return "", "", jobFailure(j)
		}
	}

	var created struct {
		JobID         string `json:"job_id"`
		EnvironmentID string `json:"environment_id"`
		AdminUser     string `json:"admin_user"`
		AdminPassword string `json:"admin_password"`
	}
	if err := a.do(ctx, "POST", "/api/sites", map[string]any{"name": "Demo", "slug": siteSlug, "node_id": nodeID,
		"title": siteTitle, "admin_email": "admin@example.com"}, &created); err != nil {
		return "", "", err
	}
	if err := os.WriteFile(passFile, []byte(created.AdminPassword+"\n"), 0o600); err != nil {
		return "", "", err
	}
	start := time.Now()
	s.say("site", "job %s: WordPress %q with its own user, PHP-FPM pool and database", created.JobID, siteTitle)
	j, err := a.waitJob(ctx, created.JobID, s.showEvent("site"))
	if err != nil {
		return "", "", err
	}
	if j.Status != "succeeded" {
		return "", "", fmt.Errorf("%w\nthe control plane and the node stay up: 'make demo' tries again, 'make demo-down' removes them", jobFailure(j))
	}
	var env environment
	if err := a.do(ctx, "GET", "/api/environments/"+created.EnvironmentID, nil, &env); err != nil {
		return "", "", err
	}
	s.say("site", "created in %s", time.Since(start).Round(time.Second))
	return env.PreviewURL, created.AdminPassword, nil
}

// checkSite fetches the site the way a browser on this machine would:
// through /etc/hosts, not DNS.
func (s *sandbox) checkSite(ctx context.Context, previewURL string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", previewURL+"/", nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("the site does not answer: %w", err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if res.StatusCode != 200 || !bytes.Contains(body, []byte(html.EscapeString(siteTitle))) {
		return fmt.Errorf("%s answered %d without the title %q", previewURL, res.StatusCode, siteTitle)
	}
	s.say("check", "%s/ answers 200 with the title %q", previewURL, siteTitle)
	return nil
}

func (s *sandbox) summary(password, previewURL, wpPassword string) {
	fmt.Printf(`
Sandbox ready in %s.

  Dashboard       %s
                  %s / %s
  Site            %s/
  WordPress admin %s/wp-admin/
                  admin / %s

The control plane runs in the background (pid %d, log %s).
'make demo' again reuses all of it; 'make demo-down' removes the node, the
host entries and the data directory.
`, time.Since(s.started).Round(100*time.Millisecond), s.baseURL(), adminEmail, password,
		previewURL, previewURL, wpPassword, s.state.PID, filepath.Join(s.dataDir, "pressluft.log"))
}
