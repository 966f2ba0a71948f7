package pressluft

import (
	"context"
	"path"
	"regexp"
	"sort"
	"strings"
	"time"
)

// Promotion presets: the tables (and uploads) a promotion never overwrites.
const (
	PresetContent  = "content-protect"
	PresetCommerce = "commerce-protect"
	// PresetCustom protects exactly the environment's ProtectedTables.
	PresetCustom = "custom"
)

// Drift results.
const (
	DriftUnknown = "unknown"
	DriftClean   = "clean"
	DriftDrifted = "drifted"
)

// TablePrefix is the table prefix of every WordPress this product installs.
const TablePrefix = "wp_"

// DriftFresh is how recent a clean drift check must be for a promotion, and
// BackupFresh how recent the target's full backup.
const (
	DriftFresh  = 15 * time.Minute
	BackupFresh = 60 * time.Minute
)

// presetTables are the unprefixed tables (or patterns, * matching any run
// of characters) each preset protects.
var presetTables = map[string][]string{
	PresetContent: {"posts", "postmeta", "terms", "term_taxonomy", "term_relationships", "termmeta",
		"comments", "commentmeta", "users", "usermeta"},
}

func init() {
	presetTables[PresetCommerce] = append(append([]string{}, presetTables[PresetContent]...), "wc_*", "woocommerce_*")
}

// ProtectedPatterns resolves a preset and an environment's own list to
// table names and patterns with the table prefix. Own entries are given
// unprefixed ("orders" or "wc_*") or already prefixed ("wp_orders").
func ProtectedPatterns(preset string, own []string) []string {
	seen := map[string]bool{}
	out := []string{}
	add := func(name string) {
		if !strings.HasPrefix(name, TablePrefix) {
			name = TablePrefix + name
		}
		if !seen[name] {
			seen[name] = true
			out = append(out, name)
		}
	}
	for _, t := range presetTables[preset] {
		add(t)
	}
	for _, t := range own {
		add(t)
	}
	return out
}

// TableProtected reports whether table matches one of patterns.
func TableProtected(patterns []string, table string) bool {
	for _, p := range patterns {
		if ok, err := path.Match(p, table); err == nil && ok {
			return true
		}
	}
	return false
}

// EnvState is what a drift check compares: an environment's code and
// database at one moment.
type EnvState struct {
	// Tables maps each base table to a checksum of its rows. Rows that
	// change on their own (transients, the cron schedule) are left out of
	// the options table's checksum, so a visitor's page view is not drift.
	Tables map[string]string `json:"tables"`
	// Components maps "core", "plugin/<slug>" and "theme/<slug>" to the
	// version installed.
	Components map[string]string `json:"components"`
	// Paths maps each entry of wp-content two levels deep ("plugins/akismet",
	// "themes/twentytwentyfour", "mu-plugins/x.php", "index.php"), without
	// uploads and caches, to a sha256 of its tree (names, modes, contents).
	Paths map[string]string `json:"paths"`
	// ContentHash is a sha256 over Paths: the wp-content tree as a whole.
	ContentHash string `json:"content_hash"`
}

// DriftChange is one thing that differs between a baseline and now.
type DriftChange struct {
	Kind string `json:"kind"` // table | component | path
	Name string `json:"name"` // wp_options, plugin/akismet, plugins/akismet
	// Change is added, removed or changed; From and To are versions for a
	// component.
	Change string `json:"change"`
	From   string `json:"from,omitempty"`
	To     string `json:"to,omitempty"`
}

// Drift compares the state of an environment now with its baseline and
// lists what a promotion would overwrite: tables matching protect are not
// drift, since a promotion leaves them alone.
func Drift(baseline, now *EnvState, protect []string) []DriftChange {
	changes := []DriftChange{}
	for _, name := range unionKeys(baseline.Tables, now.Tables) {
		if TableProtected(protect, name) {
			continue
		}
		if ch := compare("table", name, baseline.Tables, now.Tables); ch != nil {
			changes = append(changes, *ch)
		}
	}
	for _, name := range unionKeys(baseline.Components, now.Components) {
		if ch := compare("component", name, baseline.Components, now.Components); ch != nil {
			ch.From, ch.To = baseline.Components[name], now.Components[name]
			changes = append(changes, *ch)
		}
	}
	for _, name := range unionKeys(baseline.Paths, now.Paths) {
		if ch := compare("path", name, baseline.Paths, now.Paths); ch != nil {
			changes = append(changes, *ch)
		}
	}
	return changes
}

func compare(kind, name string, was, is map[string]string) *DriftChange {
	a, hadA := was[name]
	b, hasB := is[name]
	switch {
	case !hadA:
		return &DriftChange{Kind: kind, Name: name, Change: "added"}
	case !hasB:
		return &DriftChange{Kind: kind, Name: name, Change: "removed"}
	case a != b:
		return &DriftChange{Kind: kind, Name: name, Change: "changed"}
	}
	return nil
}

func unionKeys(a, b map[string]string) []string {
	var keys []string
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

// PromoteFacts is what a node reports about a promotion's database move.
type PromoteFacts struct {
	Moved         []string       `json:"moved"`     // tables replaced by the source's
	Protected     []string       `json:"protected"` // tables left as they were
	SearchReplace *SearchReplace `json:"search_replace,omitempty"`
}

// PromoteOps is the node work of drift checks and promotions (the node
// agent).
type PromoteOps interface {
	// EnvState reads env's state; it changes nothing (but may install the
	// agent first, which p shows).
	EnvState(ctx context.Context, n *Node, env EnvSpec, p Progress) (*EnvState, error)
	// PromoteDatabase replaces env's tables with source's (same node), but
	// for tables matching protect, with source's URLs rewritten to env's
	// inside serialized and JSON-escaped data. Tables only env has are
	// left alone. runID names the run so a retried one converges.
	PromoteDatabase(ctx context.Context, n *Node, env, source EnvSpec, protect []string, runID string, p Progress) (*PromoteFacts, error)
}

// ReleaseEnvironment is the DeploySource type of a promotion: the new
// release's wp-content is a copy of another environment's on the same node
// (DeploySource.Environment names it).
const ReleaseEnvironment = "environment"

// ReleasePromote is the release source of a promotion.
const ReleasePromote = "promote"

// Baseline is the state of an environment's source when it was copied (or
// last promoted into): a drift check compares the source's state now with it.
type Baseline struct {
	EnvironmentID       string    `json:"environment_id"`
	SourceEnvironmentID string    `json:"source_environment_id"`
	State               *EnvState `json:"state"`
	RecordedAt          time.Time `json:"recorded_at"`
}

// DriftCheck is one comparison of a source environment with the baseline of
// an environment copied from it.
type DriftCheck struct {
	ID                  string        `json:"id"`
	EnvironmentID       string        `json:"environment_id"`
	SourceEnvironmentID string        `json:"source_environment_id"`
	JobID               string        `json:"job_id"`
	Result              string        `json:"result"` // clean | drifted
	Changes             []DriftChange `json:"changes"`
	// Protected are the table patterns the check left out.
	Protected   []string  `json:"protected"`
	BaselineAt  time.Time `json:"baseline_at"`
	ContentHash string    `json:"content_hash"` // the source's wp-content now
	CreatedAt   time.Time `json:"created_at"`
}

// PromoteRequest is what POST /api/environments/{id}/promote asks for.
type PromoteRequest struct {
	TargetEnvironmentID string `json:"target_environment_id"`
	// BackupFirst takes the target's full backup as the promotion's first
	// step instead of requiring a fresh one.
	BackupFirst bool `json:"backup_first"`
}

// Protection is what PUT /api/environments/{id}/promotion sets.
type Protection struct {
	Preset string `json:"promotion_preset"`
	// Tables are extra tables or patterns ("wp_orders", "wc_*"), or with the
	// custom preset all of them.
	Tables []string `json:"protected_tables"`
}

var tablePattern = regexp.MustCompile(`^[A-Za-z0-9_$*]{1,64}$`)

// Validate checks the shape of a protection; known, when not nil, lists the
// tables that exist, and every name without a * must be one of them.
func (p *Protection) Validate(known map[string]bool) error {
	switch p.Preset {
	case PresetContent, PresetCommerce, PresetCustom:
	default:
		return FieldError("promotion_preset", "promotion_preset must be content-protect, commerce-protect or custom.")
	}
	if len(p.Tables) > 100 {
		return FieldError("protected_tables", "protected_tables may list at most 100 tables.")
	}
	for _, t := range p.Tables {
		if !tablePattern.MatchString(t) {
			return FieldError("protected_tables", "protected_tables must be table names or patterns with * (letters, digits, _ and $).")
		}
		if known == nil || strings.Contains(t, "*") {
			continue
		}
		name := t
		if !strings.HasPrefix(name, TablePrefix) {
			name = TablePrefix + name
		}
		if !known[name] {
			return FieldError("protected_tables", "Table %s does not exist in this environment or its source.", name)
		}
	}
	return nil
}

// PromotePayload is what env_promote carries besides the release payload.
type PromotePayload struct {
	SourceEnvironmentID string `json:"source_environment_id"`
	// BackupID is the target's full backup taken first ("" when a fresh
	// one existed).
	BackupID string `json:"backup_id"`
}

// PromotionService stores baselines and drift checks and starts drift
// checks and promotions.
type PromotionService interface {
	FindBaseline(ctx context.Context, envID string) (*Baseline, error)
	FindDriftChecks(ctx context.Context, envID string) ([]*DriftCheck, error)
	// StartDriftCheck enqueues drift_check on a staging or clone
	// environment.
	StartDriftCheck(ctx context.Context, envID string) (*Job, error)
	// Promote checks the gates and enqueues env_promote on the target,
	// marked promoting.
	Promote(ctx context.Context, envID string, in PromoteRequest) (*Job, error)
	// Gates says whether a promotion from envID into its source would be
	// let through now, and why not.
	Gates(ctx context.Context, envID string) (*PromotionGates, error)
	// SetProtection sets what promotions from envID leave alone; known
	// lists the tables of the environment and its source.
	SetProtection(ctx context.Context, envID string, in Protection, known map[string]bool) (*Environment, error)
}

// Gate is one precondition of a promotion.
type Gate struct {
	OK      bool   `json:"ok"`
	Code    string `json:"code,omitempty"` // the error a promotion would get
	Message string `json:"message"`
}

// PromotionGates is what GET /api/environments/{id}/promotion shows
// before a promotion is asked for.
type PromotionGates struct {
	TargetEnvironmentID string   `json:"target_environment_id"`
	Preset              string   `json:"promotion_preset"`
	ProtectedTables     []string `json:"protected_tables"`
	// Protected is what the preset and the list resolve to.
	Protected []string `json:"protected"`
	Drift     Gate     `json:"drift"`
	Backup    Gate     `json:"backup"`
}
