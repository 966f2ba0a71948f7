package ansible

import (
	"encoding/json"
	"strings"
	"testing"
)

// FuzzFollow feeds any output of ansible-playbook to the parser of the
// callback's event lines: it never fails, a secret never reaches the job's
// events or output, and a failure it reports is one the output contained.
func FuzzFollow(f *testing.F) {
	for _, s := range []string{
		`{"event":"play_start","play":"node"}`,
		`{"event":"task_start","task":"nginx : install","role":"nginx"}` + "\n" + `{"event":"ok","task":"install","role":"nginx","changed":true}`,
		`{"event":"failed","task":"db","msg":"Access denied for s3cr3t-Pa55w0rd"}`,
		`{"event":"unreachable","task":"Gathering Facts","msg":"ssh: connect to host 10.77.1.2 port 22: Connection refused"}`,
		`{"event":"stats","custom":{"node":{"php_version":"8.2"}}}`,
		`{"event":"failed","ignored":true,"task":"probe","msg":"x"}`,
		"plain warning line with s3cr3t-Pa55w0rd\n\n",
		`{"event":"ok","task":"set password s3cr3t-Pa55w0rd"}`,
		`{"event":"failed","task":"t","msg":"s3cr\u00333t-Pa55w0rd"}`,
		`{"event":"retry","task":"wait"}` + "\n{not json",
	} {
		f.Add(s)
	}
	const secret = "s3cr3t-Pa55w0rd"
	f.Fuzz(func(t *testing.T, stdout string) {
		rec := &recorder{}
		st := (&Runner{}).follow(strings.NewReader(stdout), rec, newRedactor([]string{secret}))
		reported := []string{st.failedTask, st.failedMsg, rec.output.String()}
		for _, e := range rec.events {
			reported = append(reported, e.Step, e.Message)
		}
		for _, s := range reported {
			if strings.Contains(s, secret) {
				t.Fatalf("secret reached the job record: %q", s)
			}
		}
		objects := 0
		for _, line := range strings.Split(stdout, "\n") {
			if line = strings.TrimSpace(line); strings.HasPrefix(line, "{") && json.Valid([]byte(line)) {
				objects++
			}
		}
		if (st.failedTask != "" || st.failedMsg != "" || st.unreachable) && objects == 0 {
			t.Fatalf("a failure without any event line: %+v", st)
		}
	})
}
