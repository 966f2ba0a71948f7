package ansible

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/pressluft/pressluft"
)

// Runner runs ansible-playbook from an extracted playbook directory.
type Runner struct {
	Dir            string // from Extract
	Binary         string // ansible-playbook
	ControlPathDir string // where SSH keeps its reusable connections
	TempDir        string // parent of each run's private work directory
}

// Target is how to reach one node.
type Target struct {
	Host       string
	Port       int
	User       string
	PrivateKey []byte // PEM; written to a 0600 file for the run only
	KnownHosts string // the pinned host key line
}

// Run describes one playbook run.
type Run struct {
	Playbook string // name under playbooks/, without .yml
	Target   Target
	Vars     map[string]any
	// Secrets are values that must never be stored: they are cut out of any
	// output before it reaches the job record.
	Secrets  []string
	Progress pressluft.Progress
}

// Outcome is what a successful run published with set_stats.
type Outcome struct {
	Custom map[string]json.RawMessage
}

// event is one line of the pressluft callback plugin.
type event struct {
	Event   string                     `json:"event"`
	Task    string                     `json:"task"`
	Role    string                     `json:"role"`
	Play    string                     `json:"play"`
	Changed bool                       `json:"changed"`
	Ignored bool                       `json:"ignored"`
	Msg     string                     `json:"msg"`
	Custom  map[string]json.RawMessage `json:"custom"`
}

// Run runs the playbook and waits for it. Cancelling ctx stops the whole
// process group (ansible-playbook, its workers and their ssh clients).
func (r *Runner) Run(ctx context.Context, run Run) (*Outcome, error) {
	work, err := os.MkdirTemp(r.TempDir, "run-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	files, err := writeRunFiles(work, run)
	if err != nil {
		return nil, err
	}
	playbook := filepath.Join(r.Dir, "playbooks", run.Playbook+".yml")
	if _, err := os.Stat(playbook); err != nil {
		return nil, pressluft.Errorf(pressluft.EAnsibleSyntax, "Playbook %q is not shipped with this build.", run.Playbook)
	}
	cmd := exec.Command(r.Binary, "-i", files.inventory, "-e", "@"+files.vars, playbook)
	cmd.Dir = r.Dir
	cmd.Env = append(os.Environ(),
		"ANSIBLE_CONFIG="+filepath.Join(r.Dir, "ansible.cfg"),
		"ANSIBLE_SSH_CONTROL_PATH_DIR="+r.ControlPathDir,
		"ANSIBLE_LOCAL_TEMP="+work,
		"ANSIBLE_NOCOLOR=1",
		"PYTHONUNBUFFERED=1",
	)
	// Own process group, so cancel reaches every fork; killed with us, so a
	// crashed control plane leaves no playbook running beside the retry.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start ansible-playbook: %w", err)
	}
	stopped := make(chan struct{})
	go killGroupOnCancel(ctx, cmd.Process.Pid, stopped)

	red := newRedactor(run.Secrets)
	var wg sync.WaitGroup
	var errText strings.Builder
	wg.Add(1)
	go func() {
		defer wg.Done()
		b, _ := io.ReadAll(io.LimitReader(stderr, 1<<20))
		errText.WriteString(red.clean(string(b)))
	}()
	st := r.follow(stdout, run.Progress, red)
	wg.Wait()
	waitErr := cmd.Wait()
	close(stopped)
	if s := strings.TrimSpace(errText.String()); s != "" && run.Progress != nil {
		run.Progress.Output(s + "\n")
	}

	if ctx.Err() != nil {
		if c := context.Cause(ctx); c != nil && !errors.Is(c, context.Canceled) && !errors.Is(c, context.DeadlineExceeded) {
			return nil, c
		} else if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, pressluft.Errorf(pressluft.EJobTimeout, "Playbook %s ran out of time and was stopped.", run.Playbook)
		}
		return nil, pressluft.Errorf(pressluft.EJobCancelled, "Playbook %s was stopped.", run.Playbook)
	}
	if waitErr == nil {
		return &Outcome{Custom: st.custom}, nil
	}
	code := -1
	var exitErr *exec.ExitError
	if errors.As(waitErr, &exitErr) {
		code = exitErr.ExitCode()
	}
	return nil, classify(code, st, errText.String(), run.Playbook)
}

// runFiles are the run's private files, all 0600 in a 0700 directory.
type runFiles struct{ inventory, vars, key, knownHosts string }

func writeRunFiles(dir string, run Run) (*runFiles, error) {
	f := &runFiles{
		inventory:  filepath.Join(dir, "inventory.json"),
		vars:       filepath.Join(dir, "vars.yml"),
		key:        filepath.Join(dir, "id_ed25519"),
		knownHosts: filepath.Join(dir, "known_hosts"),
	}
	host := map[string]any{
		"ansible_host":                 run.Target.Host,
		"ansible_port":                 run.Target.Port,
		"ansible_user":                 run.Target.User,
		"ansible_ssh_private_key_file": f.key,
		// Only the pinned key is trusted; never StrictHostKeyChecking=no.
		"ansible_ssh_common_args": "-o UserKnownHostsFile=" + f.knownHosts + " -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes",
		"ansible_become":          run.Target.User != "root",
	}
	inv, err := json.Marshal(map[string]any{"all": map[string]any{"hosts": map[string]any{"node": host}}})
	if err != nil {
		return nil, err
	}
	varsYAML, err := unsafeYAML(run.Vars)
	if err != nil {
		return nil, err
	}
	for path, body := range map[string][]byte{f.inventory: inv, f.vars: varsYAML, f.key: run.Target.PrivateKey,
		f.knownHosts: []byte(run.Target.KnownHosts + "\n")} {
		if err := os.WriteFile(path, body, 0o600); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// killGroupOnCancel stops the process group when ctx ends: SIGTERM first,
// SIGKILL if it is still there 10 seconds later.
func killGroupOnCancel(ctx context.Context, pid int, stopped <-chan struct{}) {
	select {
	case <-stopped:
		return
	case <-ctx.Done():
	}
	_ = syscall.Kill(-pid, syscall.SIGTERM)
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-pid, syscall.SIGKILL)
	}
}

// runState is what the callback told about the run.
type runState struct {
	failedTask, failedMsg string
	started, unreachable  bool
	custom                map[string]json.RawMessage
}

// follow reads the callback's JSON lines and reports them as progress.
func (r *Runner) follow(stdout io.Reader, p pressluft.Progress, red *redactor) *runState {
	st := &runState{}
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		line := sc.Text()
		var ev event
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			if p != nil && strings.TrimSpace(line) != "" {
				p.Output(red.clean(line) + "\n")
			}
			continue
		}
		// Task names are templated and may carry a secret too.
		msg, task, role := red.clean(ev.Msg), red.clean(ev.Task), red.clean(ev.Role)
		step := task
		if role != "" && !strings.HasPrefix(step, role+" : ") {
			step = role + " : " + task
		}
		var level, text string
		switch ev.Event {
		case "play_start":
			st.started = true
			continue
		case "task_start":
			level, text = pressluft.LevelInfo, "Running."
		case "ok":
			level, text = pressluft.LevelInfo, "OK."
			if ev.Changed {
				text = "Changed."
			}
		case "skipped":
			level, text = pressluft.LevelInfo, "Skipped."
		case "failed":
			if ev.Ignored {
				level, text = pressluft.LevelWarn, "Failed (ignored): "+msg
			} else {
				level, text = pressluft.LevelError, "Failed: "+msg
				st.failedTask, st.failedMsg = task, msg
			}
		case "unreachable":
			level, text = pressluft.LevelError, "Node unreachable: "+msg
			st.unreachable, st.failedTask, st.failedMsg = true, task, msg
		case "retry":
			level, text = pressluft.LevelWarn, "Retrying."
		case "stats":
			st.custom = ev.Custom
			continue
		default:
			continue
		}
		if p != nil {
			p.Event(step, level, text)
			p.Output(fmt.Sprintf("[%s] %s%s\n", ev.Event, step, suffix(msg)))
		}
	}
	return st
}

func suffix(msg string) string {
	if msg == "" {
		return ""
	}
	return ": " + msg
}

// classify maps ansible-playbook's exit code and what the callback saw to a
// stable error code. Exit code 4 means both "parser error" and "host
// unreachable", so the callback's events decide.
func classify(code int, st *runState, stderr, playbook string) error {
	switch {
	case st.unreachable:
		return pressluft.Errorf(pressluft.ENodeUnreachable, "Node unreachable during %s: %s", playbook, firstLine(st.failedMsg, stderr))
	case (code == 4 || code == 5) && !st.started:
		return pressluft.Errorf(pressluft.EAnsibleSyntax, "Playbook %s could not be parsed: %s", playbook, firstLine(stderr))
	case st.failedTask != "":
		return &pressluft.Error{Code: pressluft.EAnsibleHostFailed, Message: fmt.Sprintf("Task %q failed: %s", st.failedTask, st.failedMsg),
			Details: map[string]any{"task": st.failedTask}}
	default:
		return pressluft.Errorf(pressluft.EAnsibleFailed, "Playbook %s failed with exit code %d: %s", playbook, code, firstLine(st.failedMsg, stderr))
	}
}

func firstLine(texts ...string) string {
	for _, t := range texts {
		for _, l := range strings.Split(t, "\n") {
			if l = strings.TrimSpace(l); l != "" {
				return l
			}
		}
	}
	return "no output"
}

// redactor replaces secret values in text.
type redactor struct{ r *strings.Replacer }

func newRedactor(secrets []string) *redactor {
	var pairs []string
	for _, s := range secrets {
		if len(s) >= 4 {
			pairs = append(pairs, s, "********")
		}
	}
	return &redactor{r: strings.NewReplacer(pairs...)}
}

func (r *redactor) clean(s string) string { return r.r.Replace(s) }
