package http

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/pressluft/pressluft"
)

// listOptions reads ?limit= and ?cursor=.
func listOptions(r *http.Request) (pressluft.ListOptions, error) {
	q := r.URL.Query()
	o := pressluft.ListOptions{Cursor: q.Get("cursor")}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			return o, pressluft.FieldError("limit", "limit must be a number from 1 to 500.")
		}
		o.Limit = n
	}
	return o, nil
}

var jobStatuses = map[string]bool{pressluft.JobQueued: true, pressluft.JobRunning: true, pressluft.JobSucceeded: true,
	pressluft.JobFailed: true, pressluft.JobCancelled: true}

func (s *Server) handleJobList(w http.ResponseWriter, r *http.Request) {
	lo, err := listOptions(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	f := pressluft.JobFilter{Status: q.Get("status"), Type: q.Get("type"), SiteID: q.Get("site_id"),
		EnvironmentID: q.Get("environment_id"), NodeID: q.Get("node_id"), ListOptions: lo}
	if f.Status != "" && !jobStatuses[f.Status] {
		s.writeError(w, r, pressluft.FieldError("status", "status must be queued, running, succeeded, failed or cancelled."))
		return
	}
	jobs, next, err := s.Jobs.FindJobs(r.Context(), f)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if jobs == nil {
		jobs = []*pressluft.Job{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": jobs, "next_cursor": next})
}

func (s *Server) handleJobGet(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	j, err := s.Jobs.FindJobByID(r.Context(), id)
	s.reply(w, r, http.StatusOK, j, err)
}

func (s *Server) handleJobCancel(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	j, err := s.Jobs.CancelJob(r.Context(), id)
	s.reply(w, r, http.StatusOK, j, err)
}

// handleJobEvents streams a job's events as Server-Sent Events: the stored
// history first (after Last-Event-ID on reconnect), then new events as they
// are written, and the job itself whenever its status changes. It reads the
// database rather than in-process state, so it sees jobs run by any worker.
// The stream ends when the job is finished, and when the session or token
// that opened it ends (checked every SessionRecheck); a user holds at most
// MaxStreamsPerUser streams.
func (s *Server) handleJobEvents(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	j, err := s.Jobs.FindJobByID(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	user := pressluft.ActorFromContext(r.Context()).UserID
	if !s.streams.acquire(user, s.MaxStreamsPerUser) {
		s.writeError(w, r, pressluft.Errorf(pressluft.ERateLimited, "Too many open event streams; close one and try again."))
		return
	}
	defer s.streams.release(user)
	var after int64
	if v := r.Header.Get("Last-Event-ID"); v != "" {
		after, _ = strconv.ParseInt(v, 10, 64)
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)

	lastStatus, checked := "", time.Now()
	ticker := time.NewTicker(s.EventPoll)
	defer ticker.Stop()
	for {
		_ = rc.SetWriteDeadline(time.Now().Add(time.Minute))
		events, err := s.Jobs.FindJobEvents(r.Context(), id, after)
		if err != nil {
			return
		}
		for _, e := range events {
			writeSSE(w, "progress", strconv.FormatInt(e.Seq, 10), e)
			after = e.Seq
		}
		if j.Status != lastStatus {
			j.Events, j.OutputTail = nil, ""
			writeSSE(w, "job", "", j)
			lastStatus = j.Status
		}
		if err := rc.Flush(); err != nil {
			return
		}
		if j.Terminal() {
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-ticker.C:
		}
		if time.Since(checked) >= s.SessionRecheck {
			if stillAuthenticated(r.Context()) != nil {
				return
			}
			checked = time.Now()
		}
		if j, err = s.Jobs.FindJobByID(r.Context(), id); err != nil {
			return
		}
	}
}

func writeSSE(w http.ResponseWriter, event, id string, v any) {
	body, _ := json.Marshal(v)
	if id != "" {
		fmt.Fprintf(w, "id: %s\n", id)
	}
	fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, body)
}
