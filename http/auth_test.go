package http_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/pressluft/pressluft"
)

func TestAPI_LoginSessionCookie(t *testing.T) {
	t.Parallel()
	ts := mustServer(t)
	c := ts.client(t)
	c.expect("GET", "/api/me", "", 401, pressluft.EUnauthorized)
	c.expect("GET", "/api/health", "", 200, "")
	c.expect("POST", "/api/login", `{"email":"ops@example.com","password":"wrong one"}`, 401, pressluft.EInvalidCreds)

	res := c.do("POST", "/api/login", `{"email":"ops@example.com","password":"correct horse"}`)
	cookie := res.header.Get("Set-Cookie")
	for _, want := range []string{"pressluft_session=", "HttpOnly", "SameSite=Lax", "Path=/"} {
		if !strings.Contains(cookie, want) {
			t.Errorf("Set-Cookie %q lacks %s", cookie, want)
		}
	}
	if strings.Contains(cookie, "Secure") {
		t.Errorf("Secure cookie over plain HTTP: %q", cookie)
	}
	if strings.Contains(res.body, "password") {
		t.Errorf("login answer mentions the password: %s", res.body)
	}
	me := c.expect("GET", "/api/me", "", 200, "")
	if me["email"] != "ops@example.com" {
		t.Fatalf("me = %v", me)
	}
	c.expect("POST", "/api/logout", "", 204, "")
	c.expect("GET", "/api/me", "", 401, pressluft.EUnauthorized)
}

func TestAPI_SecureCookiesFlag(t *testing.T) {
	t.Parallel()
	ts := mustServer(t)
	ts.SecureCookies = true
	res := ts.client(t).do("POST", "/api/login", `{"email":"ops@example.com","password":"correct horse"}`)
	if !strings.Contains(res.header.Get("Set-Cookie"), "Secure") {
		t.Fatalf("Set-Cookie = %q, want Secure", res.header.Get("Set-Cookie"))
	}
}

func TestAPI_LoginThrottled(t *testing.T) {
	t.Parallel()
	ts := mustServer(t)
	c := ts.client(t)
	for i := 0; i < 10; i++ {
		c.expect("POST", "/api/login", `{"email":"ops@example.com","password":"wrong one"}`, 401, pressluft.EInvalidCreds)
	}
	res := c.do("POST", "/api/login", `{"email":"ops@example.com","password":"correct horse"}`)
	if res.status != 429 || res.json(t)["code"] != pressluft.ERateLimited || res.header.Get("Retry-After") == "" {
		t.Fatalf("11th login: %d %s", res.status, res.body)
	}
}

func TestAPI_CrossOriginMutationRefused(t *testing.T) {
	t.Parallel()
	ts := mustServer(t)
	c := ts.loggedIn(t)
	c.header.Set("Origin", "https://evil.example")
	c.expect("POST", "/api/nodes", `{"name":"n","host":"10.1.1.1"}`, 403, pressluft.EForbidden)
	c.header.Del("Origin")
	c.header.Set("Sec-Fetch-Site", "cross-site")
	c.expect("POST", "/api/nodes", `{"name":"n","host":"10.1.1.1"}`, 403, pressluft.EForbidden)
	// Reads are not state-changing and stay allowed.
	c.expect("GET", "/api/nodes", "", 200, "")
	c.header.Del("Sec-Fetch-Site")
	c.header.Set("Origin", ts.base)
	c.expect("POST", "/api/nodes", `{"name":"n","host":"10.1.1.1"}`, 201, "")
}

func TestAPI_AuditRecordsEveryMutation(t *testing.T) {
	t.Parallel()
	ts := mustServer(t)
	anon := ts.client(t)
	anon.expect("POST", "/api/login", `{"email":"ops@example.com","password":"nope nope"}`, 401, "")
	anon.expect("POST", "/api/nodes", `{"name":"n","host":"10.1.1.1"}`, 401, "")
	c := ts.loggedIn(t)
	node := c.expect("POST", "/api/nodes", `{"name":"n","host":"10.1.1.1"}`, 201, "")
	c.expect("POST", "/api/nodes", `{"name":"n","host":"10.1.1.1"}`, 409, pressluft.EConflict)
	c.expect("POST", "/api/logout", "", 204, "")

	c = ts.loggedIn(t)
	list := c.expect("GET", "/api/audit?limit=100", "", 200, "")
	var got []string
	for _, it := range list["items"].([]any) {
		e := it.(map[string]any)
		got = append(got, fmt.Sprintf("%s %s %s %v", e["actor"], e["action"], e["result"], e["status_code"]))
		if e["request_id"] == "" {
			t.Errorf("entry without request id: %v", e)
		}
	}
	want := []string{
		"ops@example.com auth.login success 200",
		"ops@example.com auth.logout success 204",
		"ops@example.com node.create failure 409",
		"ops@example.com node.create success 201",
		"ops@example.com auth.login success 200",
		"anonymous node.create failure 401",
		"ops@example.com auth.login failure 401",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("audit log:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	byNode := c.expect("GET", "/api/audit?resource_type=node&resource_id="+node["id"].(string), "", 200, "")
	if n := len(byNode["items"].([]any)); n != 1 {
		t.Fatalf("entries for the node: %d", n)
	}
	page := c.expect("GET", "/api/audit?limit=3", "", 200, "")
	next := page["next_cursor"].(string)
	page2 := c.expect("GET", "/api/audit?limit=3&cursor="+next, "", 200, "")
	if len(page2["items"].([]any)) != 3 {
		t.Fatalf("second page: %v", page2)
	}
	failures := c.expect("GET", "/api/audit?action=auth.login&actor=ops@example.com", "", 200, "")
	if n := len(failures["items"].([]any)); n != 3 {
		t.Fatalf("login entries: %d", n)
	}
}
