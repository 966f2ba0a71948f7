package http

import (
	"context"
	"net/http"
	"time"

	"github.com/pressluft/pressluft"
)

func (s *Server) handleSiteList(w http.ResponseWriter, r *http.Request) {
	sites, err := s.Sites.FindSites(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": sites})
}

func (s *Server) handleSiteCreate(w http.ResponseWriter, r *http.Request) {
	var in pressluft.SiteCreate
	if err := decode(w, r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	created, err := s.Sites.CreateSite(r.Context(), in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	setAudit(r, "site", created.Site.ID)
	writeJSON(w, http.StatusAccepted, map[string]any{
		"job_id": created.Job.ID, "site": created.Site, "environment_id": created.Environment.ID,
		"environment": created.Environment, "admin_user": created.AdminUser, "admin_password": created.AdminPassword,
	})
}

func (s *Server) handleSiteGet(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	site, err := s.Sites.FindSiteByID(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	envs, err := s.Sites.FindEnvironments(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		*pressluft.Site
		Environments []*pressluft.Environment `json:"environments"`
	}{site, envs})
}

func (s *Server) handleSiteDelete(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	if force, ok := s.forceParam(w, r); !ok {
		return
	} else if force {
		s.forget(w, r, "site", func(ctx context.Context) (*pressluft.Forgotten, error) { return s.Sites.ForgetSite(ctx, id) })
		return
	}
	j, err := s.Sites.DeleteSite(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"job_id": j.ID, "site_id": id})
}

func (s *Server) handleSiteReset(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	site, err := s.Sites.ResetSite(r.Context(), id)
	s.reply(w, r, http.StatusOK, site, err)
}

func (s *Server) handleEnvList(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	envs, err := s.Sites.FindEnvironments(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": envs})
}

func (s *Server) handleEnvCreate(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	setAudit(r, "site", id) // until the environment exists
	var in pressluft.EnvironmentCreate
	if err := decode(w, r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	if len(in.ProtectedTables) > 0 {
		// Named tables must exist in the source the copy is made from.
		known, err := s.tablesOf(r.Context(), in.ProtectedTables, in.SourceEnvironmentID)
		if err == nil && known != nil {
			p := pressluft.Protection{Preset: in.PromotionPreset, Tables: in.ProtectedTables}
			if p.Preset == "" {
				p.Preset = pressluft.PresetContent
			}
			err = p.Validate(known)
		}
		if err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	env, j, err := s.Sites.CreateEnvironment(r.Context(), id, in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	setAudit(r, "environment", env.ID)
	writeJSON(w, http.StatusAccepted, map[string]any{"job_id": j.ID, "environment_id": env.ID, "environment": env})
}

func (s *Server) handleEnvGet(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	env, err := s.Sites.FindEnvironmentByID(r.Context(), id)
	s.reply(w, r, http.StatusOK, env, err)
}

func (s *Server) handleEnvDelete(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	if force, ok := s.forceParam(w, r); !ok {
		return
	} else if force {
		s.forget(w, r, "environment", func(ctx context.Context) (*pressluft.Forgotten, error) { return s.Sites.ForgetEnvironment(ctx, id) })
		return
	}
	j, err := s.Sites.DeleteEnvironment(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"job_id": j.ID, "environment_id": id})
}

func (s *Server) handleEnvReset(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	if err := s.serveRecordedRelease(r.Context(), id); err != nil {
		s.writeError(w, r, err)
		return
	}
	env, err := s.Sites.ResetEnvironment(r.Context(), id)
	s.reply(w, r, http.StatusOK, env, err)
}

// serveRecordedRelease makes the node serve the release the control plane
// records as a failed environment's current one, before reset marks it
// active: a job whose worker died on its last attempt after it switched
// releases leaves the node serving a release that was never recorded.
func (s *Server) serveRecordedRelease(ctx context.Context, envID string) error {
	env, err := s.Sites.FindEnvironmentByID(ctx, envID)
	if err != nil || env.Status != pressluft.StatusFailed || env.CurrentReleaseID == "" {
		return nil // reset refuses what it cannot recover, and says why
	}
	node, err := s.Nodes.FindNodeByID(ctx, env.NodeID)
	if err != nil || node.Status != pressluft.NodeActive {
		return nil
	}
	rel, err := s.Releases.FindReleaseByID(ctx, env.CurrentReleaseID)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 45*time.Second) // within the server's write timeout
	defer cancel()
	facts, err := s.ReleaseOps.SwitchRelease(ctx, node, env.Spec(rel.Dir(), ""), rel.Dir(), noProgress{})
	if err == nil && (facts == nil || !facts.Installed || !facts.DBOK) {
		err = pressluft.Errorf(pressluft.EHealthCheckFailed, "WordPress does not report itself installed with its database reachable.")
	}
	if err != nil {
		return pressluft.Errorf(pressluft.EResetValidation, "The node could not serve release %s, the environment's current one, again: %s The environment stays failed.",
			rel.Dir(), pressluft.ErrorMessage(err))
	}
	return nil
}

// noProgress drops the progress of node work done outside a job.
type noProgress struct{}

func (noProgress) Event(string, string, string) {}
func (noProgress) Output(string)                {}
