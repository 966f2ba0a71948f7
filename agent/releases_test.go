package agent

import (
	"reflect"
	"strings"
	"testing"

	"github.com/pressluft/pressluft"
	"github.com/pressluft/pressluft/agent/protocol"
	"github.com/pressluft/pressluft/ssh"
)

func TestReleaseErrorCodes(t *testing.T) {
	t.Parallel()
	key := "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk\n-----END OPENSSH PRIVATE KEY-----"
	for agentCode, want := range map[string]string{
		protocol.ErrGitRefNotFound:    pressluft.EGitRefNotFound,
		protocol.ErrGitUnreachable:    pressluft.EGitUnreachable,
		protocol.ErrGitAuthFailed:     pressluft.EGitAuthFailed,
		protocol.ErrArchiveTooLarge:   pressluft.EArchiveTooLarge,
		protocol.ErrWPContentMissing:  pressluft.EWPContentMissing,
		protocol.ErrAddressNotAllowed: pressluft.EAddressNotAllowed,
		protocol.ErrDownloadFailed:    pressluft.EDownloadFailed,
		protocol.ErrUpdateUnavailable: pressluft.EUpdateUnavailable,
		protocol.ErrUpdateFailed:      pressluft.EUpdateFailed,
		protocol.ErrUnsafeArchive:     pressluft.EUnsafeArchive,
	} {
		d := newDecoder(&recorder{}, []string{key})
		d.line([]byte(`{"type":"error","code":"` + agentCode + `","message":"refused: ` + strings.ReplaceAll(key, "\n", `\n`) + `"}`))
		_, err := d.outcome(&ssh.Result{ExitCode: 1}, node)
		if pressluft.ErrorCode(err) != want || strings.Contains(pressluft.ErrorMessage(err), "b3BlbnNzaC1rZXk") {
			t.Errorf("%s: %v, want %s without the key", agentCode, err, want)
		}
	}
}

func TestChangeLine(t *testing.T) {
	t.Parallel()
	for ch, want := range map[protocol.ReleaseChange]string{
		{Type: "plugin", Slug: "hello-dolly", From: "1.6", To: "1.7.2"}: "plugin hello-dolly 1.6 → 1.7.2",
		{Type: "core", Slug: "core", From: "6.1.9", To: "6.2"}:          "core core 6.1.9 → 6.2",
		{Type: "theme", Slug: "fresh", To: "1.0"}:                       "theme fresh (new) → 1.0",
	} {
		if got := changeLine(ch); got != want {
			t.Errorf("changeLine(%+v) = %q, want %q", ch, got, want)
		}
	}
}

// The wire item and the domain's carry the same fields.
func TestInstalledShapesAgree(t *testing.T) {
	t.Parallel()
	names := func(v any) []string {
		var out []string
		ty := reflect.TypeOf(v)
		for i := range ty.NumField() {
			out = append(out, ty.Field(i).Name)
		}
		return out
	}
	if a, b := names(protocol.InstalledItem{}), names(pressluft.Installed{}); !reflect.DeepEqual(a, b) {
		t.Fatalf("protocol.InstalledItem %v, pressluft.Installed %v", a, b)
	}
}
