package http

import (
	"net/http"
	"strings"
	"time"

	"github.com/pressluft/pressluft"
)

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "version": pressluft.Version})
}

func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Email    string `json:"email"`
		Password string `json:"password"`
	}
	if err := decode(w, r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	// Checked before anything is recorded: no address is that long, and the
	// audit log does not take a megabyte from whoever asks.
	if len(in.Email) > pressluft.MaxEmail {
		s.writeError(w, r, pressluft.FieldError("email", "email must be at most %d bytes.", pressluft.MaxEmail))
		return
	}
	if a, ok := r.Context().Value(auditKey{}).(*auditInfo); ok {
		a.actor = in.Email
	}
	now := time.Now()
	if !s.limiter.allow(s.clientIP(r), now) || !s.account.allow(strings.ToLower(strings.TrimSpace(in.Email)), now) {
		w.Header().Set("Retry-After", "60")
		s.writeError(w, r, pressluft.Errorf(pressluft.ERateLimited, "Too many login attempts; wait a minute and try again."))
		return
	}
	u, token, err := s.Auth.Login(r.Context(), in.Email, in.Password)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	setAudit(r, "user", u.ID)
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: token, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: s.SecureCookies || r.TLS != nil, MaxAge: int(pressluft.SessionAbsoluteTimeout / time.Second),
	})
	writeJSON(w, http.StatusOK, u)
}

func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
		if u, err := s.Auth.AuthenticateSession(r.Context(), c.Value); err == nil {
			if a, ok := r.Context().Value(auditKey{}).(*auditInfo); ok {
				a.actor = u.Email
			}
			setAudit(r, "user", u.ID)
		}
		if err := s.Auth.Logout(r.Context(), c.Value); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: s.SecureCookies || r.TLS != nil, MaxAge: -1})
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleMe(w http.ResponseWriter, r *http.Request) {
	a := pressluft.ActorFromContext(r.Context())
	writeJSON(w, http.StatusOK, map[string]any{"id": a.UserID, "email": a.Email, "token_id": a.TokenID})
}

func (s *Server) handleTokenList(w http.ResponseWriter, r *http.Request) {
	tokens, err := s.Auth.FindAPITokens(r.Context(), pressluft.ActorFromContext(r.Context()).UserID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": tokens})
}

func (s *Server) handleTokenCreate(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Name string `json:"name"`
	}
	if err := decode(w, r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	t, token, err := s.Auth.CreateAPIToken(r.Context(), pressluft.ActorFromContext(r.Context()).UserID, in.Name)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	setAudit(r, "token", t.ID)
	writeJSON(w, http.StatusCreated, map[string]any{"token": token, "api_token": t})
}

func (s *Server) handleTokenRevoke(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	if err := s.Auth.RevokeAPIToken(r.Context(), pressluft.ActorFromContext(r.Context()).UserID, id); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
