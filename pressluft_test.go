package pressluft_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pressluft/pressluft"
)

func TestValidateSlug(t *testing.T) {
	t.Parallel()
	for s, ok := range map[string]bool{
		"acme": true, "a1": true, "my-shop": true, "a": false, "1acme": false, "-acme": false, "acme-": false,
		"my--shop": false, "Acme": false, "acme_shop": false, "acme;rm": false, "acme shop": false,
		strings.Repeat("a", 20): true, strings.Repeat("a", 21): false, "ä-shop": false,
	} {
		err := pressluft.ValidateSlug("slug", s, pressluft.MaxSiteSlug)
		if (err == nil) != ok {
			t.Errorf("ValidateSlug(%q) = %v, want ok=%v", s, err, ok)
		}
		if err != nil && pressluft.ErrorDetails(err)["field"] != "slug" {
			t.Errorf("ValidateSlug(%q) does not name the field", s)
		}
	}
}

func TestValidateHost(t *testing.T) {
	t.Parallel()
	for s, ok := range map[string]bool{
		"10.0.0.1": true, "::1": true, "web-1.example.com": true, "localhost": true, "": false,
		"bad host": false, "a;b": false, "-x.example.com": false, "$(id)": false, strings.Repeat("a", 64) + ".com": false,
	} {
		if err := pressluft.ValidateHost("host", s); (err == nil) != ok {
			t.Errorf("ValidateHost(%q) = %v, want ok=%v", s, err, ok)
		}
	}
}

func TestNodeValidate(t *testing.T) {
	t.Parallel()
	base := pressluft.Node{Name: "web", Host: "10.0.0.1", SSHPort: 22, SSHUser: "root"}
	for name, mutate := range map[string]func(n *pressluft.Node){
		"no name": func(n *pressluft.Node) { n.Name = " " }, "port 0": func(n *pressluft.Node) { n.SSHPort = 0 },
		"port 65536": func(n *pressluft.Node) { n.SSHPort = 65536 }, "user with space": func(n *pressluft.Node) { n.SSHUser = "a b" },
		"newline in name": func(n *pressluft.Node) { n.Name = "a\nb" },
	} {
		n := base
		mutate(&n)
		if pressluft.ErrorCode(n.Validate()) != pressluft.EValidation {
			t.Errorf("%s: accepted", name)
		}
	}
	if err := base.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestEnvironmentNames(t *testing.T) {
	t.Parallel()
	e := pressluft.Environment{SystemName: pressluft.SystemNameFor(strings.Repeat("s", pressluft.MaxSiteSlug), strings.Repeat("e", pressluft.MaxEnvSlug))}
	if len(e.SystemName) > 32 {
		t.Fatalf("system name %q is longer than a Linux user name may be", e.SystemName)
	}
	e.SystemName = "acme-staging"
	if e.DatabaseName() != "acme_staging" || e.Root() != "/srv/pressluft/acme-staging" {
		t.Fatalf("names: %s %s", e.DatabaseName(), e.Root())
	}
	if got := pressluft.PreviewHost("acme-staging", "10.77.1.2", ""); got != "acme-staging.10-77-1-2.sslip.io" {
		t.Fatalf("preview host %s", got)
	}
	if got := pressluft.PreviewHost("acme-staging", "10.77.1.2", "preview.example.com"); got != "acme-staging.preview.example.com" {
		t.Fatalf("preview host %s", got)
	}
}

func TestRetryDelayGrows(t *testing.T) {
	t.Parallel()
	want := []time.Duration{15 * time.Second, time.Minute, 4 * time.Minute, 16 * time.Minute, 30 * time.Minute, 30 * time.Minute}
	for i, w := range want {
		if got := pressluft.RetryDelay(i + 1); got != w {
			t.Errorf("RetryDelay(%d) = %s, want %s", i+1, got, w)
		}
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	err := fmt.Errorf("wrapped: %w", pressluft.Errorf(pressluft.ENodeUnreachable, "gone"))
	if pressluft.ErrorCode(err) != pressluft.ENodeUnreachable || pressluft.ErrorMessage(err) != "gone" || !pressluft.IsTransient(err) {
		t.Fatal("wrapped error lost its code")
	}
	plain := errors.New("disk on fire at /var/lib/secret")
	if pressluft.ErrorCode(plain) != pressluft.EInternal || strings.Contains(pressluft.ErrorMessage(plain), "secret") {
		t.Fatal("an internal error leaks its text")
	}
	if pressluft.ErrorCode(nil) != "" || pressluft.IsTransient(pressluft.Errorf(pressluft.EValidation, "x")) {
		t.Fatal("nil or permanent errors misclassified")
	}
}

func TestNewPassword(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for i := 0; i < 100; i++ {
		p := pressluft.NewPassword(24)
		if len(p) != 24 || strings.ContainsAny(p, `'"\$ ;`+"`") || seen[p] {
			t.Fatalf("password %q", p)
		}
		seen[p] = true
	}
}
