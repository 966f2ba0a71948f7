package http

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/pressluft/pressluft"
)

func (s *Server) handleBackupList(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	items, err := s.Backups.FindBackups(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items})
}

func (s *Server) handleBackupCreate(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	setAudit(r, "environment", id) // until the backup exists
	var in struct {
		Scope string `json:"scope"`
	}
	if err := decode(w, r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	b, j, err := s.Backups.CreateBackup(r.Context(), id, in.Scope, pressluft.TriggerManual)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	setAudit(r, "backup", b.ID)
	writeJSON(w, http.StatusAccepted, map[string]any{"job_id": j.ID, "backup_id": b.ID, "backup": b})
}

func (s *Server) handleBackupGet(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	b, err := s.Backups.FindBackupByID(r.Context(), id)
	s.reply(w, r, http.StatusOK, b, err)
}

func (s *Server) handleBackupDelete(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	j, err := s.Backups.DeleteBackup(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"job_id": j.ID, "backup_id": id})
}

func (s *Server) handleBackupUpload(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	j, err := s.Backups.UploadBackup(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"job_id": j.ID, "backup_id": id})
}

func (s *Server) handleRestore(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	var in struct {
		BackupID string `json:"backup_id"`
	}
	if err := decode(w, r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := pressluft.ValidateID("backup_id", in.BackupID); err != nil {
		s.writeError(w, r, err)
		return
	}
	j, err := s.Backups.RestoreEnvironment(r.Context(), id, in.BackupID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"job_id": j.ID, "environment_id": id, "backup_id": in.BackupID})
}

// handleBackupDownload streams one part of a backup from its node (or the
// offsite target when only that copy is left) through the control plane.
// One byte range may be asked for (Range: bytes=a-b, a-, -n), so a broken
// download resumes; If-Range with the part's sha256 as ETag is honoured.
func (s *Server) handleBackupDownload(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	part := r.URL.Query().Get("part")
	if !slices.Contains(pressluft.BackupParts(), part) {
		s.writeError(w, r, pressluft.FieldError("part", "part must be one of %s.", strings.Join(pressluft.BackupParts(), ", ")))
		return
	}
	ctx := r.Context()
	b, err := s.Backups.FindBackupByID(ctx, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	} else if b.Status != pressluft.BackupCompleted || b.Manifest == nil {
		s.writeError(w, r, pressluft.Errorf(pressluft.EConflict, "Backup is %s; only a completed backup can be downloaded.", b.Status))
		return
	}
	// The manifest's own size and hash are the backup's; a part's are in it.
	size, etag := int64(-1), b.SHA256
	if part != pressluft.PartManifest {
		i := slices.IndexFunc(b.Manifest.Parts, func(p pressluft.BackupPart) bool { return p.Name == part })
		if i < 0 {
			s.writeError(w, r, pressluft.Errorf(pressluft.ENotFound, "A %s backup has no %s.", b.Scope, part))
			return
		}
		size, etag = b.Manifest.Parts[i].Size, b.Manifest.Parts[i].SHA256
	}
	offset, length, ranged, err := parseRange(r, size, `"`+etag+`"`)
	if err != nil {
		w.Header().Set("Content-Range", fmt.Sprintf("bytes */%d", size))
		s.writeError(w, r, err)
		return
	}
	rc, total, err := s.openBackupPart(r, b, part, offset, length)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	defer rc.Close()
	if length < 0 {
		length = total - offset
	}
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	if part == pressluft.PartManifest {
		h.Set("Content-Type", "application/json")
	}
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="backup-%s-%s"`, b.ID, part))
	h.Set("Accept-Ranges", "bytes")
	h.Set("ETag", `"`+etag+`"`)
	h.Set("Content-Length", strconv.FormatInt(length, 10))
	status := http.StatusOK
	if ranged {
		h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", offset, offset+length-1, total))
		status = http.StatusPartialContent
	}
	w.WriteHeader(status)
	if n, err := io.Copy(w, rc); err != nil || n != length {
		// Headers are gone; the short body tells the client to resume.
		s.logger.Warn("backup download ended early", "backup_id", b.ID, "part", part, "sent", n, "want", length, "err", err)
	}
}

func (s *Server) openBackupPart(r *http.Request, b *pressluft.Backup, part string, offset, length int64) (io.ReadCloser, int64, error) {
	ctx := r.Context()
	if b.Location == pressluft.LocationNode || b.Location == pressluft.LocationBoth {
		env, err := s.Sites.FindEnvironmentByID(ctx, b.EnvironmentID)
		if err != nil {
			return nil, 0, err
		}
		node, err := s.Nodes.FindNodeByID(ctx, env.NodeID)
		if err != nil {
			return nil, 0, err
		}
		rc, size, err := s.BackupOps.ReadBackup(ctx, node, env.SystemName, b.ID, part, offset, length)
		if err == nil || b.Location == pressluft.LocationNode {
			return rc, size, err
		}
		s.logger.Warn("backup node copy unreadable; reading the offsite copy", "backup_id", b.ID, "err", err)
	}
	t, err := s.Backups.OffsiteTarget(ctx)
	if err != nil {
		return nil, 0, err
	} else if t == nil {
		return nil, 0, pressluft.Errorf(pressluft.EBackupUnavailable, "The backup is kept offsite only, and no offsite target is set.")
	}
	return s.Offsite.Open(ctx, *t, b.OffsiteKey+"/"+part, offset, length)
}

// parseRange reads a single byte range. size is the part's size, or -1
// when it is not known before reading (the manifest): then ranges are
// ignored and the whole part is sent.
func parseRange(r *http.Request, size int64, etag string) (offset, length int64, ranged bool, err error) {
	spec := r.Header.Get("Range")
	if spec == "" || size < 0 {
		return 0, -1, false, nil
	}
	if ir := r.Header.Get("If-Range"); ir != "" && ir != etag {
		return 0, -1, false, nil // the part changed: send it whole
	}
	bad := pressluft.Errorf(pressluft.ERangeNotSatisfiable, "The Range header must ask for one range of bytes within the %d-byte part.", size)
	unit, rng, ok := strings.Cut(spec, "=")
	if !ok || unit != "bytes" || strings.Contains(rng, ",") {
		return 0, 0, false, bad
	}
	first, last, ok := strings.Cut(strings.TrimSpace(rng), "-")
	if !ok {
		return 0, 0, false, bad
	}
	if first == "" { // the last n bytes
		n, err := strconv.ParseInt(last, 10, 64)
		if err != nil || n <= 0 {
			return 0, 0, false, bad
		}
		n = min(n, size)
		return size - n, n, true, nil
	}
	offset, err = strconv.ParseInt(first, 10, 64)
	if err != nil || offset < 0 || offset >= size {
		return 0, 0, false, bad
	}
	end := size - 1
	if last != "" {
		if end, err = strconv.ParseInt(last, 10, 64); err != nil || end < offset {
			return 0, 0, false, bad
		}
		end = min(end, size-1)
	}
	return offset, end - offset + 1, true, nil
}

func (s *Server) handleScheduleGet(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	sch, err := s.Backups.FindBackupSchedule(r.Context(), id)
	s.reply(w, r, http.StatusOK, sch, err)
}

func (s *Server) handleSchedulePut(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	var in struct {
		Frequency string `json:"frequency"`
		Minute    int    `json:"minute"`
		Hour      int    `json:"hour"`
		Weekday   int    `json:"weekday"`
		Timezone  string `json:"timezone"`
		Scope     string `json:"scope"`
		KeepLast  int    `json:"keep_last"`
		KeepDays  int    `json:"keep_days"`
	}
	if err := decode(w, r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	sch, err := s.Backups.PutBackupSchedule(r.Context(), &pressluft.BackupSchedule{EnvironmentID: id, Frequency: in.Frequency,
		Minute: in.Minute, Hour: in.Hour, Weekday: in.Weekday, Timezone: in.Timezone, Scope: in.Scope, KeepLast: in.KeepLast, KeepDays: in.KeepDays})
	s.reply(w, r, http.StatusOK, sch, err)
}

func (s *Server) handleScheduleDelete(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	if err := s.Backups.DeleteBackupSchedule(r.Context(), id); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleOffsiteGet(w http.ResponseWriter, r *http.Request) {
	o, err := s.Backups.Offsite(r.Context())
	if err == nil && o == nil {
		err = pressluft.Errorf(pressluft.ENotFound, "No offsite target is set.")
	}
	s.reply(w, r, http.StatusOK, o, err)
}

func (s *Server) handleOffsitePut(w http.ResponseWriter, r *http.Request) {
	var in pressluft.OffsiteUpdate
	if err := decode(w, r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	setAudit(r, "settings", "offsite")
	o, err := s.Backups.PutOffsite(r.Context(), &in)
	s.reply(w, r, http.StatusOK, o, err)
}

func (s *Server) handleOffsiteDelete(w http.ResponseWriter, r *http.Request) {
	setAudit(r, "settings", "offsite")
	if err := s.Backups.DeleteOffsite(r.Context()); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// handleOffsiteTest checks the stored target from the control plane: the
// bucket answers to the credentials, and a small object can be written,
// read and removed.
func (s *Server) handleOffsiteTest(w http.ResponseWriter, r *http.Request) {
	setAudit(r, "settings", "offsite")
	t, err := s.Backups.OffsiteTarget(r.Context())
	if err == nil && t == nil {
		err = pressluft.Errorf(pressluft.EConflict, "No offsite target is set; set one first.")
	}
	if err == nil {
		err = s.Offsite.Test(r.Context(), *t)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "endpoint": t.Endpoint, "bucket": t.Bucket})
}
