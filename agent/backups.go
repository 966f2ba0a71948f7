package agent

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/pressluft/pressluft"
	"github.com/pressluft/pressluft/agent/protocol"
	"github.com/pressluft/pressluft/ssh"
)

// Client implements the domain's backup work.
var _ pressluft.BackupOps = (*Client)(nil)

// wireOffsite is the target and the key under which one backup's objects
// live. The key is used as given: it already holds the target's prefix.
func wireOffsite(t *pressluft.OffsiteTarget, key string) *protocol.Offsite {
	if t == nil {
		return nil
	}
	return &protocol.Offsite{Endpoint: t.Endpoint, UseTLS: t.UseTLS, Region: t.Region, Bucket: t.Bucket,
		AccessKey: t.AccessKey, SecretKey: t.SecretKey, Key: key}
}

// CreateBackup writes backup b of env into env's backups directory.
func (c *Client) CreateBackup(ctx context.Context, n *pressluft.Node, env pressluft.EnvSpec, b pressluft.BackupSpec, p pressluft.Progress) (*pressluft.BackupFacts, error) {
	req := protocol.Request{Op: protocol.OpBackupCreate,
		Env:    &protocol.Env{Name: env.Name, URL: env.URL, DBName: env.DBName, DBUser: env.DBUser},
		Backup: &protocol.Backup{ID: b.ID, Scope: b.Scope, CreatedAt: b.CreatedAt}}
	raw, err := c.call(ctx, n, req, p)
	if err != nil {
		return nil, err
	}
	var r protocol.BackupResult
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, unreadable(req.Op)
	}
	return &pressluft.BackupFacts{Path: r.Path, Manifest: domainManifest(r.Manifest), ManifestSHA256: r.ManifestSHA256, Size: r.Size}, nil
}

// UploadBackup copies a backup from the node to t under key.
func (c *Client) UploadBackup(ctx context.Context, n *pressluft.Node, envName, backupID string, t pressluft.OffsiteTarget, key string, p pressluft.Progress) error {
	req := protocol.Request{Op: protocol.OpBackupUpload, Env: &protocol.Env{Name: envName},
		Backup: &protocol.Backup{ID: backupID}, Offsite: wireOffsite(&t, key)}
	_, err := c.call(ctx, n, req, p, t.SecretKey)
	return err
}

// RestoreBackup replaces env's database and files with the backup's.
func (c *Client) RestoreBackup(ctx context.Context, n *pressluft.Node, env pressluft.EnvSpec, src pressluft.BackupSource, p pressluft.Progress) (*pressluft.EnvFacts, error) {
	req := protocol.Request{Op: protocol.OpBackupRestore, Env: wireEnv(env),
		Backup:  &protocol.Backup{ID: src.ID, Env: src.EnvName, ManifestSHA256: src.ManifestSHA256},
		Offsite: wireOffsite(src.Offsite, src.OffsiteKey)}
	secrets := []string{env.DBPassword}
	if src.Offsite != nil {
		secrets = append(secrets, src.Offsite.SecretKey)
	}
	return c.envCall(ctx, n, req, p, secrets...)
}

// DeleteBackup removes the node copy and, with t set, the offsite copy.
func (c *Client) DeleteBackup(ctx context.Context, n *pressluft.Node, envName, backupID string, t *pressluft.OffsiteTarget, key string) error {
	req := protocol.Request{Op: protocol.OpBackupDelete, Env: &protocol.Env{Name: envName},
		Backup: &protocol.Backup{ID: backupID}, Offsite: wireOffsite(t, key)}
	var secrets []string
	if t != nil {
		secrets = append(secrets, t.SecretKey)
	}
	_, err := c.call(ctx, n, req, discard{}, secrets...)
	return err
}

// ReadBackup streams length bytes (-1: to the end) of a part from offset
// and reports the part's whole size. The reader fails (agent_lost) when
// the stream ends before the range does; closing it ends the session.
func (c *Client) ReadBackup(ctx context.Context, n *pressluft.Node, envName, backupID, part string, offset, length int64) (io.ReadCloser, int64, error) {
	b, err := c.buildFor(ctx, n)
	if err != nil {
		return nil, 0, err
	}
	req := protocol.Request{Op: protocol.OpBackupRead, Version: c.version, Env: &protocol.Env{Name: envName},
		Backup: &protocol.Backup{ID: backupID, Part: part, Offset: offset, Length: length}}
	line, err := json.Marshal(req)
	if err != nil {
		return nil, 0, err
	}
	line = append(line, '\n')
	cmd := agentCommand(n, b)
	for try := 0; ; try++ {
		pipe, err := c.SSH.Open(ctx, n, cmd, line)
		if err != nil {
			return nil, 0, err
		}
		r := bufio.NewReaderSize(pipe, 256<<10)
		first, err := readHeader(r)
		if err != nil {
			// No answer line: the agent is missing, or died at once.
			res, werr := pipe.Wait()
			pipe.Close()
			if werr != nil {
				return nil, 0, werr
			}
			if res.ExitCode == 127 && try == 0 {
				if err := c.upload(ctx, n, b, discard{}); err != nil {
					return nil, 0, err
				}
				continue
			}
			d := newDecoder(discard{}, nil)
			_, err := d.outcome(res, n)
			return nil, 0, err
		}
		d := newDecoder(discard{}, nil)
		d.line(first)
		if d.failure != nil {
			pipe.Close()
			return nil, 0, d.failure
		}
		var res protocol.ReadResult
		if d.result == nil || json.Unmarshal(d.result, &res) != nil || res.Size < 0 {
			pipe.Close()
			return nil, 0, pressluft.Errorf(pressluft.EAgentFailed, "The node agent on %s answered backup_read with %q.", n.Host, tail(first))
		}
		want := res.Size - min(offset, res.Size)
		if length >= 0 && length < want {
			want = length
		}
		return &rangeReader{ctx: ctx, r: r, pipe: pipe, left: want, host: n.Host}, res.Size, nil
	}
}

// readHeader reads the first line of a raw answer (a JSON message of a
// few hundred bytes at most).
func readHeader(r *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		chunk, err := r.ReadSlice('\n')
		line = append(line, chunk...)
		if err == nil {
			return line, nil
		}
		if !errors.Is(err, bufio.ErrBufferFull) || len(line) > 1<<20 {
			return nil, err
		}
	}
}

// rangeReader reads exactly the bytes of a range from the agent's stdout.
type rangeReader struct {
	ctx  context.Context
	r    *bufio.Reader
	pipe *ssh.Pipe
	left int64
	host string
}

func (rr *rangeReader) Read(p []byte) (int, error) {
	if rr.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > rr.left {
		p = p[:rr.left]
	}
	n, err := rr.r.Read(p)
	rr.left -= int64(n)
	if err != nil && rr.ctx.Err() != nil {
		return n, rr.ctx.Err()
	}
	if errors.Is(err, io.EOF) && rr.left > 0 {
		return n, pressluft.Errorf(pressluft.EAgentLost, "The node agent on %s stopped %d bytes before the end of the range.", rr.host, rr.left)
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return n, pressluft.Errorf(pressluft.ENodeUnreachable, "Reading from %s failed: %v.", rr.host, err)
	}
	return n, nil
}

func (rr *rangeReader) Close() error {
	rr.pipe.Close()
	return nil
}

// domainManifest is the wire manifest in the domain's shape.
func domainManifest(m protocol.Manifest) pressluft.BackupManifest {
	out := pressluft.BackupManifest{
		Format: m.Format, BackupID: m.BackupID, Scope: m.Scope, Environment: m.Environment, URL: m.URL, SiteURL: m.SiteURL,
		TablePrefix: m.TablePrefix, CreatedAt: m.CreatedAt, WPVersion: m.WPVersion, PHPVersion: m.PHPVersion,
		MariaDBVersion: m.MariaDBVersion, Tables: m.Tables, FileCount: m.FileCount,
	}
	for _, p := range m.Parts {
		out.Parts = append(out.Parts, pressluft.BackupPart{Name: p.Name, Size: p.Size, SHA256: p.SHA256, Unpacked: p.Unpacked})
	}
	return out
}

func unreadable(op string) error {
	return pressluft.Errorf(pressluft.EAgentFailed, "The node agent answered %s with an unreadable result.", op)
}

// agentCommand runs b on n; 127 tells "not installed" apart from the
// agent's own failures.
func agentCommand(n *pressluft.Node, b *build) string {
	return sudo(n, "sh -c "+ssh.Quote(fmt.Sprintf("test -x %[1]s || exit 127; exec %[1]s", b.path())))
}
