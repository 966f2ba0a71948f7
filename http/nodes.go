package http

import (
	"context"
	"net/http"

	"github.com/pressluft/pressluft"
)

// pathID validates the {id} path value: a malformed id names nothing, so it
// answers 404 like an unknown one, on every route.
func (s *Server) pathID(w http.ResponseWriter, r *http.Request) (string, bool) {
	id := r.PathValue("id")
	if err := pressluft.ValidateID("id", id); err != nil {
		s.writeError(w, r, pressluft.Errorf(pressluft.ENotFound, "Not found: the id in the path is not a Pressluft id."))
		return "", false
	}
	return id, true
}

func (s *Server) handleNodeList(w http.ResponseWriter, r *http.Request) {
	nodes, err := s.Nodes.FindNodes(r.Context(), pressluft.NodeFilter{Status: r.URL.Query().Get("status")})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": nodes})
}

func (s *Server) handleNodeCreate(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Name    string `json:"name"`
		Host    string `json:"host"`
		SSHPort *int   `json:"ssh_port"`
		SSHUser string `json:"ssh_user"`
		IsLocal bool   `json:"is_local"`
	}
	if err := decode(w, r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	n := &pressluft.Node{Name: in.Name, Host: in.Host, SSHPort: 22, SSHUser: in.SSHUser, IsLocal: in.IsLocal}
	if in.SSHPort != nil {
		n.SSHPort = *in.SSHPort
	}
	if n.SSHUser == "" {
		n.SSHUser = "root"
	}
	if err := s.Nodes.CreateNode(r.Context(), n); err != nil {
		s.writeError(w, r, err)
		return
	}
	setAudit(r, "node", n.ID)
	writeJSON(w, http.StatusCreated, n)
}

func (s *Server) handleNodeSSHKey(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"public_key": s.PublicKey()})
}

func (s *Server) handleNodeGet(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	n, err := s.Nodes.FindNodeByID(r.Context(), id)
	s.reply(w, r, http.StatusOK, n, err)
}

func (s *Server) handleNodeDelete(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	if force, ok := s.forceParam(w, r); !ok {
		return
	} else if force {
		s.forget(w, r, "node", func(ctx context.Context) (*pressluft.Forgotten, error) { return s.Nodes.ForgetNode(ctx, id) })
		return
	}
	if err := s.Nodes.DeleteNode(r.Context(), id); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleNodeProvision(w http.ResponseWriter, r *http.Request) {
	s.nodeJob(w, r, s.Nodes.ProvisionNode)
}

func (s *Server) handleNodeCheck(w http.ResponseWriter, r *http.Request) {
	s.nodeJob(w, r, s.Nodes.CheckNode)
}

// nodeJob answers 202 with the job that start enqueued for the node.
func (s *Server) nodeJob(w http.ResponseWriter, r *http.Request, start func(ctx context.Context, id string) (*pressluft.Job, error)) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	j, err := start(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"job_id": j.ID, "node_id": id})
}

// forceParam reads ?force=: true asks for a forget instead of a delete.
func (s *Server) forceParam(w http.ResponseWriter, r *http.Request) (force, ok bool) {
	switch r.URL.Query().Get("force") {
	case "", "false":
		return false, true
	case "true":
		return true, true
	}
	s.writeError(w, r, pressluft.FieldError("force", "force must be true or false."))
	return false, false
}

// forget answers a DELETE with force=true: the resource leaves the control
// plane without its node being contacted, audited as <type>.forget with
// what may remain on the node.
func (s *Server) forget(w http.ResponseWriter, r *http.Request, resourceType string, do func(context.Context) (*pressluft.Forgotten, error)) {
	setAuditAction(r, resourceType+".forget", nil)
	f, err := do(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	setAuditAction(r, resourceType+".forget", map[string]any{"may_remain": f.MayRemain, "site_ids": f.SiteIDs,
		"environment_ids": f.EnvironmentIDs, "cancelled_jobs": f.CancelledJobs})
	writeJSON(w, http.StatusOK, f)
}
