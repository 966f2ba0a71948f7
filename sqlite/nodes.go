package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/google/uuid"
	"github.com/pressluft/pressluft"
)

// NodeService implements pressluft.NodeService.
type NodeService struct {
	db   *DB
	jobs *JobService
}

// NewNodeService returns a NodeService; jobs are enqueued through js.
func NewNodeService(db *DB, js *JobService) *NodeService { return &NodeService{db: db, jobs: js} }

const nodeColumns = `id, name, host, ssh_port, ssh_user, host_key, host_key_fingerprint, is_local, status, os_name, os_version,
	nginx_version, php_version, mariadb_version, redis_version, last_seen_at, last_error, created_at, updated_at`

func scanNode(row interface{ Scan(...any) error }) (*pressluft.Node, error) {
	var n pressluft.Node
	var lastSeen sql.NullString
	var created, updated string
	if err := row.Scan(&n.ID, &n.Name, &n.Host, &n.SSHPort, &n.SSHUser, &n.HostKey, &n.HostKeyFingerprint, &n.IsLocal,
		&n.Status, &n.OSName, &n.OSVersion, &n.NginxVersion, &n.PHPVersion, &n.MariaDBVersion, &n.RedisVersion,
		&lastSeen, &n.LastError, &created, &updated); err != nil {
		return nil, err
	}
	n.LastSeenAt, n.CreatedAt, n.UpdatedAt = parseNullTS(lastSeen), parseTS(created), parseTS(updated)
	return &n, nil
}

// FindNodeByID returns one node.
func (s *NodeService) FindNodeByID(ctx context.Context, id string) (*pressluft.Node, error) {
	return findNodeByID(ctx, s.db.read, id)
}

func findNodeByID(ctx context.Context, q rowQuerier, id string) (*pressluft.Node, error) {
	n, err := scanNode(q.QueryRowContext(ctx, `SELECT `+nodeColumns+` FROM nodes WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, pressluft.Errorf(pressluft.ENotFound, "Node not found.")
	}
	return n, err
}

// FindNodes lists nodes by name.
func (s *NodeService) FindNodes(ctx context.Context, f pressluft.NodeFilter) ([]*pressluft.Node, error) {
	rows, err := s.db.read.QueryContext(ctx, `SELECT `+nodeColumns+` FROM nodes WHERE (? = '' OR status = ?) ORDER BY name, id`, f.Status, f.Status)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	nodes := []*pressluft.Node{}
	for rows.Next() {
		n, err := scanNode(rows)
		if err != nil {
			return nil, err
		}
		nodes = append(nodes, n)
	}
	return nodes, rows.Err()
}

// CreateNode registers a node as pending; nothing is contacted yet.
func (s *NodeService) CreateNode(ctx context.Context, n *pressluft.Node) error {
	n.Host = strings.ToLower(n.Host) // DNS names are case-insensitive; the uniqueness check is not
	if err := n.Validate(); err != nil {
		return err
	}
	tx, err := s.db.BeginTx(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	n.ID, n.Status, n.CreatedAt, n.UpdatedAt = uuid.Must(uuid.NewV7()).String(), pressluft.NodePending, tx.now, tx.now
	if _, err := tx.Exec(`INSERT INTO nodes (id, name, host, ssh_port, ssh_user, is_local, status, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, n.ID, n.Name, n.Host, n.SSHPort, n.SSHUser, n.IsLocal, n.Status, ts(tx.now), ts(tx.now)); isUniqueViolation(err) {
		return pressluft.Errorf(pressluft.EConflict, "A node with this host and port is already registered.")
	} else if err != nil {
		return err
	}
	return tx.Commit()
}

// ProvisionNode enqueues node_provision; a node already being provisioned
// answers conflict.
func (s *NodeService) ProvisionNode(ctx context.Context, id string) (*pressluft.Job, error) {
	tx, err := s.db.BeginTx(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	n, err := findNodeByID(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	if n.Status == pressluft.NodeDecommissioned {
		return nil, pressluft.Errorf(pressluft.EConflict, "Node is decommissioned.")
	}
	var pending int
	if err := tx.QueryRow(`SELECT COUNT(*) FROM jobs WHERE node_id = ? AND type = ? AND status IN ('queued', 'running')`,
		id, pressluft.JobNodeProvision).Scan(&pending); err != nil {
		return nil, err
	} else if pending > 0 {
		return nil, pressluft.Errorf(pressluft.EResourceBusy, "Node is already being provisioned.")
	}
	if _, err := tx.Exec(`UPDATE nodes SET status = ?, last_error = '', updated_at = ? WHERE id = ?`, pressluft.NodeProvisioning, ts(tx.now), id); err != nil {
		return nil, err
	}
	return s.jobs.commitWithJob(tx, pressluft.NewJob{Type: pressluft.JobNodeProvision, NodeID: id, UniqueKey: pressluft.JobNodeProvision + ":" + id,
		RestoreStatus: n.Status})
}

// CheckNode enqueues node_check for a node that is not decommissioned.
func (s *NodeService) CheckNode(ctx context.Context, id string) (*pressluft.Job, error) {
	tx, err := s.db.BeginTx(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	n, err := findNodeByID(ctx, tx, id)
	if err != nil {
		return nil, err
	} else if n.Status == pressluft.NodeDecommissioned {
		return nil, pressluft.Errorf(pressluft.EConflict, "Node is decommissioned.")
	}
	return s.jobs.commitWithJob(tx, pressluft.NewJob{Type: pressluft.JobNodeCheck, NodeID: id})
}

// DeleteNode decommissions a node that carries no environments and has no
// unfinished jobs. Nothing on the server is removed.
func (s *NodeService) DeleteNode(ctx context.Context, id string) error {
	tx, err := s.db.BeginTx(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := findNodeByID(ctx, tx, id); err != nil {
		return err
	}
	var envs, jobs int
	if err := tx.QueryRow(`SELECT (SELECT COUNT(*) FROM environments WHERE node_id = ?),
		(SELECT COUNT(*) FROM jobs WHERE node_id = ? AND status IN ('queued', 'running'))`, id, id).Scan(&envs, &jobs); err != nil {
		return err
	} else if envs > 0 {
		return pressluft.Errorf(pressluft.EConflict, "Node still carries %d environment(s); delete them first.", envs)
	} else if jobs > 0 {
		return pressluft.Errorf(pressluft.EResourceBusy, "Node has unfinished jobs; wait for them or cancel them first.")
	}
	if _, err := tx.Exec(`UPDATE nodes SET status = ?, updated_at = ? WHERE id = ?`, pressluft.NodeDecommissioned, ts(tx.now), id); err != nil {
		return err
	}
	return tx.Commit()
}

// SetNodeStatus records a status and the error that led to it.
func (s *NodeService) SetNodeStatus(ctx context.Context, id, status, lastError string) error {
	_, err := s.db.write.ExecContext(ctx, `UPDATE nodes SET status = ?, last_error = ?, updated_at = ? WHERE id = ?`,
		status, lastError, ts(s.db.Now()), id)
	return err
}

// PinHostKey stores the host key seen at first contact; a key already
// pinned is never replaced here.
func (s *NodeService) PinHostKey(ctx context.Context, id, hostKey, fingerprint string) error {
	_, err := s.db.write.ExecContext(ctx, `UPDATE nodes SET host_key = ?, host_key_fingerprint = ?, updated_at = ? WHERE id = ? AND host_key = ''`,
		hostKey, fingerprint, ts(s.db.Now()), id)
	return err
}

// MarkNodeSeen records a probe: a reachable node is seen now (and turns
// active again if it was unreachable); an unreachable active node turns
// unreachable.
func (s *NodeService) MarkNodeSeen(ctx context.Context, id string, reachable bool, lastError string) error {
	now := ts(s.db.Now())
	var err error
	if reachable {
		_, err = s.db.write.ExecContext(ctx, `UPDATE nodes SET last_seen_at = ?, updated_at = ?,
			status = CASE status WHEN 'unreachable' THEN 'active' ELSE status END,
			last_error = CASE status WHEN 'unreachable' THEN '' ELSE last_error END WHERE id = ?`, now, now, id)
	} else {
		_, err = s.db.write.ExecContext(ctx, `UPDATE nodes SET status = 'unreachable', last_error = ?, updated_at = ?
			WHERE id = ? AND status = 'active'`, lastError, now, id)
	}
	return err
}
