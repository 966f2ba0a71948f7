package http

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"io/fs"
	"net/http"
	"path"
	"regexp"
	"strings"
	"sync"
	"time"

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
		s.serveFile(w, r, name)
	case strings.HasPrefix(name, "_nuxt/"):
		// A missing asset is a 404, never the page: a script must not receive HTML.
		http.NotFound(w, r)
	default:
		h.Set("Cache-Control", "no-cache")
		s.serveFile(w, r, "index.html")
	}
}

// compressible are the dashboard's text assets, sent gzipped when accepted.
var compressible = map[string]bool{".js": true, ".css": true, ".html": true, ".svg": true, ".json": true}

// serveFile serves one embedded file, gzipped for clients that accept it.
// The files never change while the process runs, so each is compressed once.
func (s *Server) serveFile(w http.ResponseWriter, r *http.Request, name string) {
	w.Header().Add("Vary", "Accept-Encoding")
	if !compressible[path.Ext(name)] || !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		http.ServeFileFS(w, r, s.Static, name)
		return
	}
	gz, err := s.gzipped.get(s.Static, name)
	if err != nil {
		http.ServeFileFS(w, r, s.Static, name)
		return
	}
	w.Header().Set("Content-Encoding", "gzip")
	if ct := mimeType(name); ct != "" {
		w.Header().Set("Content-Type", ct)
	}
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(gz))
}

func mimeType(name string) string {
	switch path.Ext(name) {
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".html":
		return "text/html; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	case ".json":
		return "application/json"
	}
	return ""
}

// gzipCache holds the compressed embedded files.
type gzipCache struct {
	mu    sync.Mutex
	files map[string][]byte
}

func (c *gzipCache) get(fsys fs.FS, name string) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if b, ok := c.files[name]; ok {
		return b, nil
	}
	raw, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if _, err := zw.Write(raw); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	if c.files == nil {
		c.files = map[string][]byte{}
	}
	c.files[name] = buf.Bytes()
	return c.files[name], nil
}
