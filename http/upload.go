package http

import (
	"crypto/rand"
	"encoding/hex"
	"mime"
	"net/http"
	"time"

	"github.com/pressluft/pressluft"
)

// archiveTypes are the Content-Types of a deploy whose body is the archive.
var archiveTypes = map[string]bool{
	"application/zip":          true,
	"application/gzip":         true,
	"application/zstd":         true,
	"application/octet-stream": true,
}

// bodyType is the media type of the request body without parameters; ""
// when none is given.
func bodyType(r *http.Request) string {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return ""
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return ct
	}
	return mt
}

// handleDeployUpload streams the request body, an archive, to the
// environment's node and starts the deploy from it. The body is copied
// through as it arrives: the control plane keeps no copy in memory or on
// disk. The job removes the upload when it ends; a deploy that cannot
// start removes it here.
func (s *Server) handleDeployUpload(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	size := r.ContentLength
	switch {
	case s.Uploads == nil:
		s.writeError(w, r, pressluft.Errorf(pressluft.ENotImplemented, "This server takes no uploaded archives; deploy from an archive URL."))
		return
	case size < 0:
		s.writeError(w, r, pressluft.Errorf(pressluft.ELengthRequired,
			"An uploaded archive needs a Content-Length header: its size is checked against the limit before it is sent."))
		return
	case size == 0:
		s.writeError(w, r, pressluft.Errorf(pressluft.EBadRequest, "The uploaded archive is empty."))
		return
	case size > pressluft.MaxUploadBytes:
		s.writeError(w, r, &pressluft.Error{Code: pressluft.EArchiveTooLarge,
			Message: "The archive is larger than the upload limit of 512 MiB; nothing was sent to the node.",
			Details: map[string]any{"max_bytes": pressluft.MaxUploadBytes, "size": size}})
		return
	}
	ctx := r.Context()
	env, err := s.Sites.FindEnvironmentByID(ctx, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	} else if env.Status != pressluft.StatusActive {
		s.writeError(w, r, pressluft.Errorf(pressluft.EConflict, "Environment is %s; it must be active.", env.Status))
		return
	}
	node, err := s.Nodes.FindNodeByID(ctx, env.NodeID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// The server's read timeout is for small bodies; an archive may take
	// minutes (at 256 KiB/s, the slowest link it waits for).
	deadline := time.Now().Add(time.Minute + time.Duration(size/(256<<10))*time.Second)
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(deadline)
	_ = rc.SetWriteDeadline(deadline.Add(time.Minute))

	start := time.Now()
	up, err := s.Uploads.ReceiveUpload(ctx, node, env.SystemName, newUploadID(), size, pressluft.MaxUploadBytes, r.Body)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	setAuditAction(r, "environment.deploy", map[string]any{"source": "upload", "size": up.Size, "sha256": up.SHA256})
	j, err := s.Releases.Deploy(ctx, id, pressluft.DeployRequest{SourceType: pressluft.ReleaseArchive, Upload: up})
	if err != nil {
		// No job took the upload: nothing else would remove it.
		if derr := s.Uploads.DiscardUpload(ctx, node, env.SystemName, up.ID); derr != nil {
			s.logger.Warn("remove an upload no deploy took", "request_id", requestID(r), "upload", up.ID, "err", derr)
		}
		s.writeError(w, r, err)
		return
	}
	s.logger.Info("archive uploaded", "request_id", requestID(r), "environment_id", id, "bytes", up.Size,
		"seconds", time.Since(start).Seconds(), "job_id", j.ID)
	writeJSON(w, http.StatusAccepted, map[string]any{"job_id": j.ID, "environment_id": id, "upload": up})
}

// newUploadID names an upload on its node: unique, and of the agent's shape.
func newUploadID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return time.Now().UTC().Format("20060102T150405") + "-" + hex.EncodeToString(b)
}
