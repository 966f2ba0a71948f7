package http

import (
	"context"
	"net/http"
	"strings"

	"github.com/pressluft/pressluft"
)

func (s *Server) registerRoutes() {
	pub := routeOpts{public: true}
	s.handle("GET /api/health", "", s.handleHealth, pub)
	s.handle("POST /api/login", "auth.login", s.handleLogin, pub)
	s.handle("POST /api/logout", "auth.logout", s.handleLogout, pub)
	s.handle("GET /api/me", "", s.handleMe, routeOpts{})

	s.handle("GET /api/tokens", "", s.handleTokenList, routeOpts{})
	s.handle("POST /api/tokens", "token.create", s.handleTokenCreate, routeOpts{})
	s.handle("DELETE /api/tokens/{id}", "token.revoke", s.handleTokenRevoke, routeOpts{})

	s.handle("GET /api/nodes", "", s.handleNodeList, routeOpts{})
	s.handle("POST /api/nodes", "node.create", s.handleNodeCreate, routeOpts{})
	s.handle("GET /api/nodes/ssh-key", "", s.handleNodeSSHKey, routeOpts{})
	s.handle("GET /api/nodes/{id}", "", s.handleNodeGet, routeOpts{})
	s.handle("DELETE /api/nodes/{id}", "node.delete", s.handleNodeDelete, routeOpts{})
	s.handle("POST /api/nodes/{id}/provision", "node.provision", s.handleNodeProvision, routeOpts{})
	s.handle("POST /api/nodes/{id}/check", "node.check", s.handleNodeCheck, routeOpts{})

	s.handle("GET /api/sites", "", s.handleSiteList, routeOpts{})
	s.handle("POST /api/sites", "site.create", s.handleSiteCreate, routeOpts{})
	s.handle("GET /api/sites/{id}", "", s.handleSiteGet, routeOpts{})
	s.handle("DELETE /api/sites/{id}", "site.delete", s.handleSiteDelete, routeOpts{})
	s.handle("POST /api/sites/{id}/reset", "site.reset", s.handleSiteReset, routeOpts{})
	s.handle("GET /api/sites/{id}/environments", "", s.handleEnvList, routeOpts{})
	s.handle("POST /api/sites/{id}/environments", "environment.create", s.handleEnvCreate, routeOpts{})
	s.handle("GET /api/environments/{id}", "", s.handleEnvGet, routeOpts{})
	s.handle("DELETE /api/environments/{id}", "environment.delete", s.handleEnvDelete, routeOpts{})
	s.handle("POST /api/environments/{id}/reset", "environment.reset", s.handleEnvReset, routeOpts{})

	s.handle("GET /api/environments/{id}/backups", "", s.handleBackupList, routeOpts{})
	s.handle("POST /api/environments/{id}/backups", "backup.create", s.handleBackupCreate, routeOpts{})
	s.handle("POST /api/environments/{id}/restore", "environment.restore", s.handleRestore, routeOpts{})
	s.handle("GET /api/environments/{id}/backup-schedule", "", s.handleScheduleGet, routeOpts{})
	s.handle("PUT /api/environments/{id}/backup-schedule", "backup_schedule.update", s.handleSchedulePut, routeOpts{})
	s.handle("DELETE /api/environments/{id}/backup-schedule", "backup_schedule.delete", s.handleScheduleDelete, routeOpts{})
	s.handle("GET /api/environments/{id}/releases", "", s.handleReleaseList, routeOpts{})
	s.handle("POST /api/environments/{id}/deploy", "environment.deploy", s.handleDeploy, routeOpts{})
	s.handle("GET /api/environments/{id}/updates", "", s.handleUpdatesList, routeOpts{})
	s.handle("POST /api/environments/{id}/updates", "environment.update", s.handleUpdate, routeOpts{})
	s.handle("POST /api/environments/{id}/rollback", "environment.rollback", s.handleRollback, routeOpts{})
	s.handle("PUT /api/environments/{id}/health-paths", "environment.health_paths", s.handleHealthPaths, routeOpts{})
	s.handle("POST /api/environments/{id}/drift-check", "environment.drift_check", s.handleDriftCheck, routeOpts{})
	s.handle("GET /api/environments/{id}/drift-checks", "", s.handleDriftCheckList, routeOpts{})
	s.handle("GET /api/environments/{id}/promotion", "", s.handlePromotionGet, routeOpts{})
	s.handle("PUT /api/environments/{id}/promotion", "environment.protection", s.handlePromotionPut, routeOpts{})
	s.handle("POST /api/environments/{id}/promote", "environment.promote", s.handlePromote, routeOpts{})
	s.handle("GET /api/sites/{id}/deploy-key", "site.deploy_key", s.handleDeployKey, routeOpts{})
	s.handle("GET /api/backups/{id}", "", s.handleBackupGet, routeOpts{})
	s.handle("DELETE /api/backups/{id}", "backup.delete", s.handleBackupDelete, routeOpts{})
	s.handle("GET /api/backups/{id}/download", "backup.download", s.handleBackupDownload, routeOpts{})
	s.handle("POST /api/backups/{id}/upload", "backup.upload", s.handleBackupUpload, routeOpts{})

	s.handle("GET /api/jobs", "", s.handleJobList, routeOpts{})
	s.handle("GET /api/jobs/{id}", "", s.handleJobGet, routeOpts{})
	s.handle("GET /api/jobs/{id}/events", "", s.handleJobEvents, routeOpts{})
	s.handle("POST /api/jobs/{id}/cancel", "job.cancel", s.handleJobCancel, routeOpts{})

	s.handle("GET /api/audit", "", s.handleAuditList, routeOpts{})
	s.handle("GET /api/metrics", "", s.handleMetrics, routeOpts{})
	s.handle("GET /metrics", "", s.handlePrometheus, routeOpts{})
	s.handle("GET /api/settings", "", s.handleSettingsGet, routeOpts{})
	s.handle("PUT /api/settings", "settings.update", s.handleSettingsUpdate, routeOpts{})
	s.handle("GET /api/settings/offsite", "", s.handleOffsiteGet, routeOpts{})
	s.handle("PUT /api/settings/offsite", "settings.offsite_update", s.handleOffsitePut, routeOpts{})
	s.handle("DELETE /api/settings/offsite", "settings.offsite_delete", s.handleOffsiteDelete, routeOpts{})
	s.handle("POST /api/settings/offsite/test", "settings.offsite_test", s.handleOffsiteTest, routeOpts{})
}

type routeOpts struct{ public bool }

// handle registers a route behind authentication (unless public), the
// cross-origin check for mutations, and the audit log for every mutation.
func (s *Server) handle(pattern, action string, h http.HandlerFunc, o routeOpts) {
	method, path, _ := strings.Cut(pattern, " ")
	s.routes = append(s.routes, Route{Method: method, Path: path, Action: action, Public: o.public})
	// Outermost first: audit sees every result, refusals included.
	next := http.Handler(h)
	if !o.public {
		next = s.authenticated(next)
	}
	if method != http.MethodGet {
		next = s.csrf.Handler(next)
	}
	if action != "" {
		next = s.audited(action, next)
	}
	s.mux.Handle(pattern, next)
}

const sessionCookie = "pressluft_session"

// authenticated resolves the session cookie or bearer token into an actor.
func (s *Server) authenticated(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var actor *pressluft.Actor
		var recheck func(context.Context) error
		if h := r.Header.Get("Authorization"); h != "" {
			token, ok := strings.CutPrefix(h, "Bearer ")
			if !ok {
				s.writeError(w, r, pressluft.Errorf(pressluft.EUnauthorized, "Authorization must be a Bearer token."))
				return
			}
			token = strings.TrimSpace(token)
			u, t, err := s.Auth.AuthenticateToken(r.Context(), token)
			if err != nil {
				s.writeError(w, r, err)
				return
			}
			actor = &pressluft.Actor{UserID: u.ID, Email: u.Email, TokenID: t.ID}
			recheck = func(ctx context.Context) error { _, _, err := s.Auth.AuthenticateToken(ctx, token); return err }
		} else if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
			u, err := s.Auth.AuthenticateSession(r.Context(), c.Value)
			if err != nil {
				s.writeError(w, r, err)
				return
			}
			actor = &pressluft.Actor{UserID: u.ID, Email: u.Email}
			recheck = func(ctx context.Context) error { _, err := s.Auth.AuthenticateSession(ctx, c.Value); return err }
		} else {
			s.writeError(w, r, pressluft.Errorf(pressluft.EUnauthorized, "Log in or send an API token."))
			return
		}
		if a, ok := r.Context().Value(auditKey{}).(*auditInfo); ok {
			a.actor = actor.Email
		}
		ctx := context.WithValue(pressluft.NewContextWithActor(r.Context(), actor), recheckKey{}, recheck)
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

type recheckKey struct{}

// stillAuthenticated checks again the credentials the request came with; long
// requests (event streams) call it to end when the session or token ends.
func stillAuthenticated(ctx context.Context) error {
	if f, ok := ctx.Value(recheckKey{}).(func(context.Context) error); ok {
		return f(ctx)
	}
	return pressluft.Errorf(pressluft.EUnauthorized, "Log in or send an API token.")
}

// auditInfo is filled in on the way in: the actor by authentication (or by
// login, with the e-mail tried), the resource by handlers that create one.
type auditInfo struct {
	resourceType, resourceID, actor string
	action                          string         // set when the request is not its route's action
	details                         map[string]any // what the action recorded beyond the request
}

type auditKey struct{}

func setAudit(r *http.Request, resourceType, resourceID string) {
	if a, ok := r.Context().Value(auditKey{}).(*auditInfo); ok {
		a.resourceType, a.resourceID = resourceType, resourceID
	}
}

// setAuditAction records the request as another action than its route's (a
// DELETE with force=true is a forget), with details.
func setAuditAction(r *http.Request, action string, details map[string]any) {
	if a, ok := r.Context().Value(auditKey{}).(*auditInfo); ok {
		a.action, a.details = action, details
	}
}

// audited writes one audit entry per request, whatever its result.
func (s *Server) audited(action string, next http.Handler) http.Handler {
	resourceType, _, _ := strings.Cut(action, ".")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info := &auditInfo{resourceType: resourceType, resourceID: r.PathValue("id")}
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		// A client that goes away neither stops a mutation half-way nor
		// keeps it out of the audit log.
		ctx := context.WithoutCancel(r.Context())
		next.ServeHTTP(rec, r.WithContext(context.WithValue(ctx, auditKey{}, info)))
		actor := info.actor
		if actor == "" {
			actor = "anonymous"
		}
		result := "success"
		if rec.status >= 400 {
			result = "failure"
		}
		recorded := action
		if info.action != "" {
			recorded = info.action
		}
		e := &pressluft.AuditEntry{Actor: actor, Action: recorded, ResourceType: info.resourceType, ResourceID: info.resourceID,
			Result: result, StatusCode: rec.status, RequestID: requestID(r), IP: s.clientIP(r), Details: info.details}
		if err := s.Audit.Record(ctx, e); err != nil {
			s.logger.Error("write audit entry", "request_id", requestID(r), "err", err)
		}
	})
}
