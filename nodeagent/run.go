package nodeagent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"syscall"

	"github.com/pressluft/pressluft/agent/protocol"
)

// systemPath is the PATH of every child process.
const systemPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// command is one program the agent runs: argv only, never a shell.
type command struct {
	argv  []string
	stdin io.Reader
	// cred runs the program as another user (no supplementary groups).
	cred *syscall.Credential
	env  []string
	dir  string
}

// rootEnv is the environment of programs the agent runs as root.
func rootEnv() []string {
	return []string{"PATH=" + systemPath, "HOME=/root", "LANG=C.UTF-8", "LC_ALL=C.UTF-8"}
}

// prepare makes cmd's process die with the agent: its own process group,
// killed whole when ctx ends, and SIGKILL when the agent itself dies.
func prepare(ctx context.Context, c command) *exec.Cmd {
	cmd := exec.CommandContext(ctx, c.argv[0], c.argv[1:]...)
	cmd.Env = c.env
	if cmd.Env == nil {
		cmd.Env = rootEnv()
	}
	cmd.Dir = c.dir
	if cmd.Dir == "" {
		cmd.Dir = "/"
	}
	cmd.Stdin = c.stdin
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, Credential: c.cred}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	return cmd
}

// run runs c and returns its stdout. A failure is command_failed (or
// cancelled) with the end of stderr, redacted by the caller's writer.
func (a *agent) run(ctx context.Context, c command) ([]byte, error) {
	var stdout, stderr bytes.Buffer
	cmd := prepare(ctx, c)
	cmd.Stdout = &limitedBuffer{buf: &stdout, max: 64 << 20}
	cmd.Stderr = &limitedBuffer{buf: &stderr, max: 1 << 20}
	err := cmd.Run()
	if ctx.Err() != nil {
		return nil, errorf(protocol.ErrCancelled, "cancelled while running %s", c.argv[0])
	}
	if err != nil {
		return stdout.Bytes(), a.commandError(c.argv, err, stderr.String(), stdout.String())
	}
	return stdout.Bytes(), nil
}

func (a *agent) commandError(argv []string, err error, stderr, stdout string) *Error {
	detail := strings.TrimSpace(stderr)
	if detail == "" {
		detail = strings.TrimSpace(stdout)
	}
	msg := fmt.Sprintf("%s failed (%s)", strings.Join(argv[:min(len(argv), 2)], " "), exitStatus(err))
	if detail != "" {
		msg += ": " + tail(detail, 1000)
	}
	return &Error{Code: protocol.ErrCommandFailed, Message: a.w.Redact(msg)}
}

func exitStatus(err error) string {
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		return exitErr.ProcessState.String()
	}
	return err.Error()
}

// tail keeps the last n bytes of s, where errors are reported.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// limitedBuffer keeps at most max bytes and drops the rest, so a chatty
// child cannot exhaust the agent's memory.
type limitedBuffer struct {
	buf *bytes.Buffer
	max int
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := l.max - l.buf.Len(); room > 0 {
		l.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

// parallel runs fns at the same time; the first failure cancels the others
// and is returned.
func parallel(ctx context.Context, fns ...func(context.Context) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, len(fns))
	for _, fn := range fns {
		go func() {
			err := fn(ctx)
			if err != nil {
				cancel()
			}
			errs <- err
		}()
	}
	var first error
	for range fns {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}
