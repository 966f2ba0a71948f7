package pressluft

import (
	"context"
	"time"
)

// Node statuses.
const (
	NodePending        = "pending"
	NodeProvisioning   = "provisioning"
	NodeActive         = "active"
	NodeUnreachable    = "unreachable"
	NodeFailed         = "failed"
	NodeDecommissioned = "decommissioned"
)

// Node is a Linux server managed over SSH.
type Node struct {
	ID                 string     `json:"id"`
	Name               string     `json:"name"`
	Host               string     `json:"host"`
	SSHPort            int        `json:"ssh_port"`
	SSHUser            string     `json:"ssh_user"`
	HostKey            string     `json:"-"` // authorized_keys format, pinned at first contact
	HostKeyFingerprint string     `json:"host_key_fingerprint"`
	IsLocal            bool       `json:"is_local"`
	Status             string     `json:"status"`
	OSName             string     `json:"os_name"`
	OSVersion          string     `json:"os_version"`
	NginxVersion       string     `json:"nginx_version"`
	PHPVersion         string     `json:"php_version"`
	MariaDBVersion     string     `json:"mariadb_version"`
	RedisVersion       string     `json:"redis_version"`
	LastSeenAt         *time.Time `json:"last_seen_at"`
	LastError          string     `json:"last_error"`
	CreatedAt          time.Time  `json:"created_at"`
	UpdatedAt          time.Time  `json:"updated_at"`
}

// NodeFacts are what provisioning learns about a node.
type NodeFacts struct {
	OSName         string `json:"os_name"`
	OSVersion      string `json:"os_version"`
	NginxVersion   string `json:"nginx_version"`
	PHPVersion     string `json:"php_version"`
	MariaDBVersion string `json:"mariadb_version"`
	RedisVersion   string `json:"redis_version"`
}

// Validate checks the fields a user supplies.
func (n *Node) Validate() error {
	if err := ValidateName("name", n.Name); err != nil {
		return err
	} else if err := ValidateHost("host", n.Host); err != nil {
		return err
	} else if n.SSHPort < 1 || n.SSHPort > 65535 {
		return FieldError("ssh_port", "ssh_port must be between 1 and 65535.")
	} else if !unixUserRE.MatchString(n.SSHUser) {
		return FieldError("ssh_user", "ssh_user must be a valid Linux user name.")
	}
	return nil
}

// NodeFilter selects nodes.
type NodeFilter struct {
	Status string
}

// NodeService stores nodes.
type NodeService interface {
	FindNodeByID(ctx context.Context, id string) (*Node, error)
	FindNodes(ctx context.Context, f NodeFilter) ([]*Node, error)
	CreateNode(ctx context.Context, n *Node) error
	// ProvisionNode moves the node to provisioning and enqueues node_provision.
	ProvisionNode(ctx context.Context, id string) (*Job, error)
	// CheckNode enqueues node_check, which tests the connection.
	CheckNode(ctx context.Context, id string) (*Job, error)
	// DeleteNode decommissions a node that carries no environments.
	DeleteNode(ctx context.Context, id string) error
	// ForgetNode removes the environments of a node that is gone from the
	// control plane, without contacting it, and decommissions the node.
	ForgetNode(ctx context.Context, id string) (*Forgotten, error)
	SetNodeStatus(ctx context.Context, id, status, lastError string) error
	PinHostKey(ctx context.Context, id, hostKey, fingerprint string) error
	MarkNodeSeen(ctx context.Context, id string, reachable bool, lastError string) error
}
