package nodeagent

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/pressluft/pressluft/agent/protocol"
)

// Node paths the agent manages besides the environments' own trees.
const (
	stateDir        = "/var/lib/pressluft"
	lockDir         = stateDir + "/locks"
	configBackupDir = stateDir + "/config-backups"
	wordpressSrc    = protocol.LibDir + "/wordpress-src"
	helperPath      = protocol.LibDir + "/helper.php"
	offlineMark     = protocol.LibDir + "/offline"
	fragmentChecker = protocol.LibDir + "/nginx-check-fragment"
	acmeSnippet     = "/etc/nginx/snippets/pressluft-acme.conf"
	fastcgiCacheDir = "/var/cache/pressluft/fastcgi"
	lockWait        = 30 * time.Second
)

// Options are what Serve reads from and writes to.
type Options struct {
	Stdin  io.Reader
	Stdout io.Writer
	// CancelOnEOF stops the work when Stdin reaches EOF after the request:
	// the control plane closed the session. Off when stdin is a file.
	CancelOnEOF bool
}

type agent struct {
	w *Writer
	// node is probed once, when an operation first needs it.
	node *nodeFacts
}

// Serve reads one request, runs it and writes the answer. It returns the
// process's exit code: 0 after a result, 1 after an error.
func Serve(ctx context.Context, opt Options) int {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w := NewWriter(opt.Stdout)
	in := bufio.NewReaderSize(opt.Stdin, 64<<10)
	line, err := readLine(in)
	if err != nil {
		w.Error(protocol.ErrBadRequest, err.Error())
		return 1
	}
	req, err := ParseRequest(line, Version)
	if err != nil {
		code, msg := errorCode(err)
		w.Error(code, msg)
		return 1
	}
	addSecrets(w, req)
	if req.Op == protocol.OpBackupRead {
		return serveRead(w, opt.Stdout, req)
	}
	if req.Op == protocol.OpArchiveReceive {
		// Raw input: stdin carries the archive, so its EOF is not watched.
		return serveReceive(ctx, w, in, req)
	}
	if opt.CancelOnEOF {
		go func() {
			_, _ = io.Copy(io.Discard, in)
			cancel()
		}()
	}
	a := &agent{w: w}
	result, err := a.dispatch(ctx, req)
	if err == nil && ctx.Err() != nil {
		err = errorf(protocol.ErrCancelled, "cancelled")
	}
	if err != nil {
		code, msg := errorCode(err)
		if ctx.Err() != nil && code != protocol.ErrCancelled {
			code, msg = protocol.ErrCancelled, "cancelled (stdin closed or signalled): "+msg
		}
		w.Error(code, msg)
		return 1
	}
	if err := w.Result(result); err != nil {
		w.Error(protocol.ErrInternal, err.Error())
		return 1
	}
	return 0
}

// readLine reads the request line (the newline is optional at EOF).
func readLine(in *bufio.Reader) ([]byte, error) {
	var buf bytes.Buffer
	for {
		chunk, err := in.ReadSlice('\n')
		buf.Write(chunk)
		if buf.Len() > MaxRequestBytes {
			return nil, errors.New("request line is too long")
		}
		switch {
		case err == nil:
			return bytes.TrimSpace(buf.Bytes()), nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			if buf.Len() == 0 {
				return nil, errors.New("no request on stdin")
			}
			return bytes.TrimSpace(buf.Bytes()), nil
		default:
			return nil, err
		}
	}
}

func addSecrets(w *Writer, req *protocol.Request) {
	for _, env := range []*protocol.Env{req.Env, req.Source} {
		if env != nil {
			w.AddSecret(env.DBPassword)
		}
	}
	if req.Install != nil {
		w.AddSecret(req.Install.AdminPassword)
	}
	if req.Offsite != nil {
		w.AddSecret(req.Offsite.SecretKey)
	}
	if req.Deploy != nil {
		w.AddSecret(req.Deploy.DeployKey)
		w.AddSecret(strings.TrimSpace(req.Deploy.DeployKey))
	}
}

func (a *agent) dispatch(ctx context.Context, req *protocol.Request) (any, error) {
	if req.Op == protocol.OpVersion {
		return protocol.VersionResult{Version: Version, Arch: runtime.GOARCH}, nil
	}
	if os.Geteuid() != 0 {
		return nil, errorf(protocol.ErrInternal, "the agent must run as root for %s", req.Op)
	}
	if req.Op == protocol.OpEnvHealth {
		return a.envHealth(ctx, req.Env)
	}
	if req.Op == protocol.OpArchiveDiscard {
		// Only the upload's own names are touched: no lock.
		return struct{}{}, discardUpload(protocol.Root, req.Env.Name, req.Upload.ID)
	}
	if req.Op == protocol.OpEnvUpdates {
		// Reads files and asks wordpress.org: no lock, like env_health.
		return a.envUpdates(ctx, req.Env)
	}
	lock, err := lockEnv(ctx, lockDir, req.Env.Name, 0)
	if code, _ := errorCode(err); code == protocol.ErrEnvLocked {
		a.event("lock", "waiting for another operation on "+req.Env.Name)
		lock, err = lockEnv(ctx, lockDir, req.Env.Name, lockWait)
	}
	if err != nil {
		return nil, err
	}
	defer lock.release()
	switch req.Op {
	case protocol.OpEnvCreate:
		return a.envCreate(ctx, req.Env, req.Install)
	case protocol.OpEnvCopy:
		return a.envCopy(ctx, req.Env, req.Source)
	case protocol.OpEnvDelete:
		return struct{}{}, a.envDelete(ctx, req.Env)
	case protocol.OpBackupCreate:
		return a.backupCreate(ctx, req.Env, req.Backup)
	case protocol.OpBackupUpload:
		return a.backupUpload(ctx, req.Env, req.Backup, req.Offsite)
	case protocol.OpBackupRestore:
		return a.backupRestore(ctx, req.Env, req.Backup, req.Offsite)
	case protocol.OpBackupDelete:
		return a.backupDelete(ctx, req.Env, req.Backup, req.Offsite)
	case protocol.OpReleaseBuild:
		return a.releaseBuild(ctx, req.Env, req.Deploy)
	case protocol.OpReleaseUpdate:
		return a.releaseUpdate(ctx, req.Env, req.Update)
	case protocol.OpReleaseSwitch:
		return a.releaseSwitch(ctx, req.Env)
	case protocol.OpReleasePrune:
		return a.releasePrune(ctx, req.Env, req.Prune)
	case protocol.OpEnvState:
		return a.envState(ctx, req.Env)
	case protocol.OpDBPromote:
		return a.dbPromote(ctx, req.Env, req.Source, req.Promote)
	}
	return nil, errorf(protocol.ErrUnknownOp, "unknown operation %q", req.Op)
}

func (a *agent) event(step, message string) { a.w.Event(step, "info", message) }
func (a *agent) warn(step, message string)  { a.w.Event(step, "warn", message) }

// checkCtx turns a cancelled context into the cancelled error between steps.
func checkCtx(ctx context.Context) error {
	if ctx.Err() != nil {
		return errorf(protocol.ErrCancelled, "cancelled")
	}
	return nil
}

// mustJSON is for values that always encode.
func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
