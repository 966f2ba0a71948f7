package pressluft

import (
	"context"
	"encoding/json"
	"strings"
	"time"
)

// User is an administrator of the control plane.
type User struct {
	ID        string    `json:"id"`
	Email     string    `json:"email"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// APIToken authenticates scripts with "Authorization: Bearer".
type APIToken struct {
	ID         string     `json:"id"`
	UserID     string     `json:"user_id"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
}

// Session lifetimes: idle and absolute.
const (
	SessionIdleTimeout     = 12 * time.Hour
	SessionAbsoluteTimeout = 7 * 24 * time.Hour
)

// AuthService authenticates users, sessions and tokens.
type AuthService interface {
	CreateUser(ctx context.Context, email, password string) (*User, error)
	ResetPassword(ctx context.Context, email, password string, revokeTokens bool) (int, error)
	// Login checks credentials and opens a session; the token is returned
	// once and stored only as a hash.
	Login(ctx context.Context, email, password string) (*User, string, error)
	Logout(ctx context.Context, token string) error
	// Authenticate resolves a session token or an API token.
	AuthenticateSession(ctx context.Context, token string) (*User, error)
	AuthenticateToken(ctx context.Context, token string) (*User, *APIToken, error)
	CreateAPIToken(ctx context.Context, userID, name string) (*APIToken, string, error)
	FindAPITokens(ctx context.Context, userID string) ([]*APIToken, error)
	RevokeAPIToken(ctx context.Context, userID, id string) error
	// DeleteExpiredSessions removes sessions past their idle or absolute
	// limit and returns how many.
	DeleteExpiredSessions(ctx context.Context) (int64, error)
}

// AuditEntry records one mutating request or system action.
type AuditEntry struct {
	ID           int64     `json:"id"`
	Time         time.Time `json:"time"`
	Actor        string    `json:"actor"`
	Action       string    `json:"action"`
	ResourceType string    `json:"resource_type"`
	ResourceID   string    `json:"resource_id"`
	Result       string    `json:"result"`
	StatusCode   int       `json:"status_code"`
	RequestID    string    `json:"request_id"`
	IP           string    `json:"ip"`
	// Details is what the action recorded beyond the request (a forget's
	// may_remain); at most MaxAuditDetails bytes of JSON.
	Details map[string]any `json:"details,omitempty"`
}

// MaxAuditField is the most bytes an audit entry keeps of any one value:
// anyone can send a megabyte as an e-mail or an id, and the log must not
// grow by that much per request.
const MaxAuditField = 256

// MaxAuditDetails is the most bytes of JSON an audit entry keeps as details.
const MaxAuditDetails = 64 << 10

// Clip shortens every value of e to MaxAuditField bytes, cutting at a
// character boundary and marking the cut with "…", and replaces details
// larger than MaxAuditDetails by a note of their size.
func (e *AuditEntry) Clip() {
	for _, v := range []*string{&e.Actor, &e.Action, &e.ResourceType, &e.ResourceID, &e.Result, &e.RequestID, &e.IP} {
		*v = clip(*v, MaxAuditField)
	}
	if len(e.Details) > 0 {
		if b, err := json.Marshal(e.Details); err != nil || len(b) > MaxAuditDetails {
			e.Details = map[string]any{"truncated": true, "bytes": len(b)}
		}
	}
}

func clip(s string, max int) string {
	if len(s) <= max {
		return s
	}
	// A character cut in half becomes invalid UTF-8 and is dropped.
	return strings.ToValidUTF8(s[:max-len("…")], "") + "…"
}

// AuditFilter selects audit entries.
type AuditFilter struct {
	Actor        string
	Action       string
	ResourceType string
	ResourceID   string
	Since        *time.Time
	Until        *time.Time
	ListOptions
}

// AuditService writes and reads the audit log.
type AuditService interface {
	Record(ctx context.Context, e *AuditEntry) error
	FindAuditEntries(ctx context.Context, f AuditFilter) ([]*AuditEntry, string, error)
}

// SecretService keeps values encrypted at rest.
type SecretService interface {
	PutSecret(ctx context.Context, name string, value []byte) error
	// GetSecret returns a not_found error when the secret does not exist.
	GetSecret(ctx context.Context, name string) ([]byte, error)
	DeleteSecret(ctx context.Context, name string) error
}

// Settings are the control plane's editable settings.
type Settings struct {
	ControlPlaneDomain  string `json:"control_plane_domain"`
	PreviewDomain       string `json:"preview_domain"`
	DNS01Provider       string `json:"dns01_provider"`
	DNS01CredentialsSet bool   `json:"dns01_credentials_set"`
	// ReleasesKeep is how many releases each environment keeps (default 5).
	ReleasesKeep int `json:"releases_keep"`
	// AllowPrivateSources lets deploy archives, repositories and update
	// packages live on private, loopback or link-local addresses.
	AllowPrivateSources bool `json:"allow_private_sources"`
	// Offsite is the offsite backup target (GET/PUT /api/settings/offsite); nil when none is set.
	Offsite *OffsiteSettings `json:"offsite"`
}

// SettingsUpdate changes settings; nil fields are left alone.
type SettingsUpdate struct {
	ControlPlaneDomain  *string `json:"control_plane_domain"`
	PreviewDomain       *string `json:"preview_domain"`
	DNS01Provider       *string `json:"dns01_provider"`
	DNS01Credentials    *string `json:"dns01_credentials"`
	ReleasesKeep        *int    `json:"releases_keep"`
	AllowPrivateSources *bool   `json:"allow_private_sources"`
}

// SettingsService reads and writes settings.
type SettingsService interface {
	GetSettings(ctx context.Context) (*Settings, error)
	UpdateSettings(ctx context.Context, u SettingsUpdate) (*Settings, error)
}

// Metrics are point-in-time counters.
type Metrics struct {
	Jobs       map[string]int `json:"jobs"`
	JobsByType map[string]int `json:"jobs_by_type"`
	Nodes      map[string]int `json:"nodes"`
	SitesTotal int            `json:"sites_total"`
	EnvsTotal  int            `json:"environments_total"`
}

// MetricsService computes metrics.
type MetricsService interface {
	Metrics(ctx context.Context) (*Metrics, error)
}
