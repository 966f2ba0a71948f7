package http

import (
	"crypto/sha256"
	"encoding/base64"
	"io/fs"
	"net/http"
	"regexp"
	"strings"

	"github.com/pressluft/pressluft"
)

// inlineScriptRE finds the inline scripts of the dashboard's index.html (the
// framework's boot configuration); JSON data blocks are not executed.
var inlineScriptRE = regexp.MustCompile(`(?s)<script(\s[^>]*)?>(.*?)</script>`)

// DashboardCSP is the Content-Security-Policy for the dashboard in fsys:
// only its own origin, plus the hashes of index.html's inline scripts.
func DashboardCSP(fsys fs.FS) string {
	script := "'self'"
	if index, err := fs.ReadFile(fsys, "index.html"); err == nil {
		for _, m := range inlineScriptRE.FindAllStringSubmatch(string(index), -1) {
			attrs := m[1]
			if strings.Contains(attrs, "src=") || strings.Contains(attrs, "application/json") {
				continue
			}
			sum := sha256.Sum256([]byte(m[2]))
			script += " 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
		}
	}
	return "default-src 'self'; script-src " + script + "; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
		"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
}

// serveStatic serves the dashboard with an index.html fallback for the
// single-page app's own paths. Build assets are immutable (their names
// carry a content hash); index.html is revalidated.
func (s *Server) serveStatic(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/api/") || r.URL.Path == "/api" {
		s.writeError(w, r, pressluft.Errorf(pressluft.ENotFound, "No such API route."))
		return
	}
	if s.Static == nil || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		http.NotFound(w, r)
		return
	}
	s.cspOnce.Do(func() { s.csp = DashboardCSP(s.Static) })
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", s.csp)
	h.Set("Referrer-Policy", "same-origin")
	name := strings.TrimPrefix(r.URL.Path, "/")
	f, err := fs.Stat(s.Static, name)
	switch {
	case name != "" && err == nil && !f.IsDir():
		if strings.HasPrefix(name, "_nuxt/") {
			h.Set("Cache-Control", "public, max-age=31536000, immutable")
		}
		http.ServeFileFS(w, r, s.Static, name)
	case strings.HasPrefix(name, "_nuxt/"):
		// A missing asset is a 404, never the page: a script must not receive HTML.
		http.NotFound(w, r)
	default:
		h.Set("Cache-Control", "no-cache")
		http.ServeFileFS(w, r, s.Static, "index.html")
	}
}
