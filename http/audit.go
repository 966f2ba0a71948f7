package http

import (
	"net/http"
	"time"

	"github.com/pressluft/pressluft"
)

func (s *Server) handleAuditList(w http.ResponseWriter, r *http.Request) {
	lo, err := listOptions(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	f := pressluft.AuditFilter{Actor: q.Get("actor"), Action: q.Get("action"), ResourceType: q.Get("resource_type"),
		ResourceID: q.Get("resource_id"), ListOptions: lo}
	for name, into := range map[string]**time.Time{"since": &f.Since, "until": &f.Until} {
		if v := q.Get(name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				s.writeError(w, r, pressluft.FieldError(name, "%s must be an RFC 3339 time.", name))
				return
			}
			*into = &t
		}
	}
	entries, next, err := s.Audit.FindAuditEntries(r.Context(), f)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": entries, "next_cursor": next})
}

func (s *Server) handleSettingsGet(w http.ResponseWriter, r *http.Request) {
	st, err := s.Settings.GetSettings(r.Context())
	s.reply(w, r, http.StatusOK, st, err)
}

func (s *Server) handleSettingsUpdate(w http.ResponseWriter, r *http.Request) {
	var in pressluft.SettingsUpdate
	if err := decode(w, r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	setAudit(r, "settings", "")
	st, err := s.Settings.UpdateSettings(r.Context(), in)
	s.reply(w, r, http.StatusOK, st, err)
}
