package http

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/pressluft/pressluft"
)

func (s *Server) handleDriftCheck(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	j, err := s.Promotions.StartDriftCheck(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"job_id": j.ID, "environment_id": id})
}

func (s *Server) handleDriftCheckList(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	items, err := s.Promotions.FindDriftChecks(r.Context(), id)
	s.reply(w, r, http.StatusOK, map[string]any{"items": items}, err)
}

func (s *Server) handlePromote(w http.ResponseWriter, r *http.Request) {
	releaseJob(s, w, r, s.Promotions.Promote)
}

func (s *Server) handlePromotionGet(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	g, err := s.Promotions.Gates(r.Context(), id)
	s.reply(w, r, http.StatusOK, g, err)
}

func (s *Server) handlePromotionPut(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	var in pressluft.Protection
	if err := decode(w, r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	env, err := s.Sites.FindEnvironmentByID(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	known, err := s.tablesOf(r.Context(), in.Tables, env.ID, env.SourceEnvironmentID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	env, err = s.Promotions.SetProtection(r.Context(), id, in, known)
	s.reply(w, r, http.StatusOK, env, err)
}

// tablesOf asks the nodes which tables the environments have, so that a
// protected table that does not exist is refused when it is named. Patterns
// need no lookup; nor does an empty list.
func (s *Server) tablesOf(ctx context.Context, names []string, envIDs ...string) (map[string]bool, error) {
	plain := false
	for _, n := range names {
		plain = plain || !strings.Contains(n, "*")
	}
	if !plain {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	known := map[string]bool{}
	for _, id := range envIDs {
		if id == "" {
			continue
		}
		env, err := s.Sites.FindEnvironmentByID(ctx, id)
		if err != nil {
			return nil, err
		}
		node, err := s.Nodes.FindNodeByID(ctx, env.NodeID)
		if err != nil {
			return nil, err
		}
		st, err := s.PromoteOps.EnvState(ctx, node, env.Spec("", ""), pressluft.NoProgress{})
		if err != nil {
			return nil, err
		}
		for t := range st.Tables {
			known[t] = true
		}
	}
	return known, nil
}
