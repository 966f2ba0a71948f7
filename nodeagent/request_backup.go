package nodeagent

import (
	"net"
	"regexp"
	"strconv"
	"strings"

	"github.com/pressluft/pressluft/agent/protocol"
)

// Shapes of the backup fields: ids become directory names, keys object
// names, endpoints the address the node dials.
var (
	backupIDPattern  = releaseIDPattern
	sha256Pattern    = regexp.MustCompile(`^[0-9a-f]{64}$`)
	bucketPattern    = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	regionPattern    = regexp.MustCompile(`^[A-Za-z0-9_-]{0,64}$`)
	accessKeyPattern = regexp.MustCompile(`^[\x21-\x7e]{1,128}$`)
	secretKeyPattern = regexp.MustCompile(`^[\x21-\x7e]{8,256}$`)
	keySegment       = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.=-]{0,127}$`)
	ipv4Pattern      = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$`)
)

// partNames are the parts a backup may hold, in the order they are written.
var partNames = []string{protocol.PartDB, protocol.PartFiles, protocol.PartManifest}

func isBackupOp(op string) bool {
	switch op {
	case protocol.OpBackupCreate, protocol.OpBackupUpload, protocol.OpBackupRestore, protocol.OpBackupDelete, protocol.OpBackupRead:
		return true
	}
	return false
}

// validateBackupRequest checks the fields of the backup operations.
func validateBackupRequest(req *protocol.Request) error {
	if req.Backup == nil {
		return badField("backup", "is required")
	}
	b := req.Backup
	if !backupIDPattern.MatchString(b.ID) {
		return badField("backup.id", "must match %s", backupIDPattern)
	}
	only := func(field string, set bool, ops ...string) error {
		if set && !contains(ops, req.Op) {
			return badField(field, "is not used by %s", req.Op)
		}
		return nil
	}
	for _, check := range []error{
		only("backup.scope", b.Scope != "", protocol.OpBackupCreate),
		only("backup.created_at", !b.CreatedAt.IsZero(), protocol.OpBackupCreate),
		only("backup.env", b.Env != "", protocol.OpBackupRestore),
		only("backup.manifest_sha256", b.ManifestSHA256 != "", protocol.OpBackupRestore),
		only("backup.part", b.Part != "", protocol.OpBackupRead),
		only("backup.offset", b.Offset != 0, protocol.OpBackupRead),
		only("backup.length", b.Length != 0, protocol.OpBackupRead),
		only("offsite", req.Offsite != nil, protocol.OpBackupUpload, protocol.OpBackupRestore, protocol.OpBackupDelete),
	} {
		if check != nil {
			return check
		}
	}
	if req.Offsite != nil {
		if err := validateOffsite(req.Offsite); err != nil {
			return err
		}
	}
	switch req.Op {
	case protocol.OpBackupCreate:
		if err := validatePartialEnv("env", req.Env, true); err != nil {
			return err
		}
		if req.Env.URL == "" {
			return badField("env.url", "is required")
		}
		switch b.Scope {
		case "db", "files", "full":
		default:
			return badField("backup.scope", "must be db, files or full")
		}
		if b.CreatedAt.IsZero() {
			return badField("backup.created_at", "is required")
		}
	case protocol.OpBackupUpload:
		if err := validatePartialEnv("env", req.Env, false); err != nil {
			return err
		}
		if req.Offsite == nil {
			return badField("offsite", "is required")
		}
	case protocol.OpBackupRestore:
		if err := validateRestoreEnv(req.Env); err != nil {
			return err
		}
		if err := validateName("backup.env", b.Env); err != nil {
			return err
		}
		if !sha256Pattern.MatchString(b.ManifestSHA256) {
			return badField("backup.manifest_sha256", "must be 64 lowercase hex digits")
		}
	case protocol.OpBackupDelete:
		return validatePartialEnv("env", req.Env, false)
	case protocol.OpBackupRead:
		if err := validatePartialEnv("env", req.Env, false); err != nil {
			return err
		}
		if !contains(partNames, b.Part) {
			return badField("backup.part", "must be one of %s", strings.Join(partNames, ", "))
		}
		if b.Offset < 0 {
			return badField("backup.offset", "must not be negative")
		}
		if b.Length < -1 {
			return badField("backup.length", "must be -1 (to the end) or a length")
		}
	}
	return nil
}

// validateRestoreEnv checks the target of a restore: what the new release,
// the database swap and the URL rewrite need.
func validateRestoreEnv(env *protocol.Env) error {
	if err := validatePartialEnv("env", env, true); err != nil {
		return err
	}
	switch {
	case env.Type == "":
		return badField("env.type", "is required")
	case env.ReleaseID == "":
		return badField("env.release_id", "is required")
	case env.URL == "":
		return badField("env.url", "is required")
	}
	return nil
}

func validateOffsite(o *protocol.Offsite) error {
	if err := validateEndpoint(o.Endpoint); err != nil {
		return err
	}
	if !validBucket(o.Bucket) {
		return badField("offsite.bucket", "must be an S3 bucket name: 3 to 63 lowercase letters, digits, dots and hyphens")
	}
	if !regionPattern.MatchString(o.Region) {
		return badField("offsite.region", "must match %s", regionPattern)
	}
	if !accessKeyPattern.MatchString(o.AccessKey) {
		return badField("offsite.access_key", "must be 1 to 128 printable ASCII characters without spaces")
	}
	if !secretKeyPattern.MatchString(o.SecretKey) {
		return badField("offsite.secret_key", "must be 8 to 256 printable ASCII characters without spaces")
	}
	if !validKey(o.Key) {
		return badField("offsite.key", "must be segments of letters, digits and _ . = - joined by /, at most 512 characters, without ..")
	}
	return nil
}

// validateEndpoint accepts host[:port]: a lowercase host name or an IPv4
// address, never a scheme, path or user.
func validateEndpoint(endpoint string) error {
	host, port := endpoint, ""
	if i := strings.LastIndexByte(endpoint, ':'); i >= 0 {
		host, port = endpoint[:i], endpoint[i+1:]
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 || port[0] == '0' || port[0] == '+' {
			return badField("offsite.endpoint", "has an invalid port")
		}
	}
	if ipv4Pattern.MatchString(host) {
		if ip := net.ParseIP(host); ip == nil || ip.To4() == nil {
			return badField("offsite.endpoint", "has an invalid IPv4 address")
		}
		return nil
	}
	if !validHostname(host) {
		return badField("offsite.endpoint", "must be host[:port]: a lowercase host name or an IPv4 address, without scheme or path")
	}
	return nil
}

// validBucket follows S3's rules for bucket names.
func validBucket(name string) bool {
	return bucketPattern.MatchString(name) && !strings.Contains(name, "..") && !ipv4Pattern.MatchString(name) &&
		!strings.Contains(name, ".-") && !strings.Contains(name, "-.")
}

// validKey accepts object key prefixes made of safe segments.
func validKey(key string) bool {
	if key == "" || len(key) > 512 || strings.Contains(key, "..") {
		return false
	}
	for _, seg := range strings.Split(key, "/") {
		if !keySegment.MatchString(seg) {
			return false
		}
	}
	return true
}
