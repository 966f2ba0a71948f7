package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// state is what a run leaves for the next one in the data directory.
type state struct {
	Listen string `json:"listen"`
	PID    int    `json:"pid"`     // the control plane, running in the background
	NodeIP string `json:"node_ip"` // set once this sandbox made the node
}

func (s *sandbox) statePath() string { return filepath.Join(s.dataDir, "sandbox.json") }

func (s *sandbox) loadState() error {
	b, err := os.ReadFile(s.statePath())
	if errors.Is(err, os.ErrNotExist) {
		s.state = state{}
		return nil
	}
	if err != nil {
		return err
	}
	return json.Unmarshal(b, &s.state)
}

func (s *sandbox) saveState() error {
	b, err := json.MarshalIndent(s.state, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(s.statePath(), append(b, '\n'), 0o600)
}

func (s *sandbox) baseURL() string { return "http://" + s.state.Listen }

// cpRunning reports whether the recorded control plane is alive and serves
// this data directory (a PID alone may have been reused).
func (s *sandbox) cpRunning() bool {
	if s.state.PID <= 0 {
		return false
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", s.state.PID))
	return err == nil && strings.Contains(string(cmdline), "serve\x00--data-dir\x00"+s.dataDir+"\x00")
}

// cpOutdated reports whether the running control plane's binary was rebuilt since it started.
func (s *sandbox) cpOutdated() bool {
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", s.state.PID))
	return err == nil && strings.HasSuffix(exe, " (deleted)")
}

// ensureAdmin creates the development administrator once; its password
// is kept in the data directory, as make run does.
func (s *sandbox) ensureAdmin(ctx context.Context) (string, error) {
	path := filepath.Join(s.dataDir, "dev-admin-password")
	if b, err := os.ReadFile(path); err == nil && len(b) > 0 {
		return strings.TrimSpace(string(b)), nil
	}
	password := randomPassword()
	out, err := exec.CommandContext(ctx, filepath.Join(s.binDir, "pressluft"), "admin", "create",
		"--data-dir", s.dataDir, "--email", adminEmail, "--password", password).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("create the administrator: %v: %s", err, out)
	}
	return password, os.WriteFile(path, []byte(password+"\n"), 0o600)
}

func randomPassword() string {
	b := make([]byte, 15)
	_, _ = rand.Read(b)
	return strings.NewReplacer("/", "x", "+", "y").Replace(base64.StdEncoding.EncodeToString(b))
}

// freeListen picks the requested address, else 127.0.0.1:8080 or the next free port.
func (s *sandbox) freeListen() (string, error) {
	if s.listen != "" {
		return s.listen, nil
	}
	for port := 8080; port < 8100; port++ {
		addr := "127.0.0.1:" + strconv.Itoa(port)
		if ln, err := net.Listen("tcp", addr); err == nil {
			ln.Close()
			return addr, nil
		}
	}
	return "", errors.New("no free port in 127.0.0.1:8080-8099; pass --listen")
}

// startControlPlane runs "pressluft serve" in its own session, so it keeps
// running after make demo returns; its log goes to the data directory.
func (s *sandbox) startControlPlane(ctx context.Context) error {
	addr, err := s.freeListen()
	if err != nil {
		return err
	}
	logPath := filepath.Join(s.dataDir, "pressluft.log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(filepath.Join(s.binDir, "pressluft"), "serve", "--data-dir", s.dataDir, "--listen", addr)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	s.state.PID, s.state.Listen = cmd.Process.Pid, addr
	if err := s.saveState(); err != nil {
		return err
	}
	deadline := time.After(30 * time.Second)
	for !s.healthy(ctx) {
		select {
		case err := <-exited:
			return fmt.Errorf("the control plane exited (%v); see %s", err, logPath)
		case <-deadline:
			return fmt.Errorf("the control plane did not answer on %s within 30s; see %s", addr, logPath)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return nil
}

// healthy reports whether the control plane answers GET /api/health.
func (s *sandbox) healthy(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", s.baseURL()+"/api/health", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	res.Body.Close()
	return res.StatusCode == 200
}

// stopControlPlane sends SIGTERM (running jobs are handed back to the queue)
// and waits for the process to end.
func (s *sandbox) stopControlPlane() (bool, error) {
	if !s.cpRunning() {
		return false, nil
	}
	pid := s.state.PID
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		return false, err
	}
	deadline := time.Now().Add(60 * time.Second)
	for s.cpRunning() {
		if time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			deadline = time.Now().Add(10 * time.Second)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return true, nil
}
