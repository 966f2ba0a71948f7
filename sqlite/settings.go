package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"

	"github.com/pressluft/pressluft"
)

// SettingsService implements pressluft.SettingsService. Plain settings live
// in the settings table; DNS-01 credentials are a secret.
type SettingsService struct{ db *DB }

// NewSettingsService returns a SettingsService.
func NewSettingsService(db *DB) *SettingsService { return &SettingsService{db: db} }

const dns01Secret = "settings/dns01_credentials"

// GetSettings returns the current settings; write-only values are reported
// only as set or not.
func (s *SettingsService) GetSettings(ctx context.Context) (*pressluft.Settings, error) {
	return getSettings(ctx, s.db.read)
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func getSettings(ctx context.Context, q querier) (*pressluft.Settings, error) {
	rows, err := q.QueryContext(ctx, `SELECT key, value FROM settings`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	st := pressluft.Settings{ReleasesKeep: defaultReleasesKeep}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, err
		}
		switch k {
		case "control_plane_domain":
			st.ControlPlaneDomain = v
		case "preview_domain":
			st.PreviewDomain = v
		case "dns01_provider":
			st.DNS01Provider = v
		case "releases_keep":
			st.ReleasesKeep, _ = strconv.Atoi(v)
		case "allow_private_sources":
			st.AllowPrivateSources = v == "true"
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var n int
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM secrets WHERE name = ?`, dns01Secret).Scan(&n); err != nil {
		return nil, err
	}
	st.DNS01CredentialsSet = n > 0
	if st.Offsite, err = offsiteSettings(ctx, q); err != nil {
		return nil, err
	}
	return &st, nil
}

// UpdateSettings validates and applies u.
func (s *SettingsService) UpdateSettings(ctx context.Context, u pressluft.SettingsUpdate) (*pressluft.Settings, error) {
	for field, v := range map[string]*string{"control_plane_domain": u.ControlPlaneDomain, "preview_domain": u.PreviewDomain} {
		if v != nil && *v != "" {
			if err := pressluft.ValidateHost(field, *v); err != nil {
				return nil, err
			} else if !strings.Contains(*v, ".") {
				return nil, pressluft.FieldError(field, "%s must be a fully qualified domain name.", field)
			}
		}
	}
	if u.DNS01Provider != nil {
		switch *u.DNS01Provider {
		case "", "cloudflare", "route53", "digitalocean", "hetzner", "rfc2136":
		default:
			return nil, pressluft.FieldError("dns01_provider", "dns01_provider must be one of cloudflare, route53, digitalocean, hetzner, rfc2136.")
		}
	}
	if u.ReleasesKeep != nil && (*u.ReleasesKeep < 2 || *u.ReleasesKeep > 50) {
		return nil, pressluft.FieldError("releases_keep", "releases_keep must be 2 (the current and the previous release) to 50.")
	}
	if u.DNS01Credentials != nil && len(*u.DNS01Credentials) > 16<<10 {
		return nil, pressluft.FieldError("dns01_credentials", "dns01_credentials must be at most 16 KiB.")
	}
	tx, err := s.db.BeginTx(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	for k, v := range map[string]*string{"control_plane_domain": u.ControlPlaneDomain, "preview_domain": u.PreviewDomain,
		"dns01_provider": u.DNS01Provider} {
		if v == nil {
			continue
		}
		if _, err := tx.Exec(`INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`, k, *v, ts(tx.now)); err != nil {
			return nil, err
		}
	}
	for k, v := range map[string]string{"releases_keep": intSetting(u.ReleasesKeep), "allow_private_sources": boolSetting(u.AllowPrivateSources)} {
		if v == "" {
			continue
		}
		if _, err := tx.Exec(`INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`, k, v, ts(tx.now)); err != nil {
			return nil, err
		}
	}
	if u.DNS01Credentials != nil {
		if *u.DNS01Credentials == "" {
			_, err = tx.Exec(`DELETE FROM secrets WHERE name = ?`, dns01Secret)
		} else {
			err = putSecret(tx, dns01Secret, []byte(*u.DNS01Credentials))
		}
		if err != nil {
			return nil, err
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	return s.GetSettings(ctx)
}

// previewDomain reads the preview domain inside a transaction.
func previewDomain(tx *Tx) (string, error) {
	var v string
	err := tx.QueryRow(`SELECT value FROM settings WHERE key = 'preview_domain'`).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return v, err
}

// defaultReleasesKeep is how many releases an environment keeps unless set.
const defaultReleasesKeep = 5

func intSetting(v *int) string {
	if v == nil {
		return ""
	}
	return strconv.Itoa(*v)
}

func boolSetting(v *bool) string {
	if v == nil {
		return ""
	}
	return strconv.FormatBool(*v)
}
