package ssh

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pressluft/pressluft"
	"golang.org/x/crypto/ssh"
)

// Pool keeps one SSH connection per node and reuses it for every command.
type Pool struct {
	Signer ssh.Signer
	// Pin is called with the host key seen at first contact with a node
	// that has none pinned yet.
	Pin         func(ctx context.Context, nodeID, hostKey, fingerprint string) error
	DialTimeout time.Duration

	mu      sync.Mutex
	clients map[string]*ssh.Client
}

// NewPool returns a Pool that authenticates with the PEM private key.
func NewPool(privatePEM []byte, pin func(ctx context.Context, nodeID, hostKey, fingerprint string) error) (*Pool, error) {
	signer, err := ssh.ParsePrivateKey(privatePEM)
	if err != nil {
		return nil, err
	}
	return &Pool{Signer: signer, Pin: pin, DialTimeout: 10 * time.Second, clients: map[string]*ssh.Client{}}, nil
}

// hostKeyCallback accepts the pinned key only; with none pinned it accepts
// and remembers the first key seen (trust on first use).
func (p *Pool) hostKeyCallback(ctx context.Context, n *pressluft.Node, seen *string) ssh.HostKeyCallback {
	return func(_ string, _ net.Addr, key ssh.PublicKey) error {
		line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(key)))
		*seen = line
		if n.HostKey == "" {
			return nil
		}
		pinned, _, _, _, err := ssh.ParseAuthorizedKey([]byte(n.HostKey))
		if err != nil {
			return err
		}
		if !bytes.Equal(pinned.Marshal(), key.Marshal()) {
			return &pressluft.Error{Code: pressluft.EHostKeyMismatch,
				Message: fmt.Sprintf("Host key of %s changed: pinned %s, offered %s. If the server was reinstalled, delete and re-add the node.",
					n.Host, n.HostKeyFingerprint, ssh.FingerprintSHA256(key))}
		}
		return nil
	}
}

// client returns the node's cached connection or dials a new one.
func (p *Pool) client(ctx context.Context, n *pressluft.Node) (*ssh.Client, error) {
	p.mu.Lock()
	c := p.clients[n.ID]
	p.mu.Unlock()
	if c != nil {
		return c, nil
	}
	c, err := p.dial(ctx, n)
	if err != nil {
		return nil, untouched(err)
	}
	p.mu.Lock()
	if old := p.clients[n.ID]; old != nil {
		c.Close()
		c = old
	} else {
		p.clients[n.ID] = c
	}
	p.mu.Unlock()
	return c, nil
}

// dial opens a new connection, pinning the host key at first contact.
func (p *Pool) dial(ctx context.Context, n *pressluft.Node) (*ssh.Client, error) {
	var seen string
	cfg := &ssh.ClientConfig{
		User:            n.SSHUser,
		Auth:            []ssh.AuthMethod{ssh.PublicKeys(p.Signer)},
		HostKeyCallback: p.hostKeyCallback(ctx, n, &seen),
		Timeout:         p.DialTimeout,
	}
	addr := net.JoinHostPort(n.Host, strconv.Itoa(n.SSHPort))
	d := net.Dialer{Timeout: p.DialTimeout}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, pressluft.Errorf(pressluft.ENodeUnreachable, "Cannot reach %s: %s.", addr, netReason(err))
	}
	// The handshake gets the same deadline as the dial.
	_ = conn.SetDeadline(time.Now().Add(p.DialTimeout))
	sc, chans, reqs, err := ssh.NewClientConn(conn, addr, cfg)
	if err != nil {
		conn.Close()
		return nil, classify(err, n, addr)
	}
	_ = conn.SetDeadline(time.Time{})
	c := ssh.NewClient(sc, chans, reqs)
	if n.HostKey == "" && seen != "" && p.Pin != nil {
		pk, _, _, _, _ := ssh.ParseAuthorizedKey([]byte(seen))
		if err := p.Pin(ctx, n.ID, seen, ssh.FingerprintSHA256(pk)); err != nil {
			c.Close()
			return nil, err
		}
		n.HostKey, n.HostKeyFingerprint = seen, ssh.FingerprintSHA256(pk)
	}
	return c, nil
}

func classify(err error, n *pressluft.Node, addr string) error {
	var pe *pressluft.Error
	if errors.As(err, &pe) {
		return pe
	}
	if strings.Contains(err.Error(), "unable to authenticate") {
		return pressluft.Errorf(pressluft.ESSHAuthFailed, "SSH login as %q on %s was refused: add the control plane's public key to that user's ~/.ssh/authorized_keys.", n.SSHUser, addr)
	}
	return pressluft.Errorf(pressluft.ENodeUnreachable, "SSH handshake with %s failed: %s.", addr, netReason(err))
}

func netReason(err error) string {
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		return "timed out"
	case strings.Contains(err.Error(), "connection refused"):
		return "connection refused (is sshd running and the port right?)"
	case strings.Contains(err.Error(), "no route to host"), strings.Contains(err.Error(), "network is unreachable"):
		return "no route to host"
	case errors.Is(err, io.EOF):
		return "connection closed by the server"
	}
	return "network error"
}

// Forget closes and drops a node's cached connection.
func (p *Pool) Forget(nodeID string) {
	p.mu.Lock()
	c := p.clients[nodeID]
	delete(p.clients, nodeID)
	p.mu.Unlock()
	if c != nil {
		c.Close()
	}
}

// Close closes every connection.
func (p *Pool) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for id, c := range p.clients {
		c.Close()
		delete(p.clients, id)
	}
}

// Result is the outcome of one remote command.
type Result struct {
	Stdout, Stderr []byte
	ExitCode       int
}

// Run runs cmd on the node, feeding stdin (secrets travel here, never in
// the command line). A broken cached connection is redialled once. When ctx
// ends, the remote process is signalled and the session closed.
func (p *Pool) Run(ctx context.Context, n *pressluft.Node, cmd string, stdin []byte) (*Result, error) {
	res, err := p.run(ctx, n, cmd, stdin)
	if err != nil && pressluft.ErrorCode(err) == pressluft.ENodeUnreachable && ctx.Err() == nil {
		p.Forget(n.ID)
		res, err = p.run(ctx, n, cmd, stdin)
	}
	return res, err
}

func (p *Pool) run(ctx context.Context, n *pressluft.Node, cmd string, stdin []byte) (*Result, error) {
	sess, err := p.session(ctx, n)
	if err != nil {
		return nil, err
	}
	defer sess.Close()
	var stdout, stderr bytes.Buffer
	sess.Stdout, sess.Stderr = &stdout, &stderr
	if stdin != nil {
		sess.Stdin = bytes.NewReader(stdin)
	}
	if err := sess.Start(cmd); err != nil {
		p.Forget(n.ID)
		return nil, untouched(pressluft.Errorf(pressluft.ENodeUnreachable, "SSH connection to %s was lost.", n.Host))
	}
	done := make(chan error, 1)
	go func() { done <- sess.Wait() }()
	select {
	case <-ctx.Done():
		_ = sess.Signal(ssh.SIGTERM)
		sess.Close()
		return nil, ctx.Err()
	case err = <-done:
	}
	return p.ended(n, &Result{Stdout: stdout.Bytes(), Stderr: stderr.Bytes()}, err)
}

// ended turns a session's end into its result: a remote exit status is the
// command's answer; any other error means the connection broke.
func (p *Pool) ended(n *pressluft.Node, res *Result, err error) (*Result, error) {
	var exit *ssh.ExitError
	if errors.As(err, &exit) {
		res.ExitCode = exit.ExitStatus()
		return res, nil
	} else if err != nil {
		p.Forget(n.ID)
		return nil, pressluft.Errorf(pressluft.ENodeUnreachable, "SSH connection to %s was lost while running a command.", n.Host)
	}
	return res, nil
}

// Stream runs cmd on the node with request written to its stdin, which then
// stays open until the command ends: a remote program that watches stdin
// learns of a cancel as EOF, whatever sits between it and sshd (sudo, sh).
// Each line of stdout goes to onLine as it arrives. When ctx ends, stdin is
// closed and the session torn down. A broken cached connection is redialled
// once, before anything was sent.
func (p *Pool) Stream(ctx context.Context, n *pressluft.Node, cmd string, request []byte, onLine func([]byte)) (*Result, error) {
	sess, err := p.session(ctx, n)
	if err != nil && pressluft.ErrorCode(err) == pressluft.ENodeUnreachable && ctx.Err() == nil {
		p.Forget(n.ID)
		sess, err = p.session(ctx, n)
	}
	if err != nil {
		return nil, err
	}
	defer sess.Close()
	var stderr bytes.Buffer
	sess.Stderr = &stderr
	stdin, err := sess.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := sess.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := sess.Start(cmd); err != nil {
		p.Forget(n.ID)
		return nil, untouched(pressluft.Errorf(pressluft.ENodeUnreachable, "SSH connection to %s was lost.", n.Host))
	}
	if _, err := stdin.Write(request); err != nil {
		return nil, pressluft.Errorf(pressluft.ENodeUnreachable, "SSH connection to %s was lost while sending a request.", n.Host)
	}
	read := make(chan struct{})
	go func() {
		defer close(read)
		r := bufio.NewReaderSize(stdout, 64<<10)
		for {
			line, err := r.ReadBytes('\n')
			if len(line) > 0 {
				onLine(line)
			}
			if err != nil {
				return
			}
		}
	}()
	done := make(chan error, 1)
	go func() { <-read; done <- sess.Wait() }()
	select {
	case <-ctx.Done():
		stdin.Close()
		sess.Close()
		<-done
		return nil, ctx.Err()
	case err = <-done:
	}
	return p.ended(n, &Result{Stderr: stderr.Bytes()}, err)
}

// Pipe is a remote command's stdout as a stream: the command runs until
// its output is read to the end or the Pipe is closed.
type Pipe struct {
	sess   *ssh.Session
	stdin  io.WriteCloser
	stdout io.Reader
	stderr *bytes.Buffer
	stop   context.CancelFunc
	once   sync.Once
	waited chan struct{}
	exit   int
	err    error
	n      *pressluft.Node
	p      *Pool
}

// Open runs cmd on the node with request written to its stdin, which stays
// open (as in Stream) until the Pipe is closed, and returns the command's
// stdout to read. Closing the Pipe, or ctx ending, ends the session. A
// broken cached connection is redialled once, before anything was sent.
func (p *Pool) Open(ctx context.Context, n *pressluft.Node, cmd string, request []byte) (*Pipe, error) {
	sess, err := p.session(ctx, n)
	if err != nil && pressluft.ErrorCode(err) == pressluft.ENodeUnreachable && ctx.Err() == nil {
		p.Forget(n.ID)
		sess, err = p.session(ctx, n)
	}
	if err != nil {
		return nil, err
	}
	stderr := &bytes.Buffer{}
	sess.Stderr = &capped{buf: stderr, max: 64 << 10}
	stdin, err := sess.StdinPipe()
	if err != nil {
		sess.Close()
		return nil, err
	}
	stdout, err := sess.StdoutPipe()
	if err != nil {
		sess.Close()
		return nil, err
	}
	if err := sess.Start(cmd); err != nil {
		sess.Close()
		p.Forget(n.ID)
		return nil, untouched(pressluft.Errorf(pressluft.ENodeUnreachable, "SSH connection to %s was lost.", n.Host))
	}
	if _, err := stdin.Write(request); err != nil {
		sess.Close()
		return nil, pressluft.Errorf(pressluft.ENodeUnreachable, "SSH connection to %s was lost while sending a request.", n.Host)
	}
	watch, stop := context.WithCancel(ctx)
	pipe := &Pipe{sess: sess, stdin: stdin, stdout: stdout, stderr: stderr, stop: stop, waited: make(chan struct{}), n: n, p: p}
	go func() {
		<-watch.Done()
		if ctx.Err() != nil {
			// The caller gave up: the remote side learns it from the closed stdin and session.
			stdin.Close()
			sess.Close()
		}
	}()
	return pipe, nil
}

// Read reads the command's stdout.
func (r *Pipe) Read(b []byte) (int, error) { return r.stdout.Read(b) }

// Wait waits for the command to end (its stdout must have been read to the
// end, or the Pipe closed) and returns its exit code and stderr; a session
// that ended without an exit status is node_unreachable.
func (r *Pipe) Wait() (*Result, error) {
	r.once.Do(func() {
		err := r.sess.Wait()
		res, err := r.p.ended(r.n, &Result{}, err)
		if res != nil {
			r.exit = res.ExitCode
		}
		r.err = err
		close(r.waited)
	})
	<-r.waited
	if r.err != nil {
		return nil, r.err
	}
	return &Result{ExitCode: r.exit, Stderr: r.stderr.Bytes()}, nil
}

// Send streams src into the command's stdin after the request, then
// closes stdin: for a command that reads raw input after its request line.
// Nothing of src is held beyond the copy's buffer. An error reading src is
// returned as it is; an error writing means the command stopped reading
// (its answer on stdout says why) or the connection broke.
func (r *Pipe) Send(src io.Reader) (int64, error) {
	n, err := io.Copy(r.stdin, src)
	if cerr := r.stdin.Close(); err == nil && cerr != nil && !errors.Is(cerr, io.EOF) {
		err = cerr
	}
	return n, err
}

// Close ends the session (and so the command, if it still runs).
func (r *Pipe) Close() error {
	r.stop()
	r.stdin.Close()
	return r.sess.Close()
}

// capped keeps the first max bytes written to it.
type capped struct {
	mu  sync.Mutex
	buf *bytes.Buffer
	max int
}

func (c *capped) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if room := c.max - c.buf.Len(); room > 0 {
		c.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

// session opens a session on the node's cached connection.
func (p *Pool) session(ctx context.Context, n *pressluft.Node) (*ssh.Session, error) {
	c, err := p.client(ctx, n)
	if err != nil {
		return nil, err
	}
	sess, err := c.NewSession()
	if err != nil {
		p.Forget(n.ID)
		return nil, untouched(pressluft.Errorf(pressluft.ENodeUnreachable, "SSH connection to %s was lost.", n.Host))
	}
	return sess, nil
}

// untouched marks an error that came before any command ran on the node.
func untouched(err error) error {
	var pe *pressluft.Error
	if errors.As(err, &pe) {
		c := *pe
		c.Untouched = true
		return &c
	}
	return err
}

// Probe checks on a new connection that the node accepts SSH logins now
// (a cached connection can outlive a stopped sshd) and answers a trivial
// command within timeout.
// It runs nothing but `true`, so its errors are untouched.
func (p *Pool) Probe(ctx context.Context, n *pressluft.Node, timeout time.Duration) error {
	if err := p.probe(ctx, n, timeout); err != nil {
		return untouched(err)
	}
	return nil
}

func (p *Pool) probe(ctx context.Context, n *pressluft.Node, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c, err := p.dial(ctx, n)
	if err != nil {
		if ctx.Err() != nil {
			return pressluft.Errorf(pressluft.ENodeUnreachable, "%s did not answer within %s.", n.Host, timeout)
		}
		return err
	}
	defer c.Close()
	sess, err := c.NewSession()
	if err != nil {
		return pressluft.Errorf(pressluft.ENodeUnreachable, "%s accepted the login but opened no session.", n.Host)
	}
	defer sess.Close()
	done := make(chan error, 1)
	go func() { done <- sess.Run("true") }()
	select {
	case <-ctx.Done():
		return pressluft.Errorf(pressluft.ENodeUnreachable, "%s did not answer within %s.", n.Host, timeout)
	case err := <-done:
		if err != nil {
			return pressluft.Errorf(pressluft.ENodeUnreachable, "%s could not run a command: %v.", n.Host, err)
		}
	}
	return nil
}

// Quote quotes s for a POSIX shell. Commands built here only ever quote
// values that were validated first; quoting is the second fence.
func Quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
