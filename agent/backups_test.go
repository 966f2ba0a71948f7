package agent

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pressluft/pressluft"
	"github.com/pressluft/pressluft/agent/protocol"
	"github.com/pressluft/pressluft/ssh"
)

func TestBackupErrorCodes(t *testing.T) {
	t.Parallel()
	for agentCode, want := range map[string]string{
		protocol.ErrInsufficientSpace:  pressluft.EInsufficientSpace,
		protocol.ErrChecksumMismatch:   pressluft.EChecksumMismatch,
		protocol.ErrUnsafeArchive:      pressluft.EUnsafeArchive,
		protocol.ErrBackupUnavailable:  pressluft.EBackupUnavailable,
		protocol.ErrOffsiteAuth:        pressluft.EOffsiteAuth,
		protocol.ErrOffsiteUnreachable: pressluft.EOffsiteUnreachable,
		protocol.ErrOffsiteFailed:      pressluft.EOffsiteFailed,
	} {
		d := newDecoder(&recorder{}, []string{"wJalrXUtnFEMI-secret"})
		d.line([]byte(`{"type":"error","code":"` + agentCode + `","message":"refused with wJalrXUtnFEMI-secret"}`))
		_, err := d.outcome(&ssh.Result{ExitCode: 1}, node)
		if pressluft.ErrorCode(err) != want || strings.Contains(pressluft.ErrorMessage(err), "wJalrXUtnFEMI") {
			t.Errorf("%s: %v, want %s without the secret", agentCode, err, want)
		}
	}
}

// The wire manifest and the domain's carry the same fields: a field added
// to one and not the other would be lost between node and store.
func TestManifestShapesAgree(t *testing.T) {
	t.Parallel()
	wire := protocol.Manifest{Format: 1, BackupID: "b1", Scope: "full", Environment: "acme-production", URL: "http://a.test",
		SiteURL: "https://acme.example", TablePrefix: "wp_", CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), WPVersion: "6.8",
		PHPVersion: "8.2.1", MariaDBVersion: "10.11.6-MariaDB", Tables: map[string]int64{"wp_posts": 3}, FileCount: 12,
		Parts: []protocol.ManifestPart{{Name: protocol.PartDB, Size: 10, SHA256: strings.Repeat("a", 64), Unpacked: 30}}}
	a, _ := json.Marshal(wire)
	b, _ := json.Marshal(domainManifest(wire))
	var x, y map[string]any
	json.Unmarshal(a, &x)
	json.Unmarshal(b, &y)
	if !reflect.DeepEqual(x, y) {
		t.Fatalf("wire %s\ndomain %s", a, b)
	}
}

func TestRangeReaderCountsTheRange(t *testing.T) {
	t.Parallel()
	rr := &rangeReader{ctx: context.Background(), r: bufio.NewReader(strings.NewReader("0123456789")), left: 4, host: "n"}
	got, err := io.ReadAll(rr)
	if err != nil || string(got) != "0123" {
		t.Fatalf("range of 4: %q, %v", got, err)
	}
	rr = &rangeReader{ctx: context.Background(), r: bufio.NewReader(strings.NewReader("0123")), left: 10, host: "n"}
	got, err = io.ReadAll(rr)
	if pressluft.ErrorCode(err) != pressluft.EAgentLost || string(got) != "0123" {
		t.Fatalf("short stream: %q, %v", got, err)
	}
}

func TestOffsiteOnTheWire(t *testing.T) {
	t.Parallel()
	o := wireOffsite(&pressluft.OffsiteTarget{Endpoint: "s3.example.com", UseTLS: true, Region: "eu", Bucket: "b", Prefix: "pl",
		AccessKey: "AK", SecretKey: "SK-secret"}, "pl/acme/b1")
	if o.Key != "pl/acme/b1" || o.SecretKey != "SK-secret" || !o.UseTLS {
		t.Errorf("wire offsite %+v", o)
	}
	if wireOffsite(nil, "k") != nil {
		t.Error("no target must send no offsite")
	}
}
