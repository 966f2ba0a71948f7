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
	"net/netip"
	"strings"
	"sync"
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
	Backups  pressluft.BackupService
	Releases pressluft.ReleaseService
	// ReleaseOps asks nodes what an environment runs (GET …/updates).
	ReleaseOps pressluft.ReleaseOps
	// Uploads streams archives uploaded for a deploy to nodes.
	Uploads pressluft.UploadOps
	// Promotions starts drift checks and promotions; PromoteOps asks nodes
	// which tables an environment has (protected tables must exist).
	Promotions pressluft.PromotionService
	PromoteOps pressluft.PromoteOps
	// BackupOps reads backups on nodes; Offsite reaches the offsite target.
	BackupOps pressluft.BackupOps
	Offsite   pressluft.OffsiteClient
	Metrics   pressluft.MetricsService
	// PublicKey returns the control plane's SSH public key (authorized_keys line).
	PublicKey func() string
	// Static is the dashboard; nil serves none.
	Static fs.FS
	// SecureCookies forces the Secure flag (behind a TLS-terminating proxy).
	SecureCookies bool
	// EventPoll is how often an SSE stream looks for new job events.
	EventPoll time.Duration
	// SessionRecheck is how often an SSE stream checks that the session or
	// token that opened it is still valid.
	SessionRecheck time.Duration
	// MaxStreamsPerUser caps the SSE streams one user holds open at once.
	MaxStreamsPerUser int
	// TrustedProxies are the peers whose X-Forwarded-For is believed.
	TrustedProxies []netip.Prefix
	// AllowedHosts are the Host names answered; empty answers any.
	AllowedHosts []string

	logger  *slog.Logger
	mux     *http.ServeMux
	routes  []Route
	limiter *limiter // login attempts per client
	account *limiter // login attempts per account
	streams streams
	csrf    *http.CrossOriginProtection
	server  *http.Server
	ln      net.Listener
	cspOnce sync.Once
	csp     string    // the dashboard's Content-Security-Policy, from Static's index.html
	gzipped gzipCache // the dashboard's text files, compressed once
}

// Route is one registered API route; the contract test compares these with
// openapi.yaml.
type Route struct {
	Method, Path, Action string
	Public               bool
}

// NewServer returns a Server with its routes registered.
func NewServer(logger *slog.Logger) *Server {
	s := &Server{logger: logger, mux: http.NewServeMux(), csrf: http.NewCrossOriginProtection(),
		limiter: newLimiter(loginsPerClient, time.Minute), account: newLimiter(loginsPerAccount, time.Minute),
		streams: streams{open: map[string]int{}}, EventPoll: 250 * time.Millisecond, SessionRecheck: 30 * time.Second, MaxStreamsPerUser: 10}
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

// ServeHTTP adds a request id and the API's headers, refuses Host names not
// allowed, recovers panics and logs every request.
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
	if r.URL.Path == "/api" || strings.HasPrefix(r.URL.Path, "/api/") || r.URL.Path == "/metrics" {
		// Answers carry sessions' data and secrets shown once: no cache keeps them.
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Content-Type-Options", "nosniff")
	}
	if !s.hostAllowed(r) {
		s.writeError(rec, r, pressluft.Errorf(pressluft.EForbidden, "This control plane does not answer for this host name."))
		return
	}
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
