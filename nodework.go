package pressluft

import (
	"context"
	"net/url"
)

// EnvSpec is what a node needs to know to build, copy or remove one
// environment.
type EnvSpec struct {
	Name        string   // system name: Linux user, pool, vhost, directory
	Type        string   // production | staging | clone
	ReleaseID   string   // the release an operation writes ("" for delete and health)
	URL         string   // preview URL
	ServerNames []string // host names nginx answers for
	DBName      string
	DBUser      string
	DBPassword  string // secret; "" where the operation needs none
}

// Spec describes e for an operation writing releaseID, with its database
// password.
func (e *Environment) Spec(releaseID, dbPassword string) EnvSpec {
	var names []string
	if u, err := url.Parse(e.PreviewURL); err == nil && u.Hostname() != "" {
		names = []string{u.Hostname()}
	}
	return EnvSpec{Name: e.SystemName, Type: e.Type, ReleaseID: releaseID, URL: e.PreviewURL, ServerNames: names,
		DBName: e.DatabaseName(), DBUser: e.DatabaseName(), DBPassword: dbPassword}
}

// WordPressInstall is the first administrator of a new site.
type WordPressInstall struct {
	Title         string
	AdminUser     string
	AdminEmail    string
	AdminPassword string // secret
}

// EnvFacts is what a node reports about an environment after an operation.
type EnvFacts struct {
	ReleaseID        string `json:"release_id,omitempty"`
	AlreadyInstalled bool   `json:"already_installed,omitempty"`
	// Copied is false when a finished copy was found and kept.
	Copied     bool   `json:"copied,omitempty"`
	Installed  bool   `json:"installed"`
	DBOK       bool   `json:"db_ok"`
	WPVersion  string `json:"wp_version"`
	PHPVersion string `json:"php_version"`
	Home       string `json:"home"`
	SiteURL    string `json:"siteurl"`
	// TitleHTML is the title as WordPress prints it in <title>.
	TitleHTML     string         `json:"title_html"`
	SearchReplace *SearchReplace `json:"search_replace,omitempty"`
}

// SearchReplace sums the URL rewrites of a copy.
type SearchReplace struct {
	Hosts []string `json:"hosts"`
	Cells int      `json:"cells"`
	// Unparseable counts cells that still point at the source inside a part
	// that could not be rewritten safely (serialized data that does not
	// parse, a C: payload).
	Unparseable int `json:"unparseable"`
}

// EnvOps does the per-environment work on nodes (the node agent).
// Every operation is idempotent: run again after a failure at any step, it
// converges.
type EnvOps interface {
	// CreateEnv builds a production environment and installs WordPress.
	CreateEnv(ctx context.Context, n *Node, env EnvSpec, wp WordPressInstall, p Progress) (*EnvFacts, error)
	// CopyEnv builds a staging or clone environment from source, on the
	// same node, with the source's URLs rewritten to env's.
	CopyEnv(ctx context.Context, n *Node, env, source EnvSpec, p Progress) (*EnvFacts, error)
	// DeleteEnv removes exactly env from the node; what is gone is skipped.
	DeleteEnv(ctx context.Context, n *Node, env EnvSpec, p Progress) error
	// EnvHealth reports WordPress's own view of env.
	EnvHealth(ctx context.Context, n *Node, env EnvSpec) (*EnvFacts, error)
	// InstallAgent makes sure n runs this control plane's agent.
	InstallAgent(ctx context.Context, n *Node, p Progress) error
}

// NodeConfig configures whole nodes: packages, services, firewall.
type NodeConfig interface {
	// Provision brings n to the configuration this version expects; safe to
	// run again at any time.
	Provision(ctx context.Context, n *Node, p Progress) (*NodeFacts, error)
	// Check connects the way Provision does and changes nothing.
	Check(ctx context.Context, n *Node, p Progress) error
}
