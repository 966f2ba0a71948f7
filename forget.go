package pressluft

import "strings"

// Forgotten is the answer to a forget: what the control plane removed from
// its records without contacting the node, and what may still exist there.
type Forgotten struct {
	// NodeID is set when a node was forgotten; it stays listed as decommissioned.
	NodeID         string   `json:"node_id,omitempty"`
	SiteIDs        []string `json:"site_ids"`
	EnvironmentIDs []string `json:"environment_ids"`
	// CancelledJobs are the queued jobs of what was forgotten.
	CancelledJobs []string    `json:"cancelled_jobs"`
	MayRemain     []Leftovers `json:"may_remain"`
}

// Leftovers is what one forgotten environment may have left on its node:
// nothing was removed there, so whoever gets the server back removes these.
type Leftovers struct {
	EnvironmentID string `json:"environment_id"`
	SiteID        string `json:"site_id"`
	NodeID        string `json:"node_id"`
	NodeHost      string `json:"node_host"`
	LinuxUser     string `json:"linux_user"`
	Directory     string `json:"directory"`
	Database      string `json:"database"`
	DatabaseUser  string `json:"database_user"`
	PHPFPMPool    string `json:"php_fpm_pool"`
	NginxVhost    string `json:"nginx_vhost"`
	Cron          string `json:"cron"`
	Backups       string `json:"backups"`
	// OffsiteBackups are the offsite keys of its backups: their records
	// go with the environment, the objects stay in the bucket.
	OffsiteBackups []string `json:"offsite_backups"`
}

// Leftovers names what e may have left on node n. The names come from the
// spec the agent is given (Spec); the paths follow the agent's layout
// (nodeagent/README.md). The pool's directory depends on the node's PHP
// version ("*" when it was never learned).
func (e *Environment) Leftovers(n *Node) Leftovers {
	spec := e.Spec("", "")
	php := "*"
	if parts := strings.Split(n.PHPVersion, "."); len(parts) >= 2 && parts[0] != "" && parts[1] != "" {
		php = parts[0] + "." + parts[1] // the agent's pool directory carries major.minor only
	}
	return Leftovers{
		EnvironmentID: e.ID, SiteID: e.SiteID, NodeID: n.ID, NodeHost: n.Host,
		LinuxUser:      spec.Name,
		Directory:      e.Root() + "/",
		Database:       spec.DBName,
		DatabaseUser:   spec.DBUser,
		PHPFPMPool:     "/etc/php/" + php + "/fpm/pool.d/" + spec.Name + ".conf",
		NginxVhost:     "/etc/nginx/sites-enabled/" + spec.Name + ".conf",
		Cron:           "/etc/cron.d/pressluft-" + spec.Name,
		Backups:        e.Root() + "/backups/",
		OffsiteBackups: []string{},
	}
}

// NodeGone reports whether n may be forgotten: it is unreachable or
// decommissioned, or failed while its last connection attempt (a check or
// provision that was not cancelled) could not reach it.
func NodeGone(n *Node, lastAttemptCode string) bool {
	switch n.Status {
	case NodeUnreachable, NodeDecommissioned:
		return true
	case NodeFailed:
		return lastAttemptCode == ENodeUnreachable
	}
	return false
}
