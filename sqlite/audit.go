package sqlite

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/pressluft/pressluft"
)

// AuditService implements pressluft.AuditService.
type AuditService struct{ db *DB }

// NewAuditService returns an AuditService.
func NewAuditService(db *DB) *AuditService { return &AuditService{db: db} }

// Record writes one audit entry, its values clipped to
// pressluft.MaxAuditField bytes.
func (s *AuditService) Record(ctx context.Context, e *pressluft.AuditEntry) error {
	e.Clip()
	if e.Time.IsZero() {
		e.Time = s.db.Now()
	}
	details := ""
	if len(e.Details) > 0 {
		b, err := json.Marshal(e.Details)
		if err != nil {
			return err
		}
		details = string(b)
	}
	return s.db.write.QueryRowContext(ctx, `INSERT INTO audit_log (time, actor, action, resource_type, resource_id, result, status_code, request_id, ip, details)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, ts(e.Time), e.Actor, e.Action, e.ResourceType, e.ResourceID,
		e.Result, e.StatusCode, e.RequestID, e.IP, details).Scan(&e.ID)
}

// FindAuditEntries lists entries newest first; the cursor is the last id seen.
func (s *AuditService) FindAuditEntries(ctx context.Context, f pressluft.AuditFilter) ([]*pressluft.AuditEntry, string, error) {
	where, args := []string{"1 = 1"}, []any{}
	add := func(cond string, v any) { where, args = append(where, cond), append(args, v) }
	if f.Actor != "" {
		add("actor = ?", f.Actor)
	}
	if f.Action != "" {
		add("action = ?", f.Action)
	}
	if f.ResourceType != "" {
		add("resource_type = ?", f.ResourceType)
	}
	if f.ResourceID != "" {
		add("resource_id = ?", f.ResourceID)
	}
	if f.Since != nil {
		add("time >= ?", ts(*f.Since))
	}
	if f.Until != nil {
		add("time < ?", ts(*f.Until))
	}
	if f.Cursor != "" {
		id, err := strconv.ParseInt(f.Cursor, 10, 64)
		if err != nil {
			return nil, "", pressluft.FieldError("cursor", "cursor is not valid.")
		}
		add("id < ?", id)
	}
	n := limit(f.Limit)
	rows, err := s.db.read.QueryContext(ctx, `SELECT id, time, actor, action, resource_type, resource_id, result, status_code, request_id, ip, details
		FROM audit_log WHERE `+strings.Join(where, " AND ")+` ORDER BY id DESC LIMIT ?`, append(args, n+1)...)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	entries := []*pressluft.AuditEntry{}
	for rows.Next() {
		var e pressluft.AuditEntry
		var t, details string
		if err := rows.Scan(&e.ID, &t, &e.Actor, &e.Action, &e.ResourceType, &e.ResourceID, &e.Result, &e.StatusCode, &e.RequestID, &e.IP, &details); err != nil {
			return nil, "", err
		}
		if details != "" {
			if err := json.Unmarshal([]byte(details), &e.Details); err != nil {
				return nil, "", err
			}
		}
		e.Time = parseTS(t)
		entries = append(entries, &e)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	var next string
	if len(entries) > n {
		entries, next = entries[:n], strconv.FormatInt(entries[n-1].ID, 10)
	}
	return entries, next, nil
}
