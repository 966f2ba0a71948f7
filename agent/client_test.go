package agent

import (
	"strings"
	"testing"

	"github.com/pressluft/pressluft"
	"github.com/pressluft/pressluft/ssh"
)

type recorder struct{ events, output []string }

func (r *recorder) Event(step, level, message string) {
	r.events = append(r.events, step+"|"+level+"|"+message)
}
func (r *recorder) Output(text string) { r.output = append(r.output, text) }

var node = &pressluft.Node{Host: "10.77.1.2", SSHUser: "deploy"}

func TestDecoder_EventsOutputAndResult(t *testing.T) {
	rec := &recorder{}
	d := newDecoder(rec, []string{"s3cret-password-1234", ""})
	for _, line := range []string{
		`{"type":"event","step":"database","level":"info","message":"Creating database acme_production."}` + "\n",
		`{"type":"event","step":"install","level":"bogus","message":"password s3cret-password-1234 leaked"}`,
		"\n",
		`{"type":"output","text":"mysqldump: s3cret-password-1234\n"}`,
		`{"type":"result","result":{"release_id":"r1"}}`,
	} {
		d.line([]byte(line))
	}
	res, err := d.outcome(&ssh.Result{}, node)
	if err != nil || string(res) != `{"release_id":"r1"}` {
		t.Fatalf("outcome = %s, %v", res, err)
	}
	want := []string{"database|info|Creating database acme_production.", "install|info|password ******** leaked"}
	if strings.Join(rec.events, "\n") != strings.Join(want, "\n") {
		t.Errorf("events:\n%s", strings.Join(rec.events, "\n"))
	}
	if len(rec.output) != 1 || strings.Contains(rec.output[0], "s3cret") {
		t.Errorf("output = %q", rec.output)
	}
}

func TestDecoder_Failures(t *testing.T) {
	for _, tc := range []struct {
		name  string
		lines []string
		res   ssh.Result
		code  string
	}{
		{"agent error", []string{`{"type":"error","code":"config_rejected","message":"nginx: [emerg] bad"}`}, ssh.Result{ExitCode: 1}, pressluft.EConfigRejected},
		{"locked", []string{`{"type":"error","code":"env_locked","message":"busy"}`}, ssh.Result{ExitCode: 1}, pressluft.EEnvLocked},
		{"unknown code", []string{`{"type":"error","code":"made_up","message":"?"}`}, ssh.Result{ExitCode: 1}, pressluft.EAgentFailed},
		{"killed", []string{`{"type":"event","step":"copy_files","message":"copying"}`}, ssh.Result{ExitCode: 137}, pressluft.EAgentLost},
		{"garbage", []string{"Segmentation fault"}, ssh.Result{ExitCode: 139, Stderr: []byte("core dumped")}, pressluft.EAgentLost},
		{"sudo", nil, ssh.Result{ExitCode: 1, Stderr: []byte("sudo: a password is required")}, pressluft.EAgentLost},
		{"result but failed exit", []string{`{"type":"result","result":{}}`}, ssh.Result{ExitCode: 2}, pressluft.EAgentLost},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newDecoder(&recorder{}, nil)
			for _, l := range tc.lines {
				d.line([]byte(l))
			}
			_, err := d.outcome(&tc.res, node)
			if pressluft.ErrorCode(err) != tc.code {
				t.Fatalf("code %s (%v), want %s", pressluft.ErrorCode(err), err, tc.code)
			}
			if tc.name == "sudo" && !strings.Contains(pressluft.ErrorMessage(err), "passwordless sudo") {
				t.Errorf("message %q does not say what to do", pressluft.ErrorMessage(err))
			}
		})
	}
	if pressluft.IsTransient(pressluft.Errorf(pressluft.EAgentFailed, "")) || !pressluft.IsTransient(pressluft.Errorf(pressluft.EAgentLost, "")) {
		t.Error("a refused request must not be retried; a lost agent must")
	}
}

func TestGoArch(t *testing.T) {
	for in, want := range map[string]string{"x86_64\n": "amd64", "aarch64": "arm64"} {
		if got, err := goArch(in); err != nil || got != want {
			t.Errorf("goArch(%q) = %s, %v", in, got, err)
		}
	}
	if _, err := goArch("riscv64\n"); pressluft.ErrorCode(err) != pressluft.EUnsupportedArch {
		t.Errorf("riscv64: %v", err)
	}
}

func TestSudo(t *testing.T) {
	if got := sudo(&pressluft.Node{SSHUser: "root"}, "x"); got != "x" {
		t.Errorf("root: %q", got)
	}
	if got := sudo(node, "x"); got != "sudo -n x" {
		t.Errorf("deploy: %q", got)
	}
}
