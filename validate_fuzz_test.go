package pressluft_test

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/pressluft/pressluft"
)

// FuzzValidate feeds one string to every validator and checks that what is
// accepted has the shape the rest of the product relies on, and that every
// refusal is a validation error naming its field.
func FuzzValidate(f *testing.F) {
	for _, s := range []string{"web-1", "ops@example.com", "a;id@x.io", "10.77.1.2", "::1", "Web.Example.COM",
		"rtl\u202eevil", "bell\a", "line\u2028sep", "0190d3c4-0000-7000-8000-000000000000", "my--shop", "日本語", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		check := func(name string, err error, field string) bool {
			t.Helper()
			if err == nil {
				return true
			}
			if pressluft.ErrorCode(err) != pressluft.EValidation || pressluft.ErrorDetails(err)["field"] != field {
				t.Fatalf("%s(%q) = %v, want validation_failed naming %s", name, s, err, field)
			}
			return false
		}
		if check("ValidateName", pressluft.ValidateName("name", s), "name") {
			if !utf8.ValidString(s) || utf8.RuneCountInString(s) > 100 || strings.TrimSpace(s) == "" {
				t.Fatalf("name %q accepted", s)
			}
			for _, r := range s {
				if unicode.Is(unicode.Cc, r) || unicode.Is(unicode.Bidi_Control, r) || r == '\u2028' || r == '\u2029' {
					t.Fatalf("name %q with %U accepted", s, r)
				}
			}
		}
		if check("ValidateEmail", pressluft.ValidateEmail("email", s), "email") {
			local, domain, _ := strings.Cut(s, "@")
			if len(s) > pressluft.MaxEmail || local == "" || strings.Count(s, "@") != 1 || !strings.Contains(domain, ".") ||
				strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r > '~' || strings.ContainsRune(`"(),:;<>[\]`, r) }) {
				t.Fatalf("e-mail %q accepted", s)
			}
		}
		if check("ValidateHost", pressluft.ValidateHost("host", s), "host") {
			if s == "" || strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r > '~' || strings.ContainsRune(`/\;'"$`+"`", r) }) {
				t.Fatalf("host %q accepted", s)
			}
		}
		if check("ValidateSlug", pressluft.ValidateSlug("slug", s, pressluft.MaxSiteSlug), "slug") {
			if len(s) > pressluft.MaxSiteSlug || strings.Trim(s, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" {
				t.Fatalf("slug %q accepted", s)
			}
		}
		if check("ValidateID", pressluft.ValidateID("id", s), "id") && len(s) != 36 {
			t.Fatalf("id %q accepted", s)
		}
		check("ValidatePassword", pressluft.ValidatePassword("password", s), "password")

		// The domain types validate whatever a client sends.
		_ = (&pressluft.Node{Name: s, Host: s, SSHPort: len(s), SSHUser: s}).Validate()
		_ = (&pressluft.Site{Name: s, Slug: s, NodeID: s}).Validate()
		_ = (&pressluft.Environment{Name: s, Slug: s, Type: s, PromotionPreset: s}).Validate()

		e := pressluft.AuditEntry{Actor: s, ResourceID: s + s, IP: s}
		e.Clip()
		if len(e.Actor) > pressluft.MaxAuditField || len(e.ResourceID) > pressluft.MaxAuditField {
			t.Fatalf("audit entry not clipped: %d, %d bytes", len(e.Actor), len(e.ResourceID))
		}
		if utf8.ValidString(s) && (!utf8.ValidString(e.Actor) || !utf8.ValidString(e.ResourceID)) {
			t.Fatalf("clipping cut a character: %q", e.Actor)
		}
	})
}
