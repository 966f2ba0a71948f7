package pressluft_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/pressluft/pressluft"
)

func TestValidateName_RefusesInvisibleAndControlCharacters(t *testing.T) {
	t.Parallel()
	for _, s := range []string{
		"web\x1b[31m", "bell\a", "nul\x00", "tab\there", "del\x7f", "c1\u0085", "csi\u009b",
		"rtl\u202eevil", "isolate\u2066x\u2069", "mark\u200f", "arabic mark\u061c",
		"line\u2028sep", "para\u2029sep", "cr\rlf\n",
	} {
		if err := pressluft.ValidateName("name", s); pressluft.ErrorCode(err) != pressluft.EValidation {
			t.Errorf("ValidateName(%q) = %v, want validation_failed", s, err)
		}
	}
	for _, s := range []string{"web", "Müller & Söhne", "日本語のサイト", "a-b_c.d (prod)", "emoji 🚀"} {
		if err := pressluft.ValidateName("name", s); err != nil {
			t.Errorf("ValidateName(%q) = %v", s, err)
		}
	}
}

// WordPress's is_email() is the reference: what it refuses, the node refuses
// later, so it is refused up front.
func TestValidateEmail_AsWordPress(t *testing.T) {
	t.Parallel()
	for s, ok := range map[string]bool{
		"ops@example.com": true, "o'brien@example.com": true, "first.last+tag@sub.example.co": true,
		"a;id@x.io": false, "a b@x.io": false, "a@x": false, "a@b.c": false, "ab@c.d": true, "a@.x.io": false,
		"a@x..io": false, "a@x.io.": false, "a@-x.io": false, "a@x-.io": false, "a@x_y.io": false, "@x.io": false,
		"a(b)@x.io": false, "a@b@x.io": false, "a\n@x.io": false, "ä@x.io": false, "a@x.io\n": false,
		"\"q\"@x.io": false, "a<b>@x.io": false, "a$(id)@x.io": false, "a@xn--bcher-kva.example": true,
		strings.Repeat("a", 250) + "@x.io": false,
	} {
		if err := pressluft.ValidateEmail("admin_email", s); (err == nil) != ok {
			t.Errorf("ValidateEmail(%q) = %v, want ok=%v", s, err, ok)
		}
	}
}

// Unicode case folding must not let look-alike letters into host names.
func TestValidateHost_ASCIIOnly(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"ſ", "ſite.example.com", "\u212aey.example.com", "exam\u0131ple.com"} {
		if err := pressluft.ValidateHost("host", s); err == nil {
			t.Errorf("ValidateHost(%q) accepted", s)
		}
	}
	if err := pressluft.ValidateHost("host", "Web-1.Example.COM"); err != nil {
		t.Fatal(err)
	}
}

func TestValidatePassword_Bcrypt72Bytes(t *testing.T) {
	t.Parallel()
	if err := pressluft.ValidatePassword("password", strings.Repeat("p", 72)); err != nil {
		t.Fatalf("72 bytes: %v", err)
	}
	// 25 three-byte characters are 75 bytes though only 25 characters.
	for _, p := range []string{strings.Repeat("p", 73), strings.Repeat("€", 25)} {
		err := pressluft.ValidatePassword("password", p)
		if pressluft.ErrorCode(err) != pressluft.EValidation || !strings.Contains(pressluft.ErrorMessage(err), "72 bytes") {
			t.Errorf("ValidatePassword(%d bytes) = %v, want a message naming the 72-byte limit", len(p), err)
		}
	}
}

func TestAuditEntry_Clip(t *testing.T) {
	t.Parallel()
	e := pressluft.AuditEntry{Actor: strings.Repeat("a", 1<<20), Action: "auth.login", ResourceType: "user",
		ResourceID: strings.Repeat("i", 500<<10), RequestID: strings.Repeat("r", 1000), IP: strings.Repeat("1", 1000)}
	e.Clip()
	if len(e.Actor) > pressluft.MaxAuditField || len(e.ResourceID) > pressluft.MaxAuditField ||
		len(e.RequestID) > pressluft.MaxAuditField || len(e.IP) > pressluft.MaxAuditField {
		t.Fatalf("clipped lengths: actor %d, resource %d, request %d, ip %d", len(e.Actor), len(e.ResourceID), len(e.RequestID), len(e.IP))
	}
	short := pressluft.AuditEntry{Actor: "ops@example.com", ResourceID: "0190d3c4-0000-7000-8000-000000000000"}
	short.Clip()
	if short.Actor != "ops@example.com" || short.ResourceID != "0190d3c4-0000-7000-8000-000000000000" {
		t.Fatalf("short values changed: %+v", short)
	}
	// Multi-byte characters are not cut in half.
	u := pressluft.AuditEntry{Actor: strings.Repeat("é", pressluft.MaxAuditField)}
	u.Clip()
	if !strings.HasSuffix(u.Actor, "…") || !utf8.ValidString(u.Actor) {
		t.Fatalf("clipped actor %q", u.Actor[len(u.Actor)-10:])
	}
}
