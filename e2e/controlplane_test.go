//go:build e2e

// Package e2e drives the real pressluft binary over HTTP against real
// nodes: disposable Debian servers on this machine (see e2e/testnode).
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// binary is the pressluft binary built by TestMain.
var binary string

func TestMain(m *testing.M) {
	if err := checkPrerequisites(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: prerequisite missing:", err)
		fmt.Fprintln(os.Stderr, "e2e: run 'make e2e' as root (it installs what is missing with scripts/install-e2e-deps.sh)")
		os.Exit(1)
	}
	dir, err := os.MkdirTemp("", "pressluft-e2e-bin-")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "pressluft")
	// The node agents first: the control plane embeds them.
	for _, args := range [][]string{{"make", "agents"}, {"go", "build", "-o", binary, "./cmd/pressluft"}} {
		build := exec.Command(args[0], args[1:]...)
		build.Dir = ".."
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: %s: %v\n", strings.Join(args, " "), err)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// checkPrerequisites fails the suite loudly instead of skipping it.
func checkPrerequisites() error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("the suite must run as root (it creates network namespaces and containers)")
	}
	for _, bin := range []string{"ansible-playbook", "debootstrap", "systemd-nspawn", "ip", "ssh", "go", "git"} {
		if _, err := exec.LookPath(bin); err != nil {
			return fmt.Errorf("%s not found in PATH", bin)
		}
	}
	return nil
}

// controlPlane is one pressluft serve process on a temporary data dir.
type controlPlane struct {
	t       *testing.T
	bin     string // the pressluft binary it runs
	dataDir string
	addr    string
	args    []string
	cmd     *exec.Cmd
	log     *bytes.Buffer
	token   string // the CLI's API token, created at its first API command
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startControlPlane creates an admin with the CLI and serves.
func startControlPlane(t *testing.T, extra ...string) *controlPlane {
	t.Helper()
	cp := &controlPlane{t: t, bin: binary, dataDir: filepath.Join(t.TempDir(), "data"), addr: freeAddr(t), args: extra}
	cp.cli("admin", "create", "--email", "ops@example.com", "--password", "correct horse")
	cp.start()
	t.Cleanup(func() { cp.stop() })
	return cp
}

// cli runs a command of the pressluft binary and fails the test if it fails.
func (cp *controlPlane) cli(args ...string) string {
	cp.t.Helper()
	out, err := cp.tryCLI(args...)
	if err != nil {
		cp.t.Fatalf("pressluft %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// tryCLI runs a command: admin and migrate on the data directory, every
// other one as a client of the API with a token of the administrator.
func (cp *controlPlane) tryCLI(args ...string) (string, error) {
	cp.t.Helper()
	// Flags follow the subcommand words: "admin create --email … --data-dir …".
	if args[0] == "admin" || args[0] == "migrate" {
		args = append(args[:len(args):len(args)], "--data-dir", cp.dataDir)
	} else {
		if cp.token == "" {
			a := cp.login(cp.t)
			cp.token = a.must("POST", "/api/tokens", map[string]string{"name": "e2e-cli"}, 201)["token"].(string)
		}
		args = append(args[:len(args):len(args)], "--server", "http://"+cp.addr, "--token", cp.token)
	}
	out, err := exec.Command(cp.bin, args...).CombinedOutput()
	return string(out), err
}

func (cp *controlPlane) start() {
	cp.t.Helper()
	cp.log = &bytes.Buffer{}
	args := append([]string{"serve", "--data-dir", cp.dataDir, "--listen", cp.addr}, cp.args...)
	cp.cmd = exec.Command(cp.bin, args...)
	cp.cmd.Stdout, cp.cmd.Stderr = cp.log, cp.log
	if err := cp.cmd.Start(); err != nil {
		cp.t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if res, err := http.Get("http://" + cp.addr + "/api/health"); err == nil {
			res.Body.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	cp.t.Fatalf("control plane did not start:\n%s", cp.log)
}

// stop sends SIGTERM and waits (graceful shutdown).
func (cp *controlPlane) stop() {
	if cp.cmd == nil || cp.cmd.Process == nil {
		return
	}
	_ = cp.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = cp.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		_ = cp.cmd.Process.Kill()
		<-done
	}
	cp.cmd = nil
}

// kill stops the process without any chance to clean up.
func (cp *controlPlane) kill() {
	_ = cp.cmd.Process.Kill()
	_ = cp.cmd.Wait()
	cp.cmd = nil
}

// api is an HTTP client of the control plane.
type api struct {
	t    *testing.T
	base string
	hc   *http.Client
}

func (cp *controlPlane) login(t *testing.T) *api {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	a := &api{t: t, base: "http://" + cp.addr, hc: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
	a.must("POST", "/api/login", map[string]string{"email": "ops@example.com", "password": "correct horse"}, 200)
	return a
}

// call sends a JSON request and decodes the JSON answer.
func (a *api) call(method, path string, body any) (int, map[string]any, http.Header) {
	a.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, a.base+path, r)
	if err != nil {
		a.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := a.hc.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var m map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &m); err != nil {
			a.t.Fatalf("%s %s: not JSON: %s", method, path, raw)
		}
	}
	return res.StatusCode, m, res.Header
}

func (a *api) must(method, path string, body any, status int) map[string]any {
	a.t.Helper()
	got, m, _ := a.call(method, path, body)
	if got != status {
		a.t.Fatalf("%s %s: %d %v, want %d", method, path, got, m, status)
	}
	return m
}

// waitJob waits until a job ends and returns it.
func (a *api) waitJob(id string, timeout time.Duration) map[string]any {
	a.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		j := a.must("GET", "/api/jobs/"+id, nil, 200)
		switch j["status"] {
		case "succeeded", "failed", "cancelled":
			return j
		}
		if time.Now().After(deadline) {
			a.t.Fatalf("job %s still %v after %s: %s", id, j["status"], timeout, describeJob(j))
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// waitJobFast is waitJob with a short poll interval, for timing short jobs.
func (a *api) waitJobFast(id string, timeout time.Duration) map[string]any {
	a.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		j := a.must("GET", "/api/jobs/"+id, nil, 200)
		if s := j["status"]; s == "succeeded" || s == "failed" || s == "cancelled" {
			return j
		}
		time.Sleep(20 * time.Millisecond)
	}
	return a.waitJob(id, time.Second)
}

// waitFor polls cond until it holds.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// describeJob renders a job's events for failure messages.
func describeJob(j map[string]any) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%v %v: %v %v\n", j["type"], j["status"], j["error_code"], j["error_message"])
	events, _ := j["events"].([]any)
	for _, e := range events {
		ev := e.(map[string]any)
		at, _ := ev["time"].(string)
		if len(at) >= 23 {
			at = at[11:23]
		}
		fmt.Fprintf(&b, "  %s [%v] %v: %v\n", at, ev["level"], ev["step"], ev["message"])
	}
	if tail, _ := j["output_tail"].(string); tail != "" {
		lines := strings.Split(strings.TrimSpace(tail), "\n")
		fmt.Fprintf(&b, "  output (last lines):\n    %s\n", strings.Join(lines[max(0, len(lines)-15):], "\n    "))
	}
	return b.String()
}

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
