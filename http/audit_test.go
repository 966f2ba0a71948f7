package http_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	nethttp "net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/pressluft/pressluft"
)

// bearerToken returns an API token of the test administrator.
func (ts *testServer) bearerToken(tb testing.TB) string {
	tb.Helper()
	_, token, err := ts.Auth.CreateAPIToken(context.Background(), mustUserID(tb, ts), "test")
	if err != nil {
		tb.Fatal(err)
	}
	return token
}

func (ts *testServer) userID(ctx context.Context, email string) (string, error) {
	_, token, err := ts.Auth.Login(ctx, email, "correct horse")
	if err != nil {
		return "", err
	}
	u, err := ts.Auth.AuthenticateSession(ctx, token)
	if err != nil {
		return "", err
	}
	return u.ID, nil
}

// auditEntries lists the audit log, newest first.
func (ts *testServer) auditEntries(tb testing.TB, f pressluft.AuditFilter) []*pressluft.AuditEntry {
	tb.Helper()
	f.Limit = 500
	entries, _, err := ts.Audit.FindAuditEntries(context.Background(), f)
	if err != nil {
		tb.Fatal(err)
	}
	return entries
}

// A client that has gone by the time its request is handled still gets its
// mutation audited: the request context is already cancelled here.
func TestAPI_AuditSurvivesCancelledRequest(t *testing.T) {
	t.Parallel()
	ts := mustServer(t)
	token := ts.bearerToken(t)
	const clients = 60
	created := 0
	for i := 0; i < clients; i++ {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		req := httptest.NewRequestWithContext(ctx, "POST", "/api/tokens", strings.NewReader(fmt.Sprintf(`{"name":"early-%d"}`, i)))
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		ts.ServeHTTP(rec, req)
		if rec.Code == nethttp.StatusCreated {
			created++
		}
	}
	audited := len(ts.auditEntries(t, pressluft.AuditFilter{Action: "token.create"}))
	t.Logf("%d of %d token creations by clients that had gone were audited (%d created)", audited, clients, created)
	if audited != clients || created != clients {
		t.Fatalf("%d of %d audited, %d of %d created", audited, clients, created, clients)
	}
}

// 60 clients send a token creation and close their connection at once; every
// request is audited and every token created is in the audit log as created.
func TestAPI_AuditEarlyClosingClients(t *testing.T) {
	t.Parallel()
	handled := make(chan struct{}, 100)
	ts := newTestServer(t, slog.New(requestCounter{path: "/api/tokens", seen: handled}))
	token := ts.bearerToken(t)
	const clients = 60
	var wg sync.WaitGroup
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := net.Dial("tcp", ts.Addr())
			if err != nil {
				t.Error(err)
				return
			}
			body := fmt.Sprintf(`{"name":"early-%d"}`, i)
			fmt.Fprintf(conn, "POST /api/tokens HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
				ts.Addr(), token, len(body), body)
			conn.Close()
		}()
	}
	wg.Wait()
	// Every request is read and handled although its client has gone; the
	// request log line comes after the audit entry was written.
	for i := 0; i < clients; i++ {
		<-handled
	}
	entries := ts.auditEntries(t, pressluft.AuditFilter{Action: "token.create"})
	success := 0
	for _, e := range entries {
		if e.Result == "success" {
			success++
		}
	}
	tokens, err := ts.Auth.FindAPITokens(context.Background(), mustUserID(t, ts))
	if err != nil {
		t.Fatal(err)
	}
	made := len(tokens) - 1 // the one the test authenticates with
	t.Logf("%d of %d early-closing clients audited; %d tokens created, %d audited as created", len(entries), clients, made, success)
	if len(entries) != clients || success != made {
		t.Fatalf("%d of %d audited; %d tokens created but %d audited as created", len(entries), clients, made, success)
	}
}

// requestCounter signals each request log line for one path.
type requestCounter struct {
	path string
	seen chan<- struct{}
}

func (h requestCounter) Enabled(context.Context, slog.Level) bool { return true }
func (h requestCounter) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h requestCounter) WithGroup(string) slog.Handler            { return h }
func (h requestCounter) Handle(_ context.Context, r slog.Record) error {
	if r.Message != "request" {
		return nil
	}
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "path" && a.Value.String() == h.path {
			h.seen <- struct{}{}
		}
		return true
	})
	return nil
}

func mustUserID(tb testing.TB, ts *testServer) string {
	tb.Helper()
	id, err := ts.userID(context.Background(), "ops@example.com")
	if err != nil {
		tb.Fatal(err)
	}
	return id
}

// Anyone can send a 1 MB e-mail or a 500 KB id; what is recorded is capped.
func TestAPI_AuditCapsWhatIsRecorded(t *testing.T) {
	t.Parallel()
	ts := mustServer(t)
	anon := ts.client(t)
	res := anon.do("POST", "/api/login", `{"email":"`+strings.Repeat("a", 1000000)+`@x.io","password":"correct horse"}`)
	if res.status != 400 || res.json(t)["code"] != pressluft.EValidation {
		t.Fatalf("1 MB e-mail: %d %.200s", res.status, res.body)
	}
	c := ts.loggedIn(t)
	res = c.do("DELETE", "/api/nodes/"+strings.Repeat("9", 500<<10), "")
	if res.status != 404 {
		t.Fatalf("500 KB id: %d %.200s", res.status, res.body)
	}
	for _, e := range ts.auditEntries(t, pressluft.AuditFilter{}) {
		size := len(e.Actor) + len(e.ResourceID) + len(e.ResourceType) + len(e.Action) + len(e.RequestID) + len(e.IP)
		if len(e.Actor) > pressluft.MaxAuditField || len(e.ResourceID) > pressluft.MaxAuditField || size > 4*pressluft.MaxAuditField {
			t.Errorf("%s recorded %d bytes (actor %d, resource id %d)", e.Action, size, len(e.Actor), len(e.ResourceID))
		}
	}
}
