package jobs_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pressluft/pressluft"
	"github.com/pressluft/pressluft/jobs"
	"github.com/pressluft/pressluft/sqlite"
)

// fakeNode stands in for the node agent and Ansible: it records what it was
// asked and answers what the test set.
type fakeNode struct {
	mu        sync.Mutex
	calls     []string
	created   []pressluft.EnvSpec
	installs  []pressluft.WordPressInstall
	sources   []pressluft.EnvSpec
	deleted   []string
	facts     pressluft.EnvFacts
	fail      map[string]error // operation → error
	installed int
}

func (f *fakeNode) record(op string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, op)
	return f.fail[op]
}

func (f *fakeNode) CreateEnv(_ context.Context, _ *pressluft.Node, env pressluft.EnvSpec, wp pressluft.WordPressInstall, p pressluft.Progress) (*pressluft.EnvFacts, error) {
	p.Event("install", pressluft.LevelInfo, "installing")
	f.mu.Lock()
	f.created, f.installs = append(f.created, env), append(f.installs, wp)
	f.mu.Unlock()
	if err := f.record("create"); err != nil {
		return nil, err
	}
	facts := f.facts
	return &facts, nil
}

func (f *fakeNode) CopyEnv(_ context.Context, _ *pressluft.Node, env, source pressluft.EnvSpec, _ pressluft.Progress) (*pressluft.EnvFacts, error) {
	f.mu.Lock()
	f.created, f.sources = append(f.created, env), append(f.sources, source)
	f.mu.Unlock()
	if err := f.record("copy"); err != nil {
		return nil, err
	}
	facts := f.facts
	facts.SearchReplace = &pressluft.SearchReplace{Hosts: []string{"old.example"}, Cells: 12, Unparseable: 2}
	return &facts, nil
}

func (f *fakeNode) DeleteEnv(_ context.Context, _ *pressluft.Node, env pressluft.EnvSpec, _ pressluft.Progress) error {
	f.mu.Lock()
	f.deleted = append(f.deleted, env.Name)
	f.mu.Unlock()
	return f.record("delete")
}

func (f *fakeNode) EnvHealth(context.Context, *pressluft.Node, pressluft.EnvSpec) (*pressluft.EnvFacts, error) {
	facts := f.facts
	return &facts, f.record("health")
}

func (f *fakeNode) InstallAgent(context.Context, *pressluft.Node, pressluft.Progress) error {
	f.mu.Lock()
	f.installed++
	f.mu.Unlock()
	return f.record("install_agent")
}

func (f *fakeNode) Provision(context.Context, *pressluft.Node, pressluft.Progress) (*pressluft.NodeFacts, error) {
	if err := f.record("provision"); err != nil {
		return nil, err
	}
	return &pressluft.NodeFacts{OSName: "Debian", OSVersion: "12", NginxVersion: "1.22.1", PHPVersion: "8.2", MariaDBVersion: "10.11"}, nil
}

func (f *fakeNode) Check(context.Context, *pressluft.Node, pressluft.Progress) error {
	return f.record("check")
}

// handlerStack is a real store and runner with the node side faked.
type handlerStack struct {
	q     *sqlite.JobService
	nodes *sqlite.NodeService
	sites *sqlite.SiteService
	sec   *sqlite.SecretService
	node  *pressluft.Node
	fake  *fakeNode
	body  string // what every preview URL answers; set before jobs start
	// bodyFor, when set, answers the nth request of a preview URL instead.
	bodyFor func(n int) string
	// page, when set, answers by URL first (ok false: as without it).
	page     func(url string) (status int, body string, ok bool)
	fetches  atomic.Int32
	backups  *sqlite.BackupService
	releases *sqlite.ReleaseService
	promos   *sqlite.PromotionService
}

func newHandlerStack(t *testing.T) *handlerStack {
	t.Helper()
	dir := t.TempDir()
	db := sqlite.NewDB(filepath.Join(dir, "pressluft.db"))
	key, err := sqlite.LoadOrCreateKey(filepath.Join(dir, "secret.key"))
	if err != nil {
		t.Fatal(err)
	}
	db.SetKey(key)
	if err := db.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	q := sqlite.NewJobService(db)
	s := &handlerStack{q: q, nodes: sqlite.NewNodeService(db, q), sites: sqlite.NewSiteService(db, q), sec: sqlite.NewSecretService(db),
		fake: &fakeNode{facts: pressluft.EnvFacts{Installed: true, DBOK: true, WPVersion: "6.1.9", TitleHTML: "Acme &amp; Co"}},
		body: "<title>Acme &amp; Co</title>"}
	ctx := context.Background()
	s.node = &pressluft.Node{Name: "web", Host: "10.77.9.2", SSHPort: 22, SSHUser: "root"}
	if err := s.nodes.CreateNode(ctx, s.node); err != nil {
		t.Fatal(err)
	}
	if err := s.nodes.SetNodeStatus(ctx, s.node.ID, pressluft.NodeActive, ""); err != nil {
		t.Fatal(err)
	}
	r := newRunner(q)
	s.backups, s.releases, s.promos = sqlite.NewBackupService(db, q), sqlite.NewReleaseService(db, q), sqlite.NewPromotionService(db, q)
	h := &jobs.Handlers{Nodes: s.nodes, Sites: s.sites, Secrets: s.sec, Auth: sqlite.NewAuthService(db), Config: s.fake, Envs: s.fake,
		Backups: s.backups, Backup: s.fake, Releases: s.releases, Release: s.fake, Uploads: s.fake, Promote: s.fake, Promotions: s.promos,
		Settings: sqlite.NewSettingsService(db), HealthRetryDelay: time.Millisecond,
		FetchURL: func(_ context.Context, host, url string) (int, string, error) {
			if host != s.node.Host {
				t.Errorf("preview fetched from %s, want the node %s", host, s.node.Host)
			}
			if !strings.HasPrefix(url, "http://acme-") {
				t.Errorf("fetched %s", url)
			}
			if s.page != nil {
				if status, body, ok := s.page(url); ok {
					return status, body, nil
				}
			}
			if s.bodyFor != nil {
				return 200, s.bodyFor(int(s.fetches.Add(1))), nil
			}
			return 200, s.body, nil
		}}
	if err := h.Register(r); err != nil {
		t.Fatal(err)
	}
	startRunner(t, r)
	return s
}

func (s *handlerStack) createSite(t *testing.T, slug string) *pressluft.SiteCreated {
	t.Helper()
	c, err := s.sites.CreateSite(context.Background(), pressluft.SiteCreate{Name: "Acme", Slug: slug, NodeID: s.node.ID,
		Title: "Acme & Co", AdminEmail: "ops@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestHandlers_EveryKindHasAHandler(t *testing.T) {
	t.Parallel()
	r := jobs.NewRunner(mustQueue(t), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := (&jobs.Handlers{}).Register(r); err != nil {
		t.Fatal(err)
	}
	for _, k := range pressluft.JobKinds() {
		if r.Handlers[k.Type] == nil || k.Timeout <= 0 || k.MaxAttempts <= 0 || k.Lock == "" {
			t.Errorf("kind %+v is incomplete or has no handler", k)
		}
	}
}

func TestHandlers_SiteCreate(t *testing.T) {
	t.Parallel()
	s := newHandlerStack(t)
	ctx := context.Background()
	c := s.createSite(t, "acme")
	j := waitStatus(t, s.q, c.Job.ID, pressluft.JobSucceeded)

	if len(s.fake.created) != 1 {
		t.Fatalf("CreateEnv called %d times", len(s.fake.created))
	}
	spec, wp := s.fake.created[0], s.fake.installs[0]
	if spec.Name != "acme-production" || spec.URL != c.Environment.PreviewURL || spec.ReleaseID != pressluft.ReleaseIDFor(j) ||
		len(spec.DBPassword) < 16 || spec.DBName != "acme_production" || len(spec.ServerNames) != 1 {
		t.Errorf("env spec = %+v", spec)
	}
	if wp.AdminPassword != c.AdminPassword || wp.Title != "Acme & Co" || wp.AdminEmail != "ops@example.com" {
		t.Errorf("install = %+v", wp)
	}
	env, _ := s.sites.FindEnvironmentByID(ctx, c.Environment.ID)
	site, _ := s.sites.FindSiteByID(ctx, c.Site.ID)
	if env.Status != pressluft.StatusActive || site.Status != pressluft.StatusActive || env.CurrentReleaseID == "" {
		t.Errorf("after create: env %s site %s release %q", env.Status, site.Status, env.CurrentReleaseID)
	}
	// The admin password was used and is forgotten with the job's success.
	if _, err := s.sec.GetSecret(ctx, pressluft.SecretAdminPassword(env.ID)); pressluft.ErrorCode(err) != pressluft.ENotFound {
		t.Errorf("admin password still stored: %v", err)
	}
	if !strings.Contains(string(j.Result), `"release_id":"`+pressluft.ReleaseIDFor(j)+`"`) {
		t.Errorf("result = %s", j.Result)
	}
	var install bool
	for _, e := range j.Events {
		install = install || e.Step == "install"
	}
	if !install {
		t.Error("the node's progress did not reach the job's events")
	}
}

func TestHandlers_SiteCreateWhosePageLacksTheTitleFails(t *testing.T) {
	t.Parallel()
	s := newHandlerStack(t)
	s.body = "<title>Apache default page</title>"
	c := s.createSite(t, "acme")
	j := waitStatus(t, s.q, c.Job.ID, pressluft.JobFailed)
	if j.ErrorCode != pressluft.EHealthCheckFailed {
		t.Fatalf("code %s: %s", j.ErrorCode, j.ErrorMessage)
	}
	env, _ := s.sites.FindEnvironmentByID(context.Background(), c.Environment.ID)
	if env.Status != pressluft.StatusFailed || env.CurrentReleaseID != "" {
		t.Fatalf("env %s release %q after a failed check", env.Status, env.CurrentReleaseID)
	}
}

func TestHandlers_CopyDeleteAndFailures(t *testing.T) {
	t.Parallel()
	s := newHandlerStack(t)
	ctx := context.Background()
	c := s.createSite(t, "acme")
	waitStatus(t, s.q, c.Job.ID, pressluft.JobSucceeded)

	stg, j, err := s.sites.CreateEnvironment(ctx, c.Site.ID, pressluft.EnvironmentCreate{Name: "Staging", Slug: "staging", Type: "staging",
		SourceEnvironmentID: c.Environment.ID})
	if err != nil {
		t.Fatal(err)
	}
	done := waitStatus(t, s.q, j.ID, pressluft.JobSucceeded)
	src := s.fake.sources[0]
	if src.Name != "acme-production" || src.DBPassword != "" || src.URL != c.Environment.PreviewURL {
		t.Errorf("source spec = %+v", src)
	}
	var res struct {
		SearchReplace pressluft.SearchReplace `json:"search_replace"`
	}
	if err := json.Unmarshal(done.Result, &res); err != nil || res.SearchReplace.Unparseable != 2 || res.SearchReplace.Cells != 12 {
		t.Errorf("result = %s", done.Result)
	}
	// A transient failure on the node is retried, not failed.
	s.fake.mu.Lock()
	s.fake.fail = map[string]error{"delete": pressluft.Errorf(pressluft.EEnvLocked, "busy")}
	s.fake.mu.Unlock()
	del, err := s.sites.DeleteEnvironment(ctx, stg.ID)
	if err != nil {
		t.Fatal(err)
	}
	retry := waitStatus(t, s.q, del.ID, pressluft.JobQueued)
	for retry.Attempt == 0 || retry.Status != pressluft.JobQueued {
		time.Sleep(10 * time.Millisecond)
		retry, _ = s.q.FindJobByID(ctx, del.ID)
	}
	if retry.ErrorCode != pressluft.EEnvLocked {
		t.Fatalf("retried delete: %s", retry.ErrorCode)
	}
	if env, _ := s.sites.FindEnvironmentByID(ctx, stg.ID); env.Status != pressluft.StatusDeleting {
		t.Fatalf("environment %s while its delete waits for a retry", env.Status)
	}
}

func TestHandlers_EnvDeletePurgesWithTheJob(t *testing.T) {
	t.Parallel()
	s := newHandlerStack(t)
	ctx := context.Background()
	c := s.createSite(t, "acme")
	waitStatus(t, s.q, c.Job.ID, pressluft.JobSucceeded)
	del, err := s.sites.DeleteSite(ctx, c.Site.ID)
	if err != nil {
		t.Fatal(err)
	}
	waitStatus(t, s.q, del.ID, pressluft.JobSucceeded)
	if len(s.fake.deleted) != 1 || s.fake.deleted[0] != "acme-production" {
		t.Fatalf("deleted on the node: %v", s.fake.deleted)
	}
	if _, err := s.sites.FindSiteByID(ctx, c.Site.ID); pressluft.ErrorCode(err) != pressluft.ENotFound {
		t.Fatalf("site after delete: %v", err)
	}
	if _, err := s.sec.GetSecret(ctx, pressluft.SecretDBPassword(c.Environment.ID)); pressluft.ErrorCode(err) != pressluft.ENotFound {
		t.Fatalf("db password after delete: %v", err)
	}
}

func TestHandlers_ConfigRejectedFailsTheEnvironment(t *testing.T) {
	t.Parallel()
	s := newHandlerStack(t)
	s.fake.fail = map[string]error{"create": pressluft.Errorf(pressluft.EConfigRejected, "nginx: [emerg] unknown directive")}
	c := s.createSite(t, "acme")
	j := waitStatus(t, s.q, c.Job.ID, pressluft.JobFailed)
	if j.Attempt != 1 || j.ErrorCode != pressluft.EConfigRejected {
		t.Fatalf("attempt %d code %s", j.Attempt, j.ErrorCode)
	}
	env, _ := s.sites.FindEnvironmentByID(context.Background(), c.Environment.ID)
	if env.Status != pressluft.StatusFailed || !strings.Contains(env.LastError, "unknown directive") {
		t.Fatalf("env %s %q", env.Status, env.LastError)
	}
}

func TestHandlers_ProvisionInstallsTheAgent(t *testing.T) {
	t.Parallel()
	s := newHandlerStack(t)
	ctx := context.Background()
	j, err := s.nodes.ProvisionNode(ctx, s.node.ID)
	if err != nil {
		t.Fatal(err)
	}
	waitStatus(t, s.q, j.ID, pressluft.JobSucceeded)
	n, _ := s.nodes.FindNodeByID(ctx, s.node.ID)
	if n.Status != pressluft.NodeActive || n.OSName != "Debian" || n.MariaDBVersion != "10.11" || s.fake.installed != 1 {
		t.Fatalf("node after provision: %s %s %s, agent installs %d", n.Status, n.OSName, n.MariaDBVersion, s.fake.installed)
	}
	if got := strings.Join(s.fake.calls, ","); got != "provision,install_agent" {
		t.Fatalf("calls = %s", got)
	}
}
