package agent

import (
	"bufio"
	"strings"
	"testing"

	"github.com/pressluft/pressluft"
)

// The body of an upload is sent only after the agent's "ready"; a refusal
// before it is the answer.
func TestAwaitReady(t *testing.T) {
	for _, tc := range []struct {
		name, out string
		ready     bool
		code      string
	}{
		{"ready after an event", `{"type":"event","step":"upload","message":"removed 1 upload"}` + "\n" + `{"type":"ready"}` + "\n", true, ""},
		{"refused", `{"type":"error","code":"archive_too_large","message":"too large"}` + "\n", false, pressluft.EArchiveTooLarge},
		{"nothing", "", false, ""},
		{"garbage, then the end", "sudo: no tty\n", false, ""},
	} {
		d := newDecoder(discard{}, nil)
		if got := awaitReady(bufio.NewReader(strings.NewReader(tc.out)), d); got != tc.ready {
			t.Errorf("%s: ready %v", tc.name, got)
		}
		if tc.code != "" && (d.failure == nil || d.failure.Code != tc.code) {
			t.Errorf("%s: failure %+v", tc.name, d.failure)
		}
	}
}
