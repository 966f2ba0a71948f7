package http

import (
	"context"
	"net/http"
	"time"

	"github.com/pressluft/pressluft"
)

func (s *Server) handleReleaseList(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	items, err := s.Releases.FindReleases(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items})
}

// releaseJob decodes a request of type T and starts the job start makes of it.
func releaseJob[T any](s *Server, w http.ResponseWriter, r *http.Request, start func(ctx context.Context, envID string, in T) (*pressluft.Job, error)) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	var in T
	if err := decode(w, r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	j, err := start(r.Context(), id, in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"job_id": j.ID, "environment_id": j.EnvironmentID})
}

// handleDeploy takes a JSON request, or the archive itself as the body.
func (s *Server) handleDeploy(w http.ResponseWriter, r *http.Request) {
	switch ct := bodyType(r); {
	case archiveTypes[ct]:
		s.handleDeployUpload(w, r)
	case ct == "" || ct == "application/json":
		releaseJob(s, w, r, s.Releases.Deploy)
	default:
		s.writeError(w, r, pressluft.Errorf(pressluft.EUnsupportedMedia,
			"A deploy is a JSON request (application/json) or an archive as the body (application/zip, application/gzip, application/zstd or application/octet-stream), not %s.", clipField(ct)))
	}
}

func (s *Server) handleUpdate(w http.ResponseWriter, r *http.Request) {
	releaseJob(s, w, r, s.Releases.Update)
}

func (s *Server) handleRollback(w http.ResponseWriter, r *http.Request) {
	releaseJob(s, w, r, s.Releases.Rollback)
}

// handleUpdatesList asks the node what the environment runs and what is
// available; an offline node says so instead of failing the page.
func (s *Server) handleUpdatesList(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	env, err := s.Sites.FindEnvironmentByID(ctx, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	node, err := s.Nodes.FindNodeByID(ctx, env.NodeID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	info, err := s.ReleaseOps.Updates(ctx, node, env.Spec("", ""))
	s.reply(w, r, http.StatusOK, info, err)
}

func (s *Server) handleHealthPaths(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	var in struct {
		Paths []string `json:"paths"`
	}
	if err := decode(w, r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	env, err := s.Releases.SetHealthPaths(r.Context(), id, in.Paths)
	s.reply(w, r, http.StatusOK, env, err)
}

func (s *Server) handleDeployKey(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	pub, err := s.Releases.DeployKey(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"public_key": pub})
}
