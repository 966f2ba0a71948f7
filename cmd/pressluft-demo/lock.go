package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// lockPath is host-wide: the node name, the host entries and the port are
// host-wide too, so one sandbox runs per machine.
const lockPath = "/run/pressluft-demo.lock"

// lock is held (flock) while a command changes the sandbox. Its content
// names the sandbox's owner: a PID (the command, then the control plane it
// leaves running) and the data directory.
type lock struct {
	f       *os.File
	dataDir string
}

type lockOwner struct {
	PID     int
	DataDir string
}

func (o lockOwner) alive() bool { return o.PID > 0 && syscall.Kill(o.PID, 0) == nil }

func readOwner(f *os.File) lockOwner {
	b := make([]byte, 4096)
	n, _ := f.ReadAt(b, 0)
	var o lockOwner
	lines := strings.SplitN(string(b[:n]), "\n", 3)
	if len(lines) >= 2 {
		o.PID, _ = strconv.Atoi(strings.TrimSpace(lines[0]))
		o.DataDir = strings.TrimSpace(lines[1])
	}
	return o
}

// errBusy and errOtherSandbox refuse a second sandbox.
var (
	errBusy         = errors.New("another 'make demo' or 'make demo-down' is running")
	errOtherSandbox = errors.New("another sandbox is running")
)

// acquireLock takes the lock for dataDir. It refuses while another command
// holds it, and while a sandbox of another data directory is running.
func acquireLock(path, dataDir string) (*lock, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		o := readOwner(f)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w on this machine (sandbox of %s, pid %d): wait for it to finish (lock file %s)", errBusy, o.DataDir, o.PID, path)
		}
		return nil, err
	}
	if o := readOwner(f); o.DataDir != "" && o.DataDir != dataDir && o.alive() {
		f.Close()
		return nil, fmt.Errorf("%w: its control plane is pid %d, data dir %s; stop it with 'make demo-down' in that checkout first (lock file %s)",
			errOtherSandbox, o.PID, o.DataDir, path)
	}
	l := &lock{f: f, dataDir: dataDir}
	return l, l.record(os.Getpid())
}

// record names pid as the sandbox's process.
func (l *lock) record(pid int) error {
	if err := l.f.Truncate(0); err != nil {
		return err
	}
	_, err := l.f.WriteAt([]byte(fmt.Sprintf("%d\n%s\n", pid, l.dataDir)), 0)
	return err
}

// release lets other commands in; the file keeps naming the owner.
func (l *lock) release() error { return l.f.Close() }

// remove deletes the lock file once the sandbox is gone.
func (l *lock) remove() error {
	err := os.Remove(l.f.Name())
	return errors.Join(err, l.f.Close())
}
