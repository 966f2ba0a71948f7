package http_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	nethttp "net/http"
	"net/http/cookiejar"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pressluft/pressluft"
	"github.com/pressluft/pressluft/http"
	"github.com/pressluft/pressluft/sqlite"
)

// testServer is the real router on a fresh database, listening on a free
// loopback port.
type testServer struct {
	*http.Server
	db   *sqlite.DB
	base string
}

func mustServer(tb testing.TB) *testServer {
	tb.Helper()
	return newTestServer(tb, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

func newTestServer(tb testing.TB, logger *slog.Logger) *testServer {
	tb.Helper()
	dir := tb.TempDir()
	key, err := sqlite.LoadOrCreateKey(filepath.Join(dir, "secret.key"))
	if err != nil {
		tb.Fatal(err)
	}
	db := sqlite.NewDB(filepath.Join(dir, "pressluft.db"))
	db.SetKey(key)
	if err := db.Open(); err != nil {
		tb.Fatal(err)
	}
	js := sqlite.NewJobService(db)
	s := http.NewServer(logger)
	s.Auth, s.Audit, s.Jobs = sqlite.NewAuthService(db), sqlite.NewAuditService(db), js
	s.Nodes, s.Sites = sqlite.NewNodeService(db, js), sqlite.NewSiteService(db, js)
	s.Settings, s.Metrics = sqlite.NewSettingsService(db), sqlite.NewMetricsService(db)
	s.Backups, s.BackupOps, s.Offsite = sqlite.NewBackupService(db, js), &fakeBackupOps{}, &fakeOffsite{}
	rs := sqlite.NewReleaseService(db, js)
	rs.NewKey = func() ([]byte, string, error) {
		return []byte("PRIVATE KEY"), "ssh-ed25519 AAAATESTDEPLOY pressluft-deploy", nil
	}
	s.Releases, s.ReleaseOps = rs, &fakeReleaseOps{}
	s.Promotions, s.PromoteOps = sqlite.NewPromotionService(db, js), fakePromoteOps{}
	s.PublicKey = func() string { return "ssh-ed25519 AAAATEST pressluft" }
	s.EventPoll = 10e6
	if err := s.Open("127.0.0.1:0"); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close(context.Background()); db.Close() })
	if _, err := s.Auth.CreateUser(context.Background(), "ops@example.com", "correct horse"); err != nil {
		tb.Fatal(err)
	}
	return &testServer{Server: s, db: db, base: "http://" + s.Addr()}
}

// client is a browser-like client with a cookie jar.
type client struct {
	tb     testing.TB
	base   string
	hc     *nethttp.Client
	header nethttp.Header
}

func (ts *testServer) client(tb testing.TB) *client {
	jar, _ := cookiejar.New(nil)
	return &client{tb: tb, base: ts.base, hc: &nethttp.Client{Jar: jar}, header: nethttp.Header{}}
}

func (ts *testServer) loggedIn(tb testing.TB) *client {
	c := ts.client(tb)
	if res := c.do("POST", "/api/login", `{"email":"ops@example.com","password":"correct horse"}`); res.status != 200 {
		tb.Fatalf("login: %d %s", res.status, res.body)
	}
	return c
}

type response struct {
	status int
	header nethttp.Header
	body   string
}

func (r response) json(tb testing.TB) map[string]any {
	tb.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(r.body), &m); err != nil {
		tb.Fatalf("response is not a JSON object: %q", r.body)
	}
	return m
}

func (c *client) do(method, path, body string) response {
	c.tb.Helper()
	req, err := nethttp.NewRequest(method, c.base+path, strings.NewReader(body))
	if err != nil {
		c.tb.Fatal(err)
	}
	for k, v := range c.header {
		req.Header[k] = v
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := c.hc.Do(req)
	if err != nil {
		c.tb.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return response{status: res.StatusCode, header: res.Header, body: string(b)}
}

// expect checks status and, for errors, the code.
func (c *client) expect(method, path, body string, status int, code string) map[string]any {
	c.tb.Helper()
	res := c.do(method, path, body)
	if res.status != status {
		c.tb.Fatalf("%s %s: status %d (%s), want %d", method, path, res.status, res.body, status)
	}
	if res.body == "" {
		return nil
	}
	m := res.json(c.tb)
	if code != "" && m["code"] != code {
		c.tb.Fatalf("%s %s: code %v (%s), want %s", method, path, m["code"], res.body, code)
	}
	return m
}

func TestAPI_ErrorsAndBadInput(t *testing.T) {
	t.Parallel()
	ts := mustServer(t)
	c := ts.loggedIn(t)
	big := `{"name":"` + strings.Repeat("x", 2<<20) + `"}`
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		code                     string
	}{
		{"malformed json", "POST", "/api/nodes", `{"name":`, 400, pressluft.EBadRequest},
		{"not json", "POST", "/api/nodes", `hello`, 400, pressluft.EBadRequest},
		{"empty body", "POST", "/api/nodes", ``, 400, pressluft.EBadRequest},
		{"unknown field", "POST", "/api/nodes", `{"name":"a","host":"h","sudo":true}`, 400, pressluft.EBadRequest},
		{"wrong type", "POST", "/api/nodes", `{"name":"a","host":"h","ssh_port":"22"}`, 400, pressluft.EBadRequest},
		{"trailing data", "POST", "/api/nodes", `{"name":"a","host":"h"} {}`, 400, pressluft.EBadRequest},
		{"oversize", "POST", "/api/nodes", big, 400, pressluft.EBadRequest},
		{"array body", "POST", "/api/nodes", `[]`, 400, pressluft.EBadRequest},
		{"bad host", "POST", "/api/nodes", `{"name":"a","host":"bad host;rm -rf /"}`, 400, pressluft.EValidation},
		{"bad port", "POST", "/api/nodes", `{"name":"a","host":"10.0.0.1","ssh_port":70000}`, 400, pressluft.EValidation},
		{"bad user", "POST", "/api/nodes", `{"name":"a","host":"10.0.0.1","ssh_user":"root; id"}`, 400, pressluft.EValidation},
		{"malformed id", "GET", "/api/nodes/xyz", ``, 404, pressluft.ENotFound},
		{"unknown id", "GET", "/api/nodes/01000000-0000-7000-8000-000000000000", ``, 404, pressluft.ENotFound},
		{"unknown route", "GET", "/api/nope", ``, 404, pressluft.ENotFound},
		{"bad limit", "GET", "/api/jobs?limit=0", ``, 400, pressluft.EValidation},
		{"bad status filter", "GET", "/api/jobs?status=done", ``, 400, pressluft.EValidation},
		{"bad audit time", "GET", "/api/audit?since=yesterday", ``, 400, pressluft.EValidation},
		{"bad settings", "PUT", "/api/settings", `{"preview_domain":"not a domain"}`, 400, pressluft.EValidation},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c.tb = t
			m := c.expect(tc.method, tc.path, tc.body, tc.status, tc.code)
			if m["message"] == "" || m["message"] == nil {
				t.Fatalf("error without message: %v", m)
			}
		})
	}
}

func TestAPI_ValidationNamesTheField(t *testing.T) {
	t.Parallel()
	ts := mustServer(t)
	c := ts.loggedIn(t)
	m := c.expect("POST", "/api/nodes", `{"name":"a","host":"10.0.0.1","ssh_port":0}`, 400, pressluft.EValidation)
	if d, _ := m["details"].(map[string]any); d["field"] != "ssh_port" {
		t.Fatalf("details = %v", m["details"])
	}
}

func TestAPI_Tokens(t *testing.T) {
	t.Parallel()
	ts := mustServer(t)
	c := ts.loggedIn(t)
	created := c.expect("POST", "/api/tokens", `{"name":"ci"}`, 201, "")
	token, _ := created["token"].(string)
	list := c.expect("GET", "/api/tokens", "", 200, "")
	if strings.Contains(jsonString(list), token) {
		t.Fatal("token list reveals the token")
	}
	bearer := ts.client(t)
	bearer.header.Set("Authorization", "Bearer "+token)
	me := bearer.expect("GET", "/api/me", "", 200, "")
	if me["email"] != "ops@example.com" {
		t.Fatalf("me = %v", me)
	}
	// Scripts send no Origin; mutations with a token work.
	bearer.expect("POST", "/api/nodes", `{"name":"n","host":"10.1.1.1"}`, 201, "")
	id := created["api_token"].(map[string]any)["id"].(string)
	c.expect("DELETE", "/api/tokens/"+id, "", 204, "")
	bearer.expect("GET", "/api/me", "", 401, pressluft.EUnauthorized)
	bad := ts.client(t)
	bad.header.Set("Authorization", "Basic abc")
	bad.expect("GET", "/api/me", "", 401, pressluft.EUnauthorized)
}

func jsonString(v any) string {
	var b bytes.Buffer
	_ = json.NewEncoder(&b).Encode(v)
	return b.String()
}
