package pressluft

import (
	"net"
	"regexp"
	"strings"
	"unicode/utf8"
)

var (
	slugRE     = regexp.MustCompile(`^[a-z][a-z0-9-]*[a-z0-9]$`)
	hostnameRE = regexp.MustCompile(`^(?i)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$`)
	unixUserRE = regexp.MustCompile(`^[a-z_][a-z0-9_-]{0,31}$`)
	uuidRE     = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	emailRE    = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)
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

// ValidateName checks a human-readable display name.
func ValidateName(field, s string) error {
	if strings.TrimSpace(s) == "" {
		return FieldError(field, "%s is required.", field)
	} else if utf8.RuneCountInString(s) > 100 {
		return FieldError(field, "%s must be at most 100 characters.", field)
	} else if strings.ContainsAny(s, "\x00\r\n") {
		return FieldError(field, "%s must be a single line of text.", field)
	}
	return nil
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

// ValidateEmail checks a plausible e-mail address.
func ValidateEmail(field, s string) error {
	if len(s) > 254 || !emailRE.MatchString(s) || strings.ContainsAny(s, "\"'`\\<>") {
		return FieldError(field, "%s must be an e-mail address.", field)
	}
	return nil
}

// ValidatePassword checks a new password.
func ValidatePassword(field, s string) error {
	if len(s) < 8 {
		return FieldError(field, "%s must be at least 8 characters.", field)
	} else if len(s) > 256 {
		return FieldError(field, "%s must be at most 256 characters.", field)
	}
	return nil
}
