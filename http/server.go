// Package http serves the JSON API, the Prometheus endpoint and the
// embedded dashboard over net/http.
package http

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/pressluft/pressluft"
)

// Server is the HTTP front of the control plane.
type Server struct {
	Auth     pressluft.AuthService
	Audit    pressluft.AuditService
	Nodes    pressluft.NodeService
	Sites    pressluft.SiteService
	Jobs     pressluft.JobService
	Settings pressluft.SettingsService
	Metrics  pressluft.MetricsService
	// PublicKey returns the control plane's SSH public key (authorized_keys line).
	PublicKey func() string
	// Static is the dashboard; nil serves none.
	Static fs.FS
	// SecureCookies forces the Secure flag (behind a TLS-terminating proxy).
	SecureCookies bool
	// EventPoll is how often an SSE stream looks for new job events.
	EventPoll time.Duration

	logger  *slog.Logger
	mux     *http.ServeMux
	routes  []Route
	limiter *limiter
	csrf    *http.CrossOriginProtection
	server  *http.Server
	ln      net.Listener
}

// Route is one registered API route; the contract test compares these with
// openapi.yaml.
type Route struct {
	Method, Path, Action string
	Public               bool
}

// NewServer returns a Server with its routes registered.
func NewServer(logger *slog.Logger) *Server {
	s := &Server{logger: logger, mux: http.NewServeMux(), limiter: newLimiter(10, time.Minute), csrf: http.NewCrossOriginProtection(),
		EventPoll: 250 * time.Millisecond}
	s.csrf.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, pressluft.Errorf(pressluft.EForbidden, "Cross-origin request refused."))
	}))
	s.registerRoutes()
	s.mux.HandleFunc("/", s.serveStatic)
	s.server = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second, // SSE streams extend their own deadline
		IdleTimeout:       120 * time.Second,
	}
	return s
}

// Routes lists the API routes.
func (s *Server) Routes() []Route { return s.routes }

// Open starts listening on addr ("127.0.0.1:0" picks a free port).
func (s *Server) Open(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	s.ln = ln
	go func() {
		if err := s.server.Serve(ln); err != nil && err != http.ErrServerClosed {
			s.logger.Error("http server", "err", err)
		}
	}()
	return nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops accepting requests and waits for running ones until ctx ends.
func (s *Server) Close(ctx context.Context) error { return s.server.Shutdown(ctx) }

// ServeHTTP adds a request id, recovers panics and logs every request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	id := newRequestID()
	r = r.WithContext(context.WithValue(r.Context(), requestIDKey{}, id))
	w.Header().Set("X-Request-Id", id)
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	defer func() {
		if v := recover(); v != nil {
			s.logger.Error("panic in handler", "request_id", id, "panic", v)
			s.writeError(rec, r, pressluft.Errorf(pressluft.EInternal, "panic"))
		}
		s.logger.Info("request", "request_id", id, "method", r.Method, "path", r.URL.Path, "status", rec.status,
			"duration_ms", time.Since(start).Milliseconds())
	}()
	s.mux.ServeHTTP(rec, r)
}

type requestIDKey struct{}

func newRequestID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func requestID(r *http.Request) string {
	id, _ := r.Context().Value(requestIDKey{}).(string)
	return id
}

// statusRecorder remembers the status for logs and the audit log.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (w *statusRecorder) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach Flush and deadlines.
func (w *statusRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// clientIP is the peer address; forwarded headers are not trusted.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// serveStatic serves the dashboard with an index.html fallback for the
// single-page app's own paths.
func (s *Server) serveStatic(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/api/") || r.URL.Path == "/api" {
		s.writeError(w, r, pressluft.Errorf(pressluft.ENotFound, "No such API route."))
		return
	}
	if s.Static == nil || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'")
	name := strings.TrimPrefix(r.URL.Path, "/")
	if f, err := fs.Stat(s.Static, name); name == "" || err != nil || f.IsDir() {
		http.ServeFileFS(w, r, s.Static, "index.html")
		return
	}
	http.ServeFileFS(w, r, s.Static, name)
}
