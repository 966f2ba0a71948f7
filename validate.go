package pressluft

import (
	"net"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

var (
	slugRE = regexp.MustCompile(`^[a-z][a-z0-9-]*[a-z0-9]$`)
	// No (?i): Go's case folding would let "ſ" (long s) and "K" (Kelvin) match s and k.
	hostnameRE = regexp.MustCompile(`^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$`)
	unixUserRE = regexp.MustCompile(`^[a-z_][a-z0-9_-]{0,31}$`)
	uuidRE     = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	// The character classes of WordPress's is_email().
	wpEmailLocalRE = regexp.MustCompile("^[a-zA-Z0-9!#$%&'*+/=?^_`{|}~.-]+$")
	wpEmailSubRE   = regexp.MustCompile(`^[a-zA-Z0-9-]+$`)
)

// ValidateSlug checks a slug of between 2 and max characters: lower-case
// letters, digits and inner dashes, starting with a letter. Slugs become
// parts of Linux user names, database names and DNS labels.
func ValidateSlug(field, s string, max int) error {
	if len(s) < 2 || len(s) > max {
		return FieldError(field, "%s must be 2 to %d characters long.", field, max)
	} else if !slugRE.MatchString(s) || strings.Contains(s, "--") {
		return FieldError(field, "%s may contain only lower-case letters, digits and single dashes, and must start with a letter.", field)
	}
	return nil
}

// ValidateName checks a human-readable display name. Names reach terminals
// (pressluft node list) and logs, so control characters, bidi controls and
// line or paragraph separators are refused.
func ValidateName(field, s string) error {
	if strings.TrimSpace(s) == "" {
		return FieldError(field, "%s is required.", field)
	} else if !utf8.ValidString(s) {
		return FieldError(field, "%s must be UTF-8 text.", field)
	} else if utf8.RuneCountInString(s) > 100 {
		return FieldError(field, "%s must be at most 100 characters.", field)
	} else if strings.IndexFunc(s, invisibleControl) >= 0 {
		return FieldError(field, "%s must be a single line of text without control characters.", field)
	}
	return nil
}

// invisibleControl reports the characters a name may not carry: Unicode Cc
// (C0, DEL, C1), the bidi controls that reorder what a terminal shows, and
// the line and paragraph separators.
func invisibleControl(r rune) bool {
	switch {
	case unicode.Is(unicode.Cc, r):
		return true
	case r == '\u061c', r == '\u200e', r == '\u200f', r >= '\u202a' && r <= '\u202e', r >= '\u2066' && r <= '\u2069':
		return true
	case r == '\u2028', r == '\u2029':
		return true
	}
	return false
}

// ValidateHost checks a hostname or an IP address.
func ValidateHost(field, s string) error {
	if s == "" {
		return FieldError(field, "%s is required.", field)
	} else if net.ParseIP(s) != nil {
		return nil
	} else if len(s) > 253 || !hostnameRE.MatchString(s) {
		return FieldError(field, "%s must be a hostname or an IP address.", field)
	}
	return nil
}

// ValidateID checks that s looks like one of our ids.
func ValidateID(field, s string) error {
	if !uuidRE.MatchString(s) {
		return FieldError(field, "%s must be an id.", field)
	}
	return nil
}

// MaxEmail is the longest e-mail address accepted (RFC 5321's path limit).
const MaxEmail = 254

// ValidateEmail checks an e-mail address by the rules of WordPress's
// is_email(), so that an address accepted here is never refused later by
// WordPress on the node.
func ValidateEmail(field, s string) error {
	if len(s) > MaxEmail || !isEmail(s) {
		return FieldError(field, "%s must be an e-mail address.", field)
	}
	return nil
}

// isEmail is WordPress's is_email() (wp-includes/formatting.php).
func isEmail(s string) bool {
	at := strings.IndexByte(s, '@')
	if len(s) < 6 || at < 1 {
		return false
	}
	local, domain := s[:at], s[at+1:]
	if !wpEmailLocalRE.MatchString(local) || strings.Contains(domain, "..") ||
		strings.Trim(domain, " \t\n\r\x00\x0b.") != domain {
		return false
	}
	subs := strings.Split(domain, ".")
	if len(subs) < 2 {
		return false
	}
	for _, sub := range subs {
		if strings.Trim(sub, " \t\n\r\x00\x0b-") != sub || !wpEmailSubRE.MatchString(sub) {
			return false
		}
	}
	return true
}

// MaxPassword is bcrypt's limit: it reads only the first 72 bytes.
const MaxPassword = 72

// ValidatePassword checks a new password.
func ValidatePassword(field, s string) error {
	if len(s) < 8 {
		return FieldError(field, "%s must be at least 8 characters.", field)
	} else if len(s) > MaxPassword {
		return FieldError(field, "%s must be at most %d bytes (bcrypt reads no further; letters outside ASCII count 2 to 4 bytes each); this one has %d.",
			field, MaxPassword, len(s))
	}
	return nil
}
