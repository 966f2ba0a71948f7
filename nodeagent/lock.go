package nodeagent

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/pressluft/pressluft/agent/protocol"
)

// envLock is an flock on <dir>/<env>.lock, released when the agent exits
// (the kernel drops it with the file descriptor, also after SIGKILL).
type envLock struct{ f *os.File }

// lockEnv takes the environment's lock, waiting up to wait for another
// agent to finish: then env_locked.
func lockEnv(ctx context.Context, dir, name string, wait time.Duration) (*envLock, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(dir, name+".lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(wait)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			// The holder's PID, for an operator (or a test) who must find it.
			if f.Truncate(0) == nil {
				_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
			}
			return &envLock{f: f}, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, err
		}
		if time.Now().After(deadline) {
			f.Close()
			return nil, errorf(protocol.ErrEnvLocked, "another agent is working on environment %s; retry later", name)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, errorf(protocol.ErrCancelled, "cancelled while waiting for the lock of %s", name)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (l *envLock) release() {
	if l != nil && l.f != nil {
		l.f.Close()
	}
}
