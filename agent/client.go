package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/pressluft/pressluft"
	"github.com/pressluft/pressluft/agent/protocol"
	"github.com/pressluft/pressluft/ssh"
)

// Client runs operations through the agent on nodes over their pooled SSH
// connections: one exec per operation, the request on stdin, JSON lines back.
type Client struct {
	SSH *ssh.Pool

	version string
	mu      sync.Mutex
	arch    map[string]string      // node id → GOARCH, learnt once per process
	install map[string]*sync.Mutex // node id → serialises uploads
}

// New returns a Client for the agents embedded in this binary.
func New(pool *ssh.Pool) *Client {
	return &Client{SSH: pool, version: buildVersion(), arch: map[string]string{}, install: map[string]*sync.Mutex{}}
}

// sudo prefixes a command for nodes reached as a user other than root: the
// agent creates users and writes system configuration.
func sudo(n *pressluft.Node, cmd string) string {
	if n.SSHUser == "root" {
		return cmd
	}
	return "sudo -n " + cmd
}

// buildFor returns the agent build for n's architecture, asking the node
// once per process.
func (c *Client) buildFor(ctx context.Context, n *pressluft.Node) (*build, error) {
	c.mu.Lock()
	arch := c.arch[n.ID]
	c.mu.Unlock()
	if arch == "" {
		res, err := c.SSH.Run(ctx, n, "uname -m", nil)
		if err != nil {
			return nil, err
		} else if res.ExitCode != 0 {
			return nil, pressluft.Errorf(pressluft.ECommandFailed, "uname -m failed on %s: %s", n.Host, tail(res.Stderr))
		}
		if arch, err = goArch(string(res.Stdout)); err != nil {
			return nil, err
		}
		c.mu.Lock()
		c.arch[n.ID] = arch
		c.mu.Unlock()
	}
	return loadBuild(arch)
}

// InstallAgent makes sure n has this control plane's agent, uploading it
// when it is missing.
func (c *Client) InstallAgent(ctx context.Context, n *pressluft.Node, p pressluft.Progress) error {
	b, err := c.buildFor(ctx, n)
	if err != nil {
		return err
	}
	res, err := c.SSH.Run(ctx, n, "test -x "+b.path(), nil)
	if err != nil {
		return err
	}
	if res.ExitCode == 0 {
		p.Event("agent", pressluft.LevelInfo, "Node agent "+c.version+" ("+b.sum[:16]+") is installed.")
		return nil
	}
	return c.upload(ctx, n, b, p)
}

// uploadScript receives the agent on stdin, checks its checksum and moves
// it into its content-named directory in one rename, then removes other
// versions. Only the build's own hex checksum is put into it.
const uploadScript = `set -eu
d=%[1]s/%[2]s; t="$d/.upload.$$"
umask 022; mkdir -p "$d"
trap 'rm -f "$t"' EXIT
cat > "$t"
echo "%[3]s  $t" | sha256sum -c --status || exit 3
chmod 0755 "$t"; mv -f "$t" "$d/pressluft-agent"
find %[1]s -mindepth 1 -maxdepth 1 ! -name %[2]s -exec rm -rf {} +`

// upload puts build b on n. Concurrent operations on one node upload once.
func (c *Client) upload(ctx context.Context, n *pressluft.Node, b *build, p pressluft.Progress) error {
	c.mu.Lock()
	lock := c.install[n.ID]
	if lock == nil {
		lock = &sync.Mutex{}
		c.install[n.ID] = lock
	}
	c.mu.Unlock()
	lock.Lock()
	defer lock.Unlock()
	if res, err := c.SSH.Run(ctx, n, "test -x "+b.path(), nil); err != nil {
		return err
	} else if res.ExitCode == 0 {
		return nil // another operation uploaded it meanwhile
	}
	p.Event("agent", pressluft.LevelInfo, fmt.Sprintf("Installing node agent %s for linux/%s (%d KB).", c.version, b.arch, len(b.data)>>10))
	script := fmt.Sprintf(uploadScript, protocol.AgentDir, b.sum[:16], b.sum)
	res, err := c.SSH.Run(ctx, n, sudo(n, "sh -c "+ssh.Quote(script)), b.data)
	if err != nil {
		return err
	}
	switch res.ExitCode {
	case 0:
		p.Event("agent", pressluft.LevelInfo, "Node agent installed at "+b.path()+".")
		return nil
	case 3:
		return pressluft.Errorf(pressluft.EChecksumMismatch, "The node agent arrived damaged on %s (sha256 mismatch); nothing was installed.", n.Host)
	}
	return pressluft.Errorf(pressluft.ECommandFailed, "Installing the node agent on %s failed: %s", n.Host, sudoHint(n, res.Stderr))
}

// sudoHint explains the usual reason why a command under sudo failed.
func sudoHint(n *pressluft.Node, stderr []byte) string {
	msg := tail(stderr)
	if strings.Contains(msg, "password is required") {
		return fmt.Sprintf("%s needs passwordless sudo on the node (%s).", n.SSHUser, msg)
	}
	return msg
}

// call runs one operation and returns its result. A node without the
// agent gets it uploaded, and the call is made again once.
func (c *Client) call(ctx context.Context, n *pressluft.Node, req protocol.Request, p pressluft.Progress, secrets ...string) (json.RawMessage, error) {
	b, err := c.buildFor(ctx, n)
	if err != nil {
		return nil, err
	}
	req.Version = c.version
	line, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	line = append(line, '\n')
	cmd := agentCommand(n, b)
	for try := 0; ; try++ {
		d := newDecoder(p, secrets)
		res, err := c.SSH.Stream(ctx, n, cmd, line, d.line)
		if err != nil {
			return nil, err
		}
		if res.ExitCode == 127 && try == 0 && !d.answered() {
			if err := c.upload(ctx, n, b, p); err != nil {
				return nil, err
			}
			continue
		}
		return d.outcome(res, n)
	}
}

// decoder turns the agent's lines into job events and its answer.
type decoder struct {
	p       pressluft.Progress
	redact  *strings.Replacer
	result  json.RawMessage
	failure *pressluft.Error
	garbage []string
}

func newDecoder(p pressluft.Progress, secrets []string) *decoder {
	var pairs []string
	for _, s := range secrets {
		if s != "" {
			pairs = append(pairs, s, "********")
		}
	}
	return &decoder{p: p, redact: strings.NewReplacer(pairs...)}
}

func (d *decoder) answered() bool { return d.result != nil || d.failure != nil }

// line handles one line of the agent's stdout. Secrets are cut out again
// here: the agent never prints them, and this is the second fence.
func (d *decoder) line(raw []byte) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return
	}
	var m protocol.Message
	if err := json.Unmarshal(raw, &m); err != nil {
		d.garbage = append(d.garbage, d.redact.Replace(string(raw)))
		return
	}
	switch m.Type {
	case protocol.TypeEvent:
		level := m.Level
		if level != pressluft.LevelWarn && level != pressluft.LevelError {
			level = pressluft.LevelInfo
		}
		d.p.Event(d.redact.Replace(m.Step), level, d.redact.Replace(m.Message))
	case protocol.TypeOutput:
		d.p.Output(d.redact.Replace(m.Text))
	case protocol.TypeResult:
		d.result = m.Result
	case protocol.TypeError:
		d.failure = &pressluft.Error{Code: errorCode(m.Code), Message: d.redact.Replace(m.Message)}
	}
}

// outcome is the operation's answer once the agent has exited.
func (d *decoder) outcome(res *ssh.Result, n *pressluft.Node) (json.RawMessage, error) {
	switch {
	case d.failure != nil:
		return nil, d.failure
	case d.result != nil && res.ExitCode == 0:
		return d.result, nil
	case res.ExitCode == 127:
		return nil, pressluft.Errorf(pressluft.EAgentFailed, "The node agent is missing on %s after it was installed.", n.Host)
	}
	msg := sudoHint(n, res.Stderr)
	if len(d.garbage) > 0 {
		msg = strings.Join(d.garbage, " ") + " " + msg
	}
	// Operations converge when run again, so a lost agent is retried.
	return nil, pressluft.Errorf(pressluft.EAgentLost, "The node agent on %s stopped without an answer (exit %d): %s",
		n.Host, res.ExitCode, d.redact.Replace(strings.TrimSpace(msg)))
}

// errorCode maps the agent's codes to the project's.
func errorCode(code string) string {
	switch code {
	case protocol.ErrEnvLocked:
		return pressluft.EEnvLocked
	case protocol.ErrConfigRejected:
		return pressluft.EConfigRejected
	case protocol.ErrCommandFailed:
		return pressluft.ECommandFailed
	case protocol.ErrWordPress:
		return pressluft.EWPError
	case protocol.ErrNotFound:
		return pressluft.ENotFound
	case protocol.ErrCancelled:
		return pressluft.EJobCancelled
	case protocol.ErrInsufficientSpace:
		return pressluft.EInsufficientSpace
	case protocol.ErrChecksumMismatch:
		return pressluft.EChecksumMismatch
	case protocol.ErrUnsafeArchive:
		return pressluft.EUnsafeArchive
	case protocol.ErrBackupUnavailable:
		return pressluft.EBackupUnavailable
	case protocol.ErrOffsiteAuth:
		return pressluft.EOffsiteAuth
	case protocol.ErrOffsiteUnreachable:
		return pressluft.EOffsiteUnreachable
	case protocol.ErrOffsiteFailed:
		return pressluft.EOffsiteFailed
	case protocol.ErrGitRefNotFound:
		return pressluft.EGitRefNotFound
	case protocol.ErrGitUnreachable:
		return pressluft.EGitUnreachable
	case protocol.ErrGitAuthFailed:
		return pressluft.EGitAuthFailed
	case protocol.ErrArchiveTooLarge:
		return pressluft.EArchiveTooLarge
	case protocol.ErrWPContentMissing:
		return pressluft.EWPContentMissing
	case protocol.ErrAddressNotAllowed:
		return pressluft.EAddressNotAllowed
	case protocol.ErrDownloadFailed:
		return pressluft.EDownloadFailed
	case protocol.ErrUpdateUnavailable:
		return pressluft.EUpdateUnavailable
	case protocol.ErrUpdateFailed:
		return pressluft.EUpdateFailed
	}
	return pressluft.EAgentFailed // bad_request, unknown_op, version_mismatch, internal: a mismatch between the two sides
}

func tail(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 500 {
		s = "…" + s[len(s)-500:]
	}
	return s
}
