package http_test

import (
	"bytes"
	"context"
	"encoding/json"
	nethttp "net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/pressluft/pressluft"
	"github.com/pressluft/pressluft/http"
)

// flushCancel ends the request once the handler has flushed, so that an event
// stream of an unfinished job returns after its first batch.
type flushCancel struct {
	*httptest.ResponseRecorder
	cancel context.CancelFunc
}

func (w flushCancel) Flush() { w.ResponseRecorder.Flush(); w.cancel() }

// FuzzRoutes sends any method-route pair of the router, with any id, query,
// body and credentials, through the real router on a real store: no answer
// is a 500, every error is our error object with the status of its code and
// a message without Go type names, and every API answer carries its headers.
func FuzzRoutes(f *testing.F) {
	ts := mustServer(f)
	ctx := context.Background()
	token := ts.bearerToken(f)
	ids := fixtures(f, ts)
	routes := ts.Routes()
	for i, r := range routes {
		body := ""
		switch r.Path {
		case "/api/nodes":
			body = `{"name":"web","host":"10.0.0.9"}`
		case "/api/sites":
			body = `{"name":"Shop","slug":"shop","node_id":"` + ids[1] + `","admin_email":"a;id@x.io"}`
		case "/api/sites/{id}/environments":
			body = `{"name":"Staging","slug":"staging","type":"staging","source_environment_id":"` + ids[3] + `"}`
		case "/api/settings":
			body = `{"preview_domain":"preview.example.com"}`
		case "/api/tokens":
			body = `{"name":"ci\u001b"}`
		case "/api/login":
			body = `{"email":"ops@example.com","password":"correct horse"}`
		}
		for kind := range uint8(len(ids) + 1) {
			f.Add(uint8(i), kind, "", "limit=2", []byte(body), uint8(0))
		}
		f.Add(uint8(i), uint8(0), "xyz", "cursor=zz&status=queued", []byte(`{"name":1}`), uint8(1))
	}
	f.Fuzz(func(t *testing.T, route, idKind uint8, rawID, query string, body []byte, auth uint8) {
		r := routes[int(route)%len(routes)]
		id := rawID
		if k := int(idKind) % (len(ids) + 1); k > 0 {
			id = ids[k-1]
		}
		target := strings.Replace(r.Path, "{id}", url.PathEscape(id), 1)
		if query != "" {
			target += "?" + query
		}
		req, err := nethttp.NewRequest(r.Method, "http://"+ts.Addr()+target, bytes.NewReader(body))
		if err != nil {
			return // not a request a client can send
		}
		switch auth % 4 {
		case 0:
			req.Header.Set("Authorization", "Bearer "+token)
		case 1:
			req.Header.Set("Authorization", "Bearer plt_"+rawID)
		case 2:
			req.Header.Set("Authorization", rawID)
		}
		rctx, cancel := context.WithCancel(ctx)
		defer cancel()
		w := flushCancel{httptest.NewRecorder(), cancel}
		ts.ServeHTTP(w, req.WithContext(rctx))
		res := w.Result()
		if res.StatusCode >= 500 {
			t.Fatalf("%s %s: %d %s", r.Method, target, res.StatusCode, w.Body.String())
		}
		if res.Header.Get("Cache-Control") != "no-store" || res.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Fatalf("%s %s: headers %v", r.Method, target, res.Header)
		}
		if res.StatusCode < 400 {
			return
		}
		var e struct{ Code, Message string }
		if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Code == "" || e.Message == "" {
			t.Fatalf("%s %s: %d %q is not an error object", r.Method, target, res.StatusCode, w.Body.String())
		}
		if http.ErrorStatus(e.Code) != res.StatusCode {
			t.Fatalf("%s %s: %d with code %s", r.Method, target, res.StatusCode, e.Code)
		}
		if strings.Contains(e.Message, "Unknown field") {
			return // names the client's own field
		}
		if goTypeName.MatchString(e.Message) {
			t.Fatalf("%s %s: message %q names a Go type", r.Method, target, e.Message)
		}
	})
}

// fixtures creates one of each resource and returns their ids: token, node,
// site, environment, job.
func fixtures(tb testing.TB, ts *testServer) []string {
	tb.Helper()
	ctx := pressluft.NewContextWithActor(context.Background(), &pressluft.Actor{Email: "ops@example.com"})
	tok, _, err := ts.Auth.CreateAPIToken(ctx, mustUserID(tb, ts), "spare")
	if err != nil {
		tb.Fatal(err)
	}
	n := &pressluft.Node{Name: "web", Host: "10.77.9.9", SSHPort: 22, SSHUser: "root"}
	if err := ts.Nodes.CreateNode(ctx, n); err != nil {
		tb.Fatal(err)
	}
	if err := ts.Nodes.SetNodeStatus(ctx, n.ID, pressluft.NodeActive, ""); err != nil {
		tb.Fatal(err)
	}
	created, err := ts.Sites.CreateSite(ctx, pressluft.SiteCreate{Name: "Acme", Slug: "acme", NodeID: n.ID})
	if err != nil {
		tb.Fatal(err)
	}
	return []string{tok.ID, n.ID, created.Site.ID, created.Environment.ID, created.Job.ID}
}
