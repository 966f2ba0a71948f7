package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pressluft/pressluft"
	"github.com/pressluft/pressluft/http"
	"github.com/pressluft/pressluft/sqlite"
)

// apiServer is the real HTTP server on a fresh store, as the CLI meets it.
type apiServer struct {
	base, token string
	db          *sqlite.DB
	nodes       *sqlite.NodeService
	jobs        *sqlite.JobService
}

func newAPIServer(t *testing.T) *apiServer {
	t.Helper()
	dir := t.TempDir()
	key, err := sqlite.LoadOrCreateKey(filepath.Join(dir, "secret.key"))
	if err != nil {
		t.Fatal(err)
	}
	db := sqlite.NewDB(filepath.Join(dir, "pressluft.db"))
	db.SetKey(key)
	if err := db.Open(); err != nil {
		t.Fatal(err)
	}
	js := sqlite.NewJobService(db)
	s := http.NewServer(slog.New(slog.NewTextHandler(io.Discard, nil)))
	s.Auth, s.Audit, s.Jobs = sqlite.NewAuthService(db), sqlite.NewAuditService(db), js
	s.Nodes, s.Sites = sqlite.NewNodeService(db, js), sqlite.NewSiteService(db, js)
	s.Settings, s.Metrics = sqlite.NewSettingsService(db), sqlite.NewMetricsService(db)
	s.Backups, s.Releases = sqlite.NewBackupService(db, js), sqlite.NewReleaseService(db, js)
	s.PublicKey = func() string { return "ssh-ed25519 AAAATEST pressluft" }
	if err := s.Open("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(context.Background()); db.Close() })
	ctx := context.Background()
	u, err := s.Auth.CreateUser(ctx, "ops@example.com", "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	_, token, err := s.Auth.CreateAPIToken(ctx, u.ID, "test")
	if err != nil {
		t.Fatal(err)
	}
	return &apiServer{base: "http://" + s.Addr(), token: token, db: db, nodes: sqlite.NewNodeService(db, js), jobs: js}
}

// cliEnv runs commands with the given environment variables only.
type cliEnv struct {
	vars  map[string]string
	stdin string
}

func (ce cliEnv) run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	e := env{getenv: func(k string) string { return ce.vars[k] }, stdin: strings.NewReader(ce.stdin), out: &out, errOut: &errOut}
	err := runWith(context.Background(), args, e)
	return out.String(), err
}

func (ce cliEnv) must(t *testing.T, args ...string) string {
	t.Helper()
	out, err := ce.run(t, args...)
	if err != nil {
		t.Fatalf("pressluft %s: %s", strings.Join(args, " "), cliMessage(err))
	}
	return out
}

func writeConfig(t *testing.T, home string, c clientConfig, mode os.FileMode) {
	t.Helper()
	path := filepath.Join(home, ".config", "pressluft", "config.json")
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(c)
	if err := os.WriteFile(path, b, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

// The server and token come from the flags, else the environment, else the
// config file, each value on its own; a config file others can read is refused.
func TestCLI_ConfigPrecedence(t *testing.T) {
	t.Parallel()
	api := newAPIServer(t)
	home := t.TempDir()
	ce := cliEnv{vars: map[string]string{"HOME": home}}

	if _, err := ce.run(t, "node", "list"); err == nil || !strings.Contains(err.Error(), "no server") {
		t.Fatalf("without any configuration: %v", err)
	}
	writeConfig(t, home, clientConfig{Server: api.base, Token: api.token}, 0o600)
	if out := ce.must(t, "node", "list"); !strings.HasPrefix(out, "ID") {
		t.Fatalf("with the config file: %q", out)
	}
	// The environment wins over the file, the flag over both.
	ce.vars["PRESSLUFT_TOKEN"] = "plt_wrong"
	if _, err := ce.run(t, "node", "list"); pressluft.ErrorCode(err) != pressluft.EUnauthorized {
		t.Fatalf("PRESSLUFT_TOKEN did not take precedence over the file: %v", err)
	}
	ce.must(t, "node", "list", "--token", api.token)
	ce.vars["PRESSLUFT_SERVER"] = "http://127.0.0.1:1"
	if _, err := ce.run(t, "node", "list", "--token", api.token); err == nil || !strings.Contains(err.Error(), "cannot reach") {
		t.Fatalf("PRESSLUFT_SERVER did not take precedence over the file: %v", err)
	}
	ce.must(t, "node", "list", "--token", api.token, "--server", api.base)

	// XDG_CONFIG_HOME comes before ~/.config.
	xdg := t.TempDir()
	ce = cliEnv{vars: map[string]string{"HOME": home, "XDG_CONFIG_HOME": xdg}}
	if _, err := ce.run(t, "node", "list"); err == nil || !strings.Contains(err.Error(), filepath.Join(xdg, "pressluft", "config.json")) {
		t.Fatalf("with XDG_CONFIG_HOME: %v", err)
	}

	writeConfig(t, home, clientConfig{Server: api.base, Token: api.token}, 0o644)
	ce = cliEnv{vars: map[string]string{"HOME": home}}
	if _, err := ce.run(t, "node", "list"); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("a config file others can read: %v", err)
	}
	for _, bad := range []string{"ftp://x", "127.0.0.1:8080", "http://"} {
		if _, err := ce.run(t, "node", "list", "--server", bad, "--token", "x"); err == nil || !strings.Contains(err.Error(), "want http(s)") {
			t.Errorf("--server %q: %v", bad, err)
		}
	}
}

// login creates a token and saves it 0600; the next command uses it.
func TestCLI_Login(t *testing.T) {
	t.Parallel()
	api := newAPIServer(t)
	home := t.TempDir()
	ce := cliEnv{vars: map[string]string{"HOME": home}, stdin: "wrong password\n"}
	_, err := ce.run(t, "login", "--server", api.base, "--email", "ops@example.com", "--password-stdin")
	if pressluft.ErrorCode(err) != pressluft.EInvalidCreds {
		t.Fatalf("login with a wrong password: %v", err)
	}
	ce.stdin = "correct horse\n"
	ce.must(t, "login", "--server", api.base, "--email", "ops@example.com", "--password-stdin", "--token-name", "laptop")
	fi, err := os.Stat(filepath.Join(home, ".config", "pressluft", "config.json"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("config file: %v %v", fi, err)
	}
	if out := ce.must(t, "token", "list"); !strings.Contains(out, "laptop") {
		t.Fatalf("token list after login: %q", out)
	}
}

// API errors come back as the API's code and message; the commands print
// tables, or the answer itself with --json.
func TestCLI_Commands(t *testing.T) {
	t.Parallel()
	api := newAPIServer(t)
	ce := cliEnv{vars: map[string]string{"PRESSLUFT_SERVER": api.base, "PRESSLUFT_TOKEN": api.token}}

	if out := ce.must(t, "node", "ssh-key"); out != "ssh-ed25519 AAAATEST pressluft\n" {
		t.Fatalf("ssh-key: %q", out)
	}
	_, err := ce.run(t, "node", "add", "--name", "web", "--host", "bad host")
	if pressluft.ErrorCode(err) != pressluft.EValidation || !strings.HasSuffix(cliMessage(err), "(validation_failed)") {
		t.Fatalf("bad host: %v", err)
	}
	out := ce.must(t, "node", "add", "--name", "web", "--host", "10.77.1.2")
	nodeID := strings.TrimSuffix(strings.Fields(strings.SplitN(out, "(", 2)[1])[0], ");")
	if out := ce.must(t, "node", "get", nodeID); !strings.Contains(out, "root@10.77.1.2:22") || !strings.Contains(out, "pending") {
		t.Fatalf("node get: %q", out)
	}
	var raw map[string]any
	if err := json.Unmarshal([]byte(ce.must(t, "node", "get", "--json", nodeID)), &raw); err != nil || raw["id"] != nodeID {
		t.Fatalf("node get --json: %v %v", raw, err)
	}
	out = ce.must(t, "node", "provision", nodeID)
	jobID := strings.TrimSpace(strings.TrimPrefix(out, "queued job "))
	if out := ce.must(t, "job", "list", "--node", nodeID); !strings.Contains(out, jobID) || !strings.Contains(out, "node_provision") {
		t.Fatalf("job list: %q", out)
	}
	if out := ce.must(t, "node", "list"); !strings.Contains(out, "provisioning") {
		t.Fatalf("node list: %q", out)
	}
	_, err = ce.run(t, "site", "create", "--name", "Acme", "--slug", "acme", "--node", nodeID)
	if msg := cliMessage(err); msg != "Node is provisioning; provision it first. (node_not_active)" {
		t.Fatalf("site create on a node that is not active: %q", msg)
	}
	if out := ce.must(t, "job", "cancel", jobID); !strings.Contains(out, "cancelled") {
		t.Fatalf("job cancel: %q", out)
	}
	_, err = ce.run(t, "job", "cancel", jobID)
	if pressluft.ErrorCode(err) != pressluft.EJobNotCancellable {
		t.Fatalf("cancel twice: %v", err)
	}
	if _, err := ce.run(t, "job", "get", "not-an-id"); pressluft.ErrorCode(err) != pressluft.ENotFound {
		t.Fatalf("malformed id: %v", err)
	}
	if _, err := ce.run(t, "node", "frobnicate"); err == nil || !strings.Contains(err.Error(), "pressluft node provision") {
		t.Fatalf("unknown subcommand: %v", err)
	}
	if _, err := ce.run(t, "env", "list"); err == nil || !strings.Contains(err.Error(), "--site") {
		t.Fatalf("env list without --site: %v", err)
	}
}

// job wait prints the job's events and fails when the job fails.
func TestCLI_JobWait(t *testing.T) {
	t.Parallel()
	api := newAPIServer(t)
	ce := cliEnv{vars: map[string]string{"PRESSLUFT_SERVER": api.base, "PRESSLUFT_TOKEN": api.token}}
	ctx := context.Background()
	finish := func(fail bool) string {
		j, err := api.jobs.Enqueue(ctx, pressluft.NewJob{Type: pressluft.JobNoop, MaxAttempts: 1})
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			time.Sleep(300 * time.Millisecond)
			c, _ := api.jobs.Claim(ctx, "w", time.Minute)
			_ = api.jobs.AddEvent(ctx, c.ID, pressluft.JobEvent{Step: "work", Level: pressluft.LevelInfo, Message: "Working."})
			if fail {
				_, _ = api.jobs.Fail(ctx, c.ID, "w", pressluft.Errorf(pressluft.ECommandFailed, "it broke"), false)
			} else {
				_ = api.jobs.Complete(ctx, c.ID, "w", nil)
			}
		}()
		return j.ID
	}
	id := finish(false)
	out := ce.must(t, "job", "wait", id)
	if !strings.Contains(out, "work: Working.") || !strings.HasSuffix(out, "job "+id+" succeeded\n") {
		t.Fatalf("wait for a job that succeeds:\n%s", out)
	}
	id = finish(true)
	out, err := ce.run(t, "job", "wait", id)
	if pressluft.ErrorCode(err) != pressluft.ECommandFailed || !strings.Contains(cliMessage(err), "it broke") || !strings.Contains(out, "job "+id+" failed") {
		t.Fatalf("wait for a job that fails: %v\n%s", err, out)
	}
}

// delete --force forgets a site on a node that is gone and lists what may
// remain; it is refused while the node answers.
func TestCLI_Forget(t *testing.T) {
	t.Parallel()
	api := newAPIServer(t)
	ce := cliEnv{vars: map[string]string{"PRESSLUFT_SERVER": api.base, "PRESSLUFT_TOKEN": api.token}}
	ctx := context.Background()
	out := ce.must(t, "node", "add", "--name", "web", "--host", "10.77.1.2")
	nodeID := strings.TrimSuffix(strings.Fields(strings.SplitN(out, "(", 2)[1])[0], ");")
	if err := api.nodes.SetNodeStatus(ctx, nodeID, pressluft.NodeActive, ""); err != nil {
		t.Fatal(err)
	}
	out = ce.must(t, "site", "create", "--name", "Acme", "--slug", "acme", "--node", nodeID, "--admin-email", "a@example.com")
	var siteID string
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "site:" {
			siteID = f[1]
		}
	}
	if siteID == "" || !strings.Contains(out, "admin password:") || !strings.Contains(out, "queued job ") {
		t.Fatalf("site create:\n%s", out)
	}
	_, err := ce.run(t, "site", "delete", siteID, "--force")
	if pressluft.ErrorCode(err) != pressluft.ENodeReachable {
		t.Fatalf("forget while the node answers: %v", err)
	}
	if err := api.nodes.SetNodeStatus(ctx, nodeID, pressluft.NodeUnreachable, ""); err != nil {
		t.Fatal(err)
	}
	out = ce.must(t, "site", "delete", "--force", siteID)
	for _, want := range []string{"forgot site " + siteID + ": 1 site(s), 1 environment(s)", "1 queued job(s) cancelled",
		"Linux user:    acme-production", "database:      acme_production", "/etc/nginx/sites-enabled/acme-production.conf",
		"/srv/pressluft/acme-production/backups/"} {
		if !strings.Contains(out, want) {
			t.Errorf("forget output lacks %q:\n%s", want, out)
		}
	}
	if _, err := ce.run(t, "site", "get", siteID); pressluft.ErrorCode(err) != pressluft.ENotFound {
		t.Fatalf("site after forget: %v", err)
	}
	var f pressluft.Forgotten
	if err := json.Unmarshal([]byte(ce.must(t, "node", "delete", nodeID, "--force", "--json")), &f); err != nil || f.NodeID != nodeID {
		t.Fatalf("node delete --force --json: %+v %v", f, err)
	}
	if out := ce.must(t, "node", "get", nodeID); !strings.Contains(out, "decommissioned") {
		t.Fatalf("node after forget: %q", out)
	}
}
