package jobs

import (
	"context"
	"errors"
	"time"

	"github.com/pressluft/pressluft"
)

// envDeploy builds, switches and checks a release, and removes the
// archive uploaded for it once no attempt will read it again. A deploy
// that succeeds leaves none (the build removes it); one that fails and is
// retried, or is handed back at shutdown, keeps it for the next attempt.
// A job that ends without its handler returning (its worker lost on the
// last attempt, or cancelled while waiting for a retry) leaves it to the
// agent, which removes uploads older than a day at the next upload.
func (h *Handlers) envDeploy(ctx context.Context, j *pressluft.Job, p pressluft.Progress) (*pressluft.JobDone, error) {
	done, err := h.deployRelease(ctx, j, p)
	if err != nil && lastAttempt(ctx, j, err) {
		h.discardUpload(context.WithoutCancel(ctx), j, p)
	}
	return done, err
}

// lastAttempt reports whether the job ends with err: no retry follows and
// no other worker takes it over.
func lastAttempt(ctx context.Context, j *pressluft.Job, err error) bool {
	switch {
	case errors.Is(context.Cause(ctx), errShutdown):
		return false
	case ctx.Err() != nil: // cancelled, or out of time
		return true
	}
	return !pressluft.IsTransient(err) || j.Attempt >= j.MaxAttempts
}

// discardUpload removes the job's uploaded archive from the node, if it
// has one; failing to is only worth an event.
func (h *Handlers) discardUpload(ctx context.Context, j *pressluft.Job, p pressluft.Progress) {
	pl, err := readReleasePayload(j)
	if err != nil || pl.Upload == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	sc, err := h.loadEnv(ctx, j.EnvironmentID)
	if err == nil {
		err = h.Uploads.DiscardUpload(ctx, sc.node, sc.env.SystemName, pl.Upload.ID)
	}
	if err != nil {
		p.Event("upload", pressluft.LevelWarn, "The uploaded archive could not be removed from the node (the node removes it after a day): "+pressluft.ErrorMessage(err))
		return
	}
	p.Event("upload", pressluft.LevelInfo, "Removed the uploaded archive from the node.")
}

// uploadRef is what a release built from an upload records as its ref.
func uploadRef(up *pressluft.ArchiveUpload) string {
	if up == nil {
		return ""
	}
	return "upload sha256:" + up.SHA256
}
