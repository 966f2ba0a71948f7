// Package protocol is the wire format between the control plane and the node
// agent: one JSON request on the agent's stdin, JSON lines on its stdout.
// Both sides import it; it imports nothing of the project.
//
// The control plane runs one SSH exec per operation:
//
//	[sudo -n] /usr/local/lib/pressluft/agent/<version>/pressluft-agent
//
// writes one Request as a single JSON line on stdin and keeps stdin open
// while it waits: when stdin reaches EOF (the job was cancelled and the SSH
// session closed), the agent stops its child processes and exits. The agent
// answers with Messages, one per line: any number of "event" and "output"
// lines, then exactly one "result" or "error" line, then it exits (0 after a
// result, 1 after an error).
package protocol

import "encoding/json"

// Operations.
const (
	// OpVersion changes nothing: it answers the agent's version and the
	// node's architecture (the no-op round trip).
	OpVersion = "version"
	// OpEnvCreate builds a production environment and installs WordPress
	// into it (Request.Env, Request.Install).
	OpEnvCreate = "env_create"
	// OpEnvCopy builds a staging or clone environment as a copy of another
	// environment on the same node (Request.Env, Request.Source).
	OpEnvCopy = "env_copy"
	// OpEnvDelete removes exactly one environment (Request.Env: name and
	// database identifiers are used).
	OpEnvDelete = "env_delete"
	// OpEnvHealth reports WordPress's own view of an environment.
	OpEnvHealth = "env_health"
)

// Request is the one JSON line the agent reads from stdin.
type Request struct {
	Op string `json:"op"`
	// Version is the agent version the control plane expects; a different
	// agent answers ErrVersionMismatch and does nothing.
	Version string   `json:"version"`
	Env     *Env     `json:"env,omitempty"`
	Source  *Env     `json:"source,omitempty"`
	Install *Install `json:"install,omitempty"`
}

// Env describes one environment. Its root is always /srv/pressluft/<Name>.
type Env struct {
	Name        string   `json:"name"`         // ^[a-z][a-z0-9-]{0,31}$: Linux user, pool, vhost, directory
	Type        string   `json:"type"`         // production | staging | clone
	ReleaseID   string   `json:"release_id"`   // ^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$
	URL         string   `json:"url"`          // http(s)://host[:port], no path
	ServerNames []string `json:"server_names"` // lowercase host names nginx answers for; includes URL's host
	DBName      string   `json:"db_name"`      // ^[a-z][a-z0-9_]{1,63}$
	DBUser      string   `json:"db_user"`      // ^[a-z][a-z0-9_]{1,63}$
	DBPassword  string   `json:"db_password,omitempty"`
}

// Install is the first administrator of a new WordPress site.
type Install struct {
	Title         string `json:"title"`
	AdminUser     string `json:"admin_user"`
	AdminEmail    string `json:"admin_email"`
	AdminPassword string `json:"admin_password"`
}

// Message types.
const (
	TypeEvent  = "event"
	TypeOutput = "output"
	TypeResult = "result"
	TypeError  = "error"
)

// Message is one line the agent writes to stdout.
type Message struct {
	Type string `json:"type"`
	// event
	Step    string `json:"step,omitempty"`
	Level   string `json:"level,omitempty"` // info | warn | error
	Message string `json:"message,omitempty"`
	// output: raw text of a child process, secrets never included
	Text string `json:"text,omitempty"`
	// result
	Result json.RawMessage `json:"result,omitempty"`
	// error (Message carries the text)
	Code string `json:"code,omitempty"`
}

// VersionResult answers OpVersion.
type VersionResult struct {
	Version string `json:"version"`
	Arch    string `json:"arch"` // GOARCH of the agent
}

// EnvResult answers OpEnvCreate, OpEnvCopy and OpEnvHealth.
type EnvResult struct {
	ReleaseID        string `json:"release_id,omitempty"`
	AlreadyInstalled bool   `json:"already_installed,omitempty"`
	// Copied is false when a finished copy was found and left as it is.
	Copied        bool           `json:"copied,omitempty"`
	SearchReplace *SearchReplace `json:"search_replace,omitempty"`
	Health        Health         `json:"health"`
}

// SearchReplace sums the rewrites of a copy.
type SearchReplace struct {
	Hosts []string `json:"hosts"` // the source hosts that were rewritten
	Cells int      `json:"cells"` // cells changed
	// Unparseable counts cells that still hold a source URL inside a part
	// the helper could not rewrite safely (serialized data that does not
	// parse, or a C: payload): the values that still point at the source.
	Unparseable int `json:"unparseable"`
}

// Health is WordPress's own view of an environment (the helper's health
// command).
type Health struct {
	Installed  bool   `json:"installed"`
	DBOK       bool   `json:"db_ok"`
	WPVersion  string `json:"wp_version"`
	PHPVersion string `json:"php_version"`
	Home       string `json:"home"`
	SiteURL    string `json:"siteurl"`
	// TitleHTML is the title as WordPress prints it in <title>.
	TitleHTML string `json:"title_html"`
}

// Error codes of the agent.
const (
	ErrBadRequest      = "bad_request"      // malformed JSON or a field that fails validation
	ErrUnknownOp       = "unknown_op"       // an operation this agent does not know
	ErrVersionMismatch = "version_mismatch" // Request.Version is not this agent's
	ErrEnvLocked       = "env_locked"       // another agent works on the environment; retry later
	ErrConfigRejected  = "config_rejected"  // nginx -t / php-fpm -t refused a config; the previous one is back
	ErrCommandFailed   = "command_failed"   // a program the agent ran failed
	ErrWordPress       = "wp_error"         // the PHP helper reported an error
	ErrNotFound        = "not_found"        // e.g. the source environment has no WordPress
	ErrCancelled       = "cancelled"        // stdin closed: the control plane gave up
	ErrInternal        = "internal"
)

// Paths on the node that both sides agree on.
const (
	LibDir   = "/usr/local/lib/pressluft"
	AgentDir = LibDir + "/agent" // <AgentDir>/<version>/pressluft-agent
	Root     = "/srv/pressluft"
)
