package http_test

import (
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/pressluft/pressluft/http"
	"github.com/pressluft/pressluft/web"
)

const bootScript = `window.__NUXT__={};window.__NUXT__.config={public:{}}`

func staticFS() fs.FS {
	return fstest.MapFS{
		"index.html": {Data: []byte(`<!doctype html><html><head><script type="module" src="/_nuxt/app.js"></script></head>` +
			`<body>dashboard<script>` + bootScript + `</script><script type="application/json" id="data">[1]</script></body></html>`)},
		"_nuxt/app.js": {Data: []byte("export {}")},
		"favicon.svg":  {Data: []byte("<svg/>")},
	}
}

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}

func TestDashboardCSP(t *testing.T) {
	t.Parallel()
	csp := http.DashboardCSP(staticFS())
	for _, want := range []string{"default-src 'self'", "script-src 'self' " + sha(bootScript) + ";", "style-src 'self';",
		"base-uri 'none'", "form-action 'self'", "frame-ancestors 'none'", "object-src 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Count(csp, "sha256-") != 1 {
		t.Errorf("CSP %q: want exactly the one executable inline script hashed", csp)
	}
	if strings.Contains(csp, "unsafe") {
		t.Errorf("CSP %q allows unsafe sources", csp)
	}
}

// The embedded build's inline boot script is allowed by its hash.
func TestDashboardCSP_EmbeddedBuild(t *testing.T) {
	t.Parallel()
	csp := http.DashboardCSP(web.FS())
	if !strings.Contains(csp, "'sha256-") {
		t.Fatalf("CSP %q has no hash for the embedded index.html's boot script", csp)
	}
}

func TestAPI_DashboardHeaders(t *testing.T) {
	t.Parallel()
	ts := mustServer(t)
	ts.Static = staticFS()
	c := ts.client(t)
	tests := []struct {
		path, cache string
		status      int
		body        string
	}{
		{"/", "no-cache", 200, "dashboard"},
		{"/sites/0190", "no-cache", 200, "dashboard"},
		{"/_nuxt/app.js", "immutable", 200, "export"},
		{"/_nuxt/missing.js", "", 404, ""},
		{"/favicon.svg", "", 200, "<svg/>"},
	}
	for _, tt := range tests {
		res := c.do("GET", tt.path, "")
		if res.status != tt.status || !strings.Contains(res.body, tt.body) {
			t.Errorf("GET %s: %d %q", tt.path, res.status, res.body)
		}
		if !strings.Contains(res.header.Get("Cache-Control"), tt.cache) {
			t.Errorf("GET %s: Cache-Control %q, want %q", tt.path, res.header.Get("Cache-Control"), tt.cache)
		}
		if tt.status != 200 {
			continue
		}
		if got := res.header.Get("Content-Security-Policy"); !strings.Contains(got, sha(bootScript)) {
			t.Errorf("GET %s: CSP %q", tt.path, got)
		}
		if got := res.header.Get("Referrer-Policy"); got != "same-origin" {
			t.Errorf("GET %s: Referrer-Policy %q", tt.path, got)
		}
		if got := res.header.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("GET %s: X-Content-Type-Options %q", tt.path, got)
		}
	}
}

func TestAPI_DashboardGzip(t *testing.T) {
	t.Parallel()
	ts := mustServer(t)
	ts.Static = staticFS()
	c := ts.client(t)
	c.header.Set("Accept-Encoding", "gzip")
	for _, path := range []string{"/_nuxt/app.js", "/sites"} {
		res := c.do("GET", path, "")
		if res.status != 200 || res.header.Get("Content-Encoding") != "gzip" {
			t.Fatalf("GET %s: %d, Content-Encoding %q", path, res.status, res.header.Get("Content-Encoding"))
		}
		zr, err := gzip.NewReader(strings.NewReader(res.body))
		if err != nil {
			t.Fatal(err)
		}
		plain, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		want := "export {}"
		if path == "/sites" {
			want = "dashboard"
		}
		if !strings.Contains(string(plain), want) {
			t.Errorf("GET %s: gunzipped %q", path, plain)
		}
		if ct := res.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/") {
			t.Errorf("GET %s: Content-Type %q", path, ct)
		}
	}
}
