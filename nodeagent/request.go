package nodeagent

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/pressluft/pressluft/agent/protocol"
)

// Shapes of the fields that become file names, Linux users, SQL identifiers
// or config values; the control plane checks the same ones.
var (
	envNamePattern   = regexp.MustCompile(`^[a-z][a-z0-9-]{0,31}$`)
	releaseIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)
	dbIdentPattern   = regexp.MustCompile(`^[a-z][a-z0-9_]{1,63}$`)
	urlPattern       = regexp.MustCompile(`^https?://[a-z0-9.-]+(:[0-9]{1,5})?/?$`)
	hostLabel        = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	passwordPattern  = regexp.MustCompile(`^[\x20-\x7e]{16,256}$`)
	adminUserPattern = regexp.MustCompile(`^[A-Za-z0-9._@-]{1,60}$`)
	emailPattern     = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)
)

// MaxRequestBytes bounds the request line.
const MaxRequestBytes = 1 << 20

// ParseRequest decodes and validates one request line for an agent of
// version. Every failure is an *Error: bad_request naming the field,
// unknown_op or version_mismatch.
func ParseRequest(line []byte, version string) (*protocol.Request, error) {
	if len(line) > MaxRequestBytes {
		return nil, errorf(protocol.ErrBadRequest, "request is larger than %d bytes", MaxRequestBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	var req protocol.Request
	if err := dec.Decode(&req); err != nil {
		return nil, errorf(protocol.ErrBadRequest, "malformed request: %s", describeJSONError(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errorf(protocol.ErrBadRequest, "malformed request: data after the JSON object")
	}
	switch req.Op {
	case protocol.OpVersion, protocol.OpEnvCreate, protocol.OpEnvCopy, protocol.OpEnvDelete, protocol.OpEnvHealth,
		protocol.OpBackupCreate, protocol.OpBackupUpload, protocol.OpBackupRestore, protocol.OpBackupDelete, protocol.OpBackupRead,
		protocol.OpReleaseBuild, protocol.OpReleaseUpdate, protocol.OpReleaseSwitch, protocol.OpReleasePrune, protocol.OpEnvUpdates,
		protocol.OpEnvState, protocol.OpDBPromote:
	case protocol.OpArchiveReceive, protocol.OpArchiveDiscard:
	case "":
		return nil, badField("op", "is required")
	default:
		return nil, errorf(protocol.ErrUnknownOp, "unknown operation %q", truncate(req.Op, 64))
	}
	if req.Version != version {
		return nil, errorf(protocol.ErrVersionMismatch, "the request is for agent version %q; this agent is %q", truncate(req.Version, 64), version)
	}
	if err := validateRequest(&req); err != nil {
		return nil, err
	}
	return &req, nil
}

func validateRequest(req *protocol.Request) error {
	if req.Op != protocol.OpEnvCopy && req.Op != protocol.OpDBPromote && req.Source != nil {
		return badField("source", "is only used by %s and %s", protocol.OpEnvCopy, protocol.OpDBPromote)
	}
	if req.Op != protocol.OpDBPromote && req.Promote != nil {
		return badField("promote", "is only used by %s", protocol.OpDBPromote)
	}
	if req.Op != protocol.OpEnvCreate && req.Install != nil {
		return badField("install", "is only used by %s", protocol.OpEnvCreate)
	}
	if err := validateReleaseFields(req); err != nil {
		return err
	}
	if isUploadOp(req.Op) {
		return validateUploadRequest(req)
	} else if req.Upload != nil {
		return badField("upload", "is only used by %s and %s", protocol.OpArchiveReceive, protocol.OpArchiveDiscard)
	}
	if isReleaseOp(req.Op) {
		return validateReleaseRequest(req)
	}
	if isPromoteOp(req.Op) {
		return validatePromoteRequest(req)
	}
	if isBackupOp(req.Op) {
		return validateBackupRequest(req)
	}
	if req.Backup != nil {
		return badField("backup", "is only used by the backup operations")
	}
	if req.Offsite != nil {
		return badField("offsite", "is only used by the backup operations")
	}
	switch req.Op {
	case protocol.OpVersion:
		if req.Env != nil {
			return badField("env", "is not used by %s", protocol.OpVersion)
		}
		return nil
	case protocol.OpEnvCreate:
		if err := validateFullEnv("env", req.Env); err != nil {
			return err
		}
		if req.Env.Type != "production" {
			return badField("env.type", "%s builds a production environment", protocol.OpEnvCreate)
		}
		return validateInstall(req.Install)
	case protocol.OpEnvCopy:
		if err := validateFullEnv("env", req.Env); err != nil {
			return err
		}
		if req.Env.Type == "production" {
			return badField("env.type", "a copy is a staging or clone environment")
		}
		return validateSource(req.Source, req.Env)
	case protocol.OpEnvDelete:
		return validatePartialEnv("env", req.Env, true)
	case protocol.OpEnvHealth:
		return validatePartialEnv("env", req.Env, false)
	}
	return nil
}

// validateFullEnv checks an environment that is created or rewritten.
func validateFullEnv(field string, env *protocol.Env) error {
	if env == nil {
		return badField(field, "is required")
	}
	if err := validateName(field+".name", env.Name); err != nil {
		return err
	}
	switch env.Type {
	case "production", "staging", "clone":
	default:
		return badField(field+".type", "must be production, staging or clone")
	}
	if !releaseIDPattern.MatchString(env.ReleaseID) {
		return badField(field+".release_id", "must match %s", releaseIDPattern)
	}
	if err := validateURL(field+".url", env.URL); err != nil {
		return err
	}
	if len(env.ServerNames) == 0 {
		return badField(field+".server_names", "is required")
	}
	if len(env.ServerNames) > 100 {
		return badField(field+".server_names", "has more than 100 names")
	}
	for i, name := range env.ServerNames {
		if !validHostname(name) {
			return badField(fmt.Sprintf("%s.server_names[%d]", field, i), "must be a lowercase host name")
		}
	}
	if !contains(env.ServerNames, urlHostname(env.URL)) {
		return badField(field+".server_names", "must include the URL's host %s", urlHostname(env.URL))
	}
	if err := validateDB(field, env); err != nil {
		return err
	}
	if !passwordPattern.MatchString(env.DBPassword) {
		return badField(field+".db_password", "must be 16 to 256 printable ASCII characters")
	}
	return nil
}

// validatePartialEnv checks an environment that is only named: the fields
// that are given must still be well formed.
func validatePartialEnv(field string, env *protocol.Env, needDB bool) error {
	if env == nil {
		return badField(field, "is required")
	}
	if err := validateName(field+".name", env.Name); err != nil {
		return err
	}
	if env.Type != "" && env.Type != "production" && env.Type != "staging" && env.Type != "clone" {
		return badField(field+".type", "must be production, staging or clone")
	}
	if env.ReleaseID != "" && !releaseIDPattern.MatchString(env.ReleaseID) {
		return badField(field+".release_id", "must match %s", releaseIDPattern)
	}
	if env.URL != "" {
		if err := validateURL(field+".url", env.URL); err != nil {
			return err
		}
	}
	for i, name := range env.ServerNames {
		if !validHostname(name) {
			return badField(fmt.Sprintf("%s.server_names[%d]", field, i), "must be a lowercase host name")
		}
	}
	if needDB || env.DBName != "" || env.DBUser != "" {
		if err := validateDB(field, env); err != nil {
			return err
		}
	}
	if env.DBPassword != "" && !passwordPattern.MatchString(env.DBPassword) {
		return badField(field+".db_password", "must be 16 to 256 printable ASCII characters")
	}
	return nil
}

func validateSource(src, env *protocol.Env) error {
	if src == nil {
		return badField("source", "is required")
	}
	if err := validateName("source.name", src.Name); err != nil {
		return err
	}
	if src.Name == env.Name {
		return badField("source.name", "must differ from env.name")
	}
	if !dbIdentPattern.MatchString(src.DBName) {
		return badField("source.db_name", "must match %s", dbIdentPattern)
	}
	if src.DBName == env.DBName {
		return badField("source.db_name", "must differ from env.db_name")
	}
	if src.DBUser != "" && !dbIdentPattern.MatchString(src.DBUser) {
		return badField("source.db_user", "must match %s", dbIdentPattern)
	}
	if err := validateURL("source.url", src.URL); err != nil {
		return err
	}
	if src.Type != "" && src.Type != "production" && src.Type != "staging" && src.Type != "clone" {
		return badField("source.type", "must be production, staging or clone")
	}
	if src.ReleaseID != "" && !releaseIDPattern.MatchString(src.ReleaseID) {
		return badField("source.release_id", "must match %s", releaseIDPattern)
	}
	for i, name := range src.ServerNames {
		if !validHostname(name) {
			return badField(fmt.Sprintf("source.server_names[%d]", i), "must be a lowercase host name")
		}
	}
	if src.DBPassword != "" && !passwordPattern.MatchString(src.DBPassword) {
		return badField("source.db_password", "must be 16 to 256 printable ASCII characters")
	}
	return nil
}

func validateInstall(in *protocol.Install) error {
	if in == nil {
		return badField("install", "is required")
	}
	title := strings.TrimSpace(in.Title)
	switch {
	case title == "":
		return badField("install.title", "is required")
	case !utf8.ValidString(in.Title) || utf8.RuneCountInString(in.Title) > 200:
		return badField("install.title", "must be valid UTF-8 of at most 200 characters")
	case strings.IndexFunc(in.Title, unicode.IsControl) >= 0:
		return badField("install.title", "must not contain control characters")
	}
	if !adminUserPattern.MatchString(in.AdminUser) {
		return badField("install.admin_user", "must be 1 to 60 letters, digits or . _ @ -")
	}
	if len(in.AdminEmail) > 254 || !emailPattern.MatchString(in.AdminEmail) || !utf8.ValidString(in.AdminEmail) {
		return badField("install.admin_email", "must be an e-mail address")
	}
	if n := utf8.RuneCountInString(in.AdminPassword); n < 8 || len(in.AdminPassword) > 256 || !utf8.ValidString(in.AdminPassword) {
		return badField("install.admin_password", "must be 8 to 256 characters")
	}
	if strings.IndexFunc(in.AdminPassword, unicode.IsControl) >= 0 {
		return badField("install.admin_password", "must not contain control characters")
	}
	return nil
}

func validateName(field, name string) error {
	if !envNamePattern.MatchString(name) {
		return badField(field, "must match %s", envNamePattern)
	}
	return nil
}

func validateDB(field string, env *protocol.Env) error {
	if !dbIdentPattern.MatchString(env.DBName) {
		return badField(field+".db_name", "must match %s", dbIdentPattern)
	}
	if !dbIdentPattern.MatchString(env.DBUser) {
		return badField(field+".db_user", "must match %s", dbIdentPattern)
	}
	return nil
}

func validateURL(field, raw string) error {
	if !urlPattern.MatchString(raw) {
		return badField(field, "must be http(s)://host[:port] without a path")
	}
	if !validHostname(urlHostname(raw)) {
		return badField(field, "has an invalid host name")
	}
	u, _ := url.Parse(raw)
	if p := u.Port(); p != "" && (len(p) > 5 || p == "0" || p[0] == '0' || p > "65535" && len(p) == 5) {
		return badField(field, "has an invalid port")
	}
	return nil
}

// validHostname accepts lowercase DNS names: labels of letters, digits and
// inner hyphens, 253 characters at most.
func validHostname(name string) bool {
	if name == "" || len(name) > 253 {
		return false
	}
	for _, label := range strings.Split(name, ".") {
		if !hostLabel.MatchString(label) {
			return false
		}
	}
	return true
}

// cleanURL is the environment's URL without a trailing slash.
func cleanURL(raw string) string { return strings.TrimSuffix(raw, "/") }

// urlHostname is the host of a URL that passed validateURL, without port.
func urlHostname(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Hostname()
}

// urlHost is host[:port] of a URL (what search-replace rewrites after //).
func urlHost(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Host
}

func describeJSONError(err error) string {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) && typeErr.Field != "" {
		return fmt.Sprintf("field %s must be a %s", typeErr.Field, typeErr.Type)
	}
	return truncate(err.Error(), 200)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
