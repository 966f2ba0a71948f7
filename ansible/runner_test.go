package ansible

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pressluft/pressluft"
)

// fakePlaybook stands in for ansible-playbook: it prints what the pressluft
// callback prints for the scenario named in the vars file and exits with
// that scenario's code. The real binary runs in the end-to-end suite.
const fakePlaybook = `#!/bin/sh
vars="${4#@}"
mode=$(sed -n 's/.*"mode": !unsafe "\([a-z]*\)".*/\1/p' "$vars")
case "$mode" in
ok)
  echo '{"event":"play_start","play":"Provision"}'
  echo '{"event":"task_start","task":"Install nginx","role":"nginx"}'
  echo '{"event":"ok","task":"Install nginx","host":"node","changed":true,"msg":""}'
  echo 'a line that is not JSON'
  echo '{"event":"stats","hosts":{},"custom":{"pressluft_facts":{"os_name":"Debian","nginx_version":"1.22.1"}}}'
  exit 0;;
fail)
  echo '{"event":"play_start","play":"Provision"}'
  echo '{"event":"task_start","task":"Create database","role":"env"}'
  echo '{"event":"failed","task":"Create database","host":"node","msg":"Access denied for password s3cr3t-pw"}'
  echo "stderr mentions s3cr3t-pw too" >&2
  exit 2;;
unreachable)
  echo '{"event":"play_start","play":"Provision"}'
  echo '{"event":"unreachable","task":"Gathering Facts","host":"node","msg":"ssh: connect to host 10.0.0.1 port 22: Connection refused"}'
  exit 4;;
syntax)
  echo "ERROR! conflicting action statements" >&2
  exit 4;;
hang)
  sleep 300 &
  echo $! > "$(dirname "$vars")/../child.pid"
  wait;;
esac
exit 1
`

type recorder struct {
	mu     sync.Mutex
	events []pressluft.JobEvent
	output strings.Builder
}

func (r *recorder) Event(step, level, message string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, pressluft.JobEvent{Step: step, Level: level, Message: message})
}

func (r *recorder) Output(text string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.output.WriteString(text)
}

func newTestRunner(t *testing.T) *Runner {
	t.Helper()
	base := t.TempDir()
	bin := filepath.Join(base, "ansible-playbook")
	if err := os.WriteFile(bin, []byte(fakePlaybook), 0o755); err != nil {
		t.Fatal(err)
	}
	dir, err := Extract(filepath.Join(base, "extracted"))
	if err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(base, "tmp")
	if err := os.Mkdir(tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	return &Runner{Dir: dir, Binary: bin, ControlPathDir: base, TempDir: tmp}
}

func testRun(mode string, rec *recorder) Run {
	return Run{Playbook: "noop", Target: Target{Host: "10.0.0.1", Port: 22, User: "root", PrivateKey: []byte("KEY"), KnownHosts: "10.0.0.1 ssh-ed25519 AAAA"},
		Vars: map[string]any{"mode": mode}, Secrets: []string{"s3cr3t-pw"}, Progress: rec}
}

func TestRunner_SuccessPublishesFactsAndProgress(t *testing.T) {
	t.Parallel()
	r := newTestRunner(t)
	rec := &recorder{}
	out, err := r.Run(context.Background(), testRun("ok", rec))
	if err != nil {
		t.Fatal(err)
	}
	if string(out.Custom["pressluft_facts"]) != `{"os_name":"Debian","nginx_version":"1.22.1"}` {
		t.Fatalf("custom = %s", out.Custom["pressluft_facts"])
	}
	if len(rec.events) != 2 || rec.events[0].Step != "nginx : Install nginx" || rec.events[1].Message != "Changed." {
		t.Fatalf("events = %+v", rec.events)
	}
	if !strings.Contains(rec.output.String(), "a line that is not JSON") {
		t.Fatalf("output = %q", rec.output.String())
	}
	// The run's private files are gone afterwards.
	if left, _ := os.ReadDir(r.TempDir); len(left) != 0 {
		t.Fatalf("run files left behind: %v", left)
	}
}

func TestRunner_FailuresMapToCodesAndHideSecrets(t *testing.T) {
	t.Parallel()
	r := newTestRunner(t)
	for _, tc := range []struct{ mode, code string }{
		{"fail", pressluft.EAnsibleHostFailed},
		{"unreachable", pressluft.ENodeUnreachable},
		{"syntax", pressluft.EAnsibleSyntax},
		{"other", pressluft.EAnsibleFailed},
	} {
		rec := &recorder{}
		_, err := r.Run(context.Background(), testRun(tc.mode, rec))
		if got := pressluft.ErrorCode(err); got != tc.code {
			t.Errorf("%s: code %s (%v), want %s", tc.mode, got, err, tc.code)
		}
		all := pressluft.ErrorMessage(err) + rec.output.String()
		for _, e := range rec.events {
			all += e.Message
		}
		if strings.Contains(all, "s3cr3t-pw") {
			t.Errorf("%s: a secret reached the job record: %q", tc.mode, all)
		}
		if tc.mode == "fail" && !strings.Contains(pressluft.ErrorMessage(err), `"Create database"`) {
			t.Errorf("failure message does not name the task: %q", pressluft.ErrorMessage(err))
		}
	}
}

func TestRunner_CancelStopsProcessGroup(t *testing.T) {
	t.Parallel()
	r := newTestRunner(t)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { _, err := r.Run(ctx, testRun("hang", &recorder{})); errc <- err }()
	pidFile := filepath.Join(r.TempDir, "child.pid")
	var pid int
	for deadline := time.Now().Add(10 * time.Second); pid == 0 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		b, _ := os.ReadFile(pidFile)
		pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
	}
	if pid == 0 {
		t.Fatal("the fake playbook did not start its child")
	}
	cancel()
	select {
	case err := <-errc:
		if pressluft.ErrorCode(err) != pressluft.EJobCancelled {
			t.Fatalf("code = %s", pressluft.ErrorCode(err))
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	// The grandchild died with the group, not just the direct child.
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if syscall.Kill(pid, 0) != nil {
			return
		}
	}
	t.Fatalf("child process %d survived the cancel", pid)
}
