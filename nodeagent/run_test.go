package nodeagent

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pressluft/pressluft/agent/protocol"
)

// gone reports whether pid has ended (a zombie waiting for its reaper counts).
func gone(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	return len(fields) > 0 && fields[0] == "Z"
}

func waitGone(t *testing.T, pid int) {
	t.Helper()
	for range 3000 {
		if gone(pid) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("process %d is still running", pid)
}

func TestRunReportsFailuresRedacted(t *testing.T) {
	t.Parallel()
	a, _ := testAgent()
	a.w.AddSecret("hunter2-hunter2")
	out, err := a.run(t.Context(), command{argv: []string{"sh", "-c", "echo partial; echo 'denied for hunter2-hunter2' >&2; exit 3"}})
	var e *Error
	if !errors.As(err, &e) || e.Code != protocol.ErrCommandFailed {
		t.Fatalf("err = %v, want command_failed", err)
	}
	if strings.Contains(e.Message, "hunter2") || !strings.Contains(e.Message, "denied for "+redacted) || !strings.Contains(e.Message, "exit status 3") {
		t.Errorf("message = %q", e.Message)
	}
	if string(out) != "partial\n" {
		t.Errorf("stdout = %q", out)
	}
	out, err = a.run(t.Context(), command{argv: []string{"cat"}, stdin: strings.NewReader("secret on stdin")})
	if err != nil || string(out) != "secret on stdin" {
		t.Errorf("stdin: %q, %v", out, err)
	}
}

// Cancelling kills the child's whole process group, grandchildren included.
func TestRunKillsTheProcessGroupOnCancel(t *testing.T) {
	t.Parallel()
	a, _ := testAgent()
	pidFile := t.TempDir() + "/pid"
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, err := a.run(ctx, command{argv: []string{"sh", "-c", `sleep 300 & echo $! > "$0"; wait`, pidFile}})
		done <- err
	}()
	var grandchild int
	for grandchild == 0 {
		data, _ := os.ReadFile(pidFile)
		grandchild, _ = strconv.Atoi(strings.TrimSpace(string(data)))
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	err := <-done
	var e *Error
	if !errors.As(err, &e) || e.Code != protocol.ErrCancelled {
		t.Fatalf("err = %v, want cancelled", err)
	}
	waitGone(t, grandchild)
}

// A child of an agent that is SIGKILLed dies with it (parent-death signal).
func TestChildDiesWithTheAgent(t *testing.T) {
	t.Parallel()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "PL_TEST_HELPER_AGENT=1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	child, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		t.Fatalf("helper said %q", line)
	}
	if gone(child) {
		t.Fatal("the child is not running")
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	waitGone(t, child)
}

// TestMain runs the test binary as the agent of TestChildDiesWithTheAgent
// when asked to: it starts a long child the way the agent does, prints its
// pid and waits to be killed.
func TestMain(m *testing.M) {
	if os.Getenv("PL_TEST_HELPER_AGENT") == "1" {
		cmd := prepare(context.Background(), command{argv: []string{"sleep", "300"}})
		if err := cmd.Start(); err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
		fmt.Println(cmd.Process.Pid)
		_ = cmd.Wait()
		os.Exit(0)
	}
	os.Exit(m.Run())
}
