package http_test

import (
	"context"
	"fmt"
	"io"
	nethttp "net/http"
	"net/netip"
	"regexp"
	"strings"
	"testing"

	"github.com/pressluft/pressluft"
)

func TestAPI_LoginLimitPerAccount(t *testing.T) {
	t.Parallel()
	ts := mustServer(t)
	if _, err := ts.Auth.CreateUser(context.Background(), "second@example.com", "correct horse"); err != nil {
		t.Fatal(err)
	}
	c := ts.client(t)
	for i := 0; i < 10; i++ {
		c.expect("POST", "/api/login", `{"email":"ops@example.com","password":"wrong one"}`, 401, pressluft.EInvalidCreds)
	}
	c.expect("POST", "/api/login", `{"email":"OPS@example.com","password":"correct horse"}`, 429, pressluft.ERateLimited)
	// One person's mistakes do not lock out another administrator behind the
	// same address.
	c.expect("POST", "/api/login", `{"email":"second@example.com","password":"correct horse"}`, 200, "")
}

func TestAPI_LoginLimitPerClient(t *testing.T) {
	t.Parallel()
	ts := mustServer(t)
	c := ts.client(t)
	n := 0
	for ; n < 100; n++ {
		res := c.do("POST", "/api/login", fmt.Sprintf(`{"email":"guess%d@example.com","password":"wrong one"}`, n))
		if res.status == 429 {
			break
		}
	}
	if n != 20 {
		t.Fatalf("one client was refused after %d attempts on different accounts, want 20", n)
	}
	c.expect("POST", "/api/login", `{"email":"ops@example.com","password":"correct horse"}`, 429, pressluft.ERateLimited)
}

func TestAPI_TrustedProxy(t *testing.T) {
	t.Parallel()
	// Without a trusted proxy, X-Forwarded-For is not believed: changing it
	// does not buy new attempts, and the audit log shows the peer.
	ts := mustServer(t)
	c := ts.client(t)
	for i := 0; i < 20; i++ {
		c.header.Set("X-Forwarded-For", fmt.Sprintf("203.0.113.%d", i))
		c.expect("POST", "/api/login", fmt.Sprintf(`{"email":"guess%d@example.com","password":"wrong one"}`, i), 401, "")
	}
	c.header.Set("X-Forwarded-For", "203.0.113.99")
	c.expect("POST", "/api/login", `{"email":"ops@example.com","password":"correct horse"}`, 429, pressluft.ERateLimited)
	if ip := ts.auditEntries(t, pressluft.AuditFilter{})[0].IP; ip != "127.0.0.1" {
		t.Fatalf("untrusted X-Forwarded-For recorded: %s", ip)
	}

	// Behind a trusted proxy, each client has its own budget and is recorded.
	ts = mustServer(t)
	ts.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	c = ts.client(t)
	c.header.Set("X-Forwarded-For", "198.51.100.7, 203.0.113.1")
	for i := 0; i < 20; i++ {
		c.expect("POST", "/api/login", fmt.Sprintf(`{"email":"guess%d@example.com","password":"wrong one"}`, i), 401, "")
	}
	c.expect("POST", "/api/login", `{"email":"ops@example.com","password":"correct horse"}`, 429, pressluft.ERateLimited)
	c.header.Set("X-Forwarded-For", "203.0.113.2")
	c.expect("POST", "/api/login", `{"email":"ops@example.com","password":"correct horse"}`, 200, "")
	if ip := ts.auditEntries(t, pressluft.AuditFilter{})[0].IP; ip != "203.0.113.2" {
		t.Fatalf("audit IP %s, want the forwarded client", ip)
	}
}

func TestAPI_AllowedHosts(t *testing.T) {
	t.Parallel()
	ts := mustServer(t)
	ts.AllowedHosts = []string{"cp.example.com", "::1"}
	c := ts.client(t)
	for host, status := range map[string]int{"cp.example.com": 200, "CP.Example.com:8443": 200, "rebound.attacker.example": 403,
		"127.0.0.1": 403, "cp.example.com.attacker.example": 403, "[::1]:8080": 200, "[::2]": 403} {
		res := c.doHost(host, "GET", "/api/health")
		if res.status != status {
			t.Errorf("Host %s: %d %s, want %d", host, res.status, res.body, status)
		}
		if status == 403 && res.json(t)["code"] != pressluft.EForbidden {
			t.Errorf("Host %s: %s", host, res.body)
		}
	}
}

func TestAPI_ResponseHeaders(t *testing.T) {
	t.Parallel()
	ts := mustServer(t)
	c := ts.client(t)
	for _, path := range []string{"/api/health", "/api/me", "/api/nope", "/metrics"} {
		res := c.do("GET", path, "")
		if res.header.Get("Cache-Control") != "no-store" || res.header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: Cache-Control %q, X-Content-Type-Options %q", path, res.header.Get("Cache-Control"),
				res.header.Get("X-Content-Type-Options"))
		}
	}
}

// Every route with an {id} answers a malformed id the same way.
func TestAPI_MalformedIDIsNotFoundEverywhere(t *testing.T) {
	t.Parallel()
	ts := mustServer(t)
	c := ts.loggedIn(t)
	for _, r := range ts.Routes() {
		if !strings.Contains(r.Path, "{id}") {
			continue
		}
		for _, id := range []string{"xyz", "01000000-0000-7000-8000-00000000000G", "..%2f", strings.Repeat("1", 300)} {
			path := strings.Replace(r.Path, "{id}", id, 1)
			res := c.do(r.Method, path, "")
			if res.status != 404 || res.json(t)["code"] != pressluft.ENotFound {
				t.Errorf("%s %s: %d %s", r.Method, path, res.status, res.body)
			}
		}
	}
}

var goTypeName = regexp.MustCompile(`\b(u?int(8|16|32|64)?|float(32|64)|struct|map\[|interface|bool|pressluft\.|json:)|\[\]|\*`)

func TestAPI_ErrorsNameNoGoTypes(t *testing.T) {
	t.Parallel()
	ts := mustServer(t)
	c := ts.loggedIn(t)
	for _, tc := range []struct{ path, body, want string }{
		{"/api/nodes", `"a string"`, "JSON object"},
		{"/api/nodes", `42`, "JSON object"},
		{"/api/nodes", `null`, "JSON object"},
		{"/api/tokens", ` null `, "JSON object"},
		{"/api/nodes", `{"name":"a","host":"h","ssh_port":"22"}`, "number"},
		{"/api/nodes", `{"name":"a","host":"h","ssh_port":1.5}`, "number"},
		{"/api/nodes", `{"name":{},"host":"h"}`, "string"},
		{"/api/nodes", `{"name":"a","host":"h","is_local":"yes"}`, "true or false"},
		{"/api/nodes", `{"name":"a","host":"h","ssh_port":99999999999999999999}`, "number"},
		{"/api/settings", `{"preview_domain":["a"]}`, "string"},
		{"/api/sites", `{"name":1}`, "string"},
	} {
		method := "POST"
		if tc.path == "/api/settings" {
			method = "PUT"
		}
		m := c.expect(method, tc.path, tc.body, 400, pressluft.EBadRequest)
		msg, _ := m["message"].(string)
		if goTypeName.MatchString(msg) || !strings.Contains(msg, tc.want) {
			t.Errorf("%s: message %q, want it to say %q and name no Go type", tc.body, msg, tc.want)
		}
	}
}

func TestAPI_InputRefusals(t *testing.T) {
	t.Parallel()
	ts := mustServer(t)
	c := ts.loggedIn(t)
	for _, name := range []string{`web\u001b[31m`, `bell\u0007`, `rtl\u202eevil`, `line\u2028sep`} {
		c.expect("POST", "/api/nodes", `{"name":"`+name+`","host":"10.1.1.1"}`, 400, pressluft.EValidation)
		c.expect("POST", "/api/tokens", `{"name":"`+name+`"}`, 400, pressluft.EValidation)
	}
	c.expect("POST", "/api/nodes", `{"name":"a","host":"Web-1.Example.COM"}`, 201, "")
	c.expect("POST", "/api/nodes", `{"name":"b","host":"web-1.example.com"}`, 409, pressluft.EConflict)
	node := c.expect("POST", "/api/nodes", `{"name":"c","host":"10.1.1.2"}`, 201, "")
	nodeID := node["id"].(string)
	if err := ts.Nodes.SetNodeStatus(context.Background(), nodeID, pressluft.NodeActive, ""); err != nil {
		t.Fatal(err)
	}
	m := c.expect("POST", "/api/sites", `{"name":"Acme","slug":"acme","node_id":"`+nodeID+`","admin_email":"a;id@x.io"}`, 400, pressluft.EValidation)
	if d, _ := m["details"].(map[string]any); d["field"] != "admin_email" {
		t.Fatalf("details = %v", m["details"])
	}
}

// doHost sends a request with the given Host header.
func (c *client) doHost(host, method, path string) response {
	c.tb.Helper()
	req, err := nethttp.NewRequest(method, c.base+path, nil)
	if err != nil {
		c.tb.Fatal(err)
	}
	req.Host = host
	res, err := c.hc.Do(req)
	if err != nil {
		c.tb.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return response{status: res.StatusCode, header: res.Header, body: string(b)}
}
