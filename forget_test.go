package pressluft_test

import (
	"strings"
	"testing"

	"github.com/pressluft/pressluft"
)

func TestLeftovers(t *testing.T) {
	t.Parallel()
	e := &pressluft.Environment{ID: "e1", SiteID: "s1", SystemName: "acme-staging"}
	for php, pool := range map[string]string{
		"8.2.29": "/etc/php/8.2/fpm/pool.d/acme-staging.conf",
		"8.3":    "/etc/php/8.3/fpm/pool.d/acme-staging.conf",
		"":       "/etc/php/*/fpm/pool.d/acme-staging.conf",
	} {
		l := e.Leftovers(&pressluft.Node{ID: "n1", Host: "10.0.0.5", PHPVersion: php})
		if l.PHPFPMPool != pool {
			t.Errorf("PHP %q: pool %q, want %q", php, l.PHPFPMPool, pool)
		}
		if l.LinuxUser != "acme-staging" || l.Database != "acme_staging" || l.DatabaseUser != "acme_staging" ||
			l.Directory != "/srv/pressluft/acme-staging/" || l.Backups != "/srv/pressluft/acme-staging/backups/" ||
			l.NginxVhost != "/etc/nginx/sites-enabled/acme-staging.conf" || l.Cron != "/etc/cron.d/pressluft-acme-staging" {
			t.Errorf("leftovers = %+v", l)
		}
	}
}

func TestNodeGone(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		status, lastAttempt string
		gone                bool
	}{
		{pressluft.NodeUnreachable, "", true},
		{pressluft.NodeDecommissioned, "", true},
		{pressluft.NodeFailed, pressluft.ENodeUnreachable, true},
		{pressluft.NodeFailed, pressluft.EAnsibleHostFailed, false},
		{pressluft.NodeFailed, "", false},
		{pressluft.NodeActive, pressluft.ENodeUnreachable, false},
		{pressluft.NodePending, "", false},
		{pressluft.NodeProvisioning, "", false},
	} {
		if got := pressluft.NodeGone(&pressluft.Node{Status: tc.status}, tc.lastAttempt); got != tc.gone {
			t.Errorf("NodeGone(%s, %q) = %v", tc.status, tc.lastAttempt, got)
		}
	}
}

// A forget of a node with many environments records its may_remain in the
// audit log only up to MaxAuditDetails bytes.
func TestAuditEntryClip_Details(t *testing.T) {
	t.Parallel()
	small := &pressluft.AuditEntry{Details: map[string]any{"may_remain": []string{"a"}}}
	small.Clip()
	if small.Details["may_remain"] == nil {
		t.Fatalf("small details clipped: %v", small.Details)
	}
	big := &pressluft.AuditEntry{Details: map[string]any{"may_remain": strings.Repeat("x", pressluft.MaxAuditDetails)}}
	big.Clip()
	if big.Details["truncated"] != true || big.Details["may_remain"] != nil {
		t.Fatalf("large details kept: %d keys", len(big.Details))
	}
}
