package nodeagent

import (
	"net/netip"
	"net/url"
	"path"
	"regexp"
	"strconv"
	"strings"

	"github.com/pressluft/pressluft/agent/protocol"
)

// Shapes of the release fields. A ref and a repository become argv of git
// (after "--"), a slug a file name and a key to WordPress's upgrader.
var (
	gitRefPattern  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._/+-]{0,254}$`)
	commitPattern  = regexp.MustCompile(`^([0-9a-f]{40}|[0-9a-f]{64})$`)
	scpLikePattern = regexp.MustCompile(`^([A-Za-z0-9][A-Za-z0-9._-]{0,63})@([A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\]):([A-Za-z0-9._~/+-]+)$`)
	repoPathChars  = regexp.MustCompile(`^[A-Za-z0-9._~/+%-]*$`)
	slugPattern    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$`)
	sshUserPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
	archivePattern = regexp.MustCompile(`^[A-Za-z0-9._/-]+$`)
)

// Limits of the release requests.
const (
	defaultMaxBytes = 512 << 20
	maxMaxBytes     = 16 << 30
	maxURLLength    = 2048
	maxDeployKey    = 16 << 10
	maxUpdateItems  = 200
	maxPruneKeep    = 1000
	// tmpArchiveDir is where an uploaded archive lies, under the
	// environment's root.
	tmpArchiveDir = "tmp"
)

func isReleaseOp(op string) bool {
	switch op {
	case protocol.OpReleaseBuild, protocol.OpReleaseUpdate, protocol.OpReleaseSwitch, protocol.OpReleasePrune, protocol.OpEnvUpdates:
		return true
	}
	return false
}

// validateReleaseFields refuses the release fields on operations that do
// not use them.
func validateReleaseFields(req *protocol.Request) error {
	switch {
	case req.Deploy != nil && req.Op != protocol.OpReleaseBuild:
		return badField("deploy", "is only used by %s", protocol.OpReleaseBuild)
	case req.Update != nil && req.Op != protocol.OpReleaseUpdate:
		return badField("update", "is only used by %s", protocol.OpReleaseUpdate)
	case req.Prune != nil && req.Op != protocol.OpReleasePrune:
		return badField("prune", "is only used by %s", protocol.OpReleasePrune)
	}
	return nil
}

// validateReleaseRequest checks the fields of the release operations.
func validateReleaseRequest(req *protocol.Request) error {
	if req.Backup != nil || req.Offsite != nil {
		return badField("backup", "is only used by the backup operations")
	}
	if err := validatePartialEnv("env", req.Env, false); err != nil {
		return err
	}
	needsRelease := req.Op == protocol.OpReleaseBuild || req.Op == protocol.OpReleaseUpdate || req.Op == protocol.OpReleaseSwitch
	if needsRelease && req.Env.ReleaseID == "" {
		return badField("env.release_id", "is required")
	}
	switch req.Op {
	case protocol.OpReleaseBuild:
		if err := validateDeploy(req.Deploy); err != nil {
			return err
		}
		if req.Deploy.Environment == req.Env.Name {
			return badField("deploy.environment", "must differ from env.name")
		}
		return nil
	case protocol.OpReleaseUpdate:
		return validateUpdate(req.Update)
	case protocol.OpReleasePrune:
		if req.Prune == nil {
			return badField("prune", "is required")
		}
		if len(req.Prune.Keep) > maxPruneKeep {
			return badField("prune.keep", "names more than %d releases", maxPruneKeep)
		}
		for i, id := range req.Prune.Keep {
			if !releaseIDPattern.MatchString(id) {
				return badField("prune.keep["+strconv.Itoa(i)+"]", "must match %s", releaseIDPattern)
			}
		}
	}
	return nil
}

func validateDeploy(d *protocol.Deploy) error {
	if d == nil {
		return badField("deploy", "is required")
	}
	if d.MaxBytes < 0 || d.MaxBytes > maxMaxBytes {
		return badField("deploy.max_bytes", "must be between 0 (the default, 512 MiB) and %d", int64(maxMaxBytes))
	}
	if d.Type != "environment" && d.Environment != "" {
		return badField("deploy.environment", "is only used by an environment deploy")
	}
	switch d.Type {
	case "git":
		if d.ArchiveURL != "" || d.ArchivePath != "" {
			return badField("deploy.archive_url", "is not used by a git deploy")
		}
		if err := validateRepository(d.Repository); err != nil {
			return err
		}
		if err := validateGitRef(d.Ref); err != nil {
			return err
		}
		if d.DeployKey != "" {
			return validateDeployKey(d.DeployKey)
		}
		return nil
	case "archive":
		if d.Repository != "" || d.Ref != "" || d.DeployKey != "" {
			return badField("deploy.repository", "is not used by an archive deploy")
		}
		switch {
		case d.ArchiveURL != "" && d.ArchivePath != "":
			return badField("deploy.archive_path", "is exclusive with deploy.archive_url")
		case d.ArchiveURL != "":
			return validateDownloadURL("deploy.archive_url", d.ArchiveURL)
		case d.ArchivePath != "":
			return validateArchivePath(d.ArchivePath)
		}
		return badField("deploy.archive_url", "or deploy.archive_path is required")
	case "environment":
		if d.Repository != "" || d.Ref != "" || d.DeployKey != "" || d.ArchiveURL != "" || d.ArchivePath != "" || d.AllowPrivate {
			return badField("deploy.environment", "is the only source of an environment deploy")
		}
		return validateName("deploy.environment", d.Environment)
	}
	return badField("deploy.type", "must be git, archive or environment")
}

// validateRepository accepts the URL forms git fetches over the network:
// https://, http://, ssh://, git:// and scp-like user@host:path. Local
// paths, file:// and ext:: (which runs a command) are refused, as are
// credentials in a URL (a private repository is reached with the deploy
// key).
func validateRepository(raw string) error {
	const field = "deploy.repository"
	if raw == "" {
		return badField(field, "is required")
	}
	if len(raw) > maxURLLength || strings.IndexFunc(raw, func(r rune) bool { return r <= ' ' || r >= 0x7f }) >= 0 {
		return badField(field, "must be at most %d printable ASCII characters without spaces", maxURLLength)
	}
	if m := scpLikePattern.FindStringSubmatch(raw); m != nil {
		if !validRepoHost(strings.Trim(m[2], "[]")) {
			return badField(field, "has an invalid host")
		}
		if strings.HasPrefix(m[3], "-") || containsDotDot(m[3]) {
			return badField(field, "has an invalid path")
		}
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return badField(field, "is not a URL")
	}
	switch u.Scheme {
	case "https", "http", "git":
		if u.User != nil {
			return badField(field, "must not carry credentials; use an ssh:// URL with the deploy key")
		}
	case "ssh":
		if u.User != nil {
			if _, hasPassword := u.User.Password(); hasPassword {
				return badField(field, "must not carry a password; the deploy key authenticates")
			}
			if !sshUserPattern.MatchString(u.User.Username()) {
				return badField(field, "has an invalid user name")
			}
		}
	default:
		return badField(field, "must be an https://, http://, ssh:// or git:// URL, or user@host:path")
	}
	if !validRepoHost(u.Hostname()) {
		return badField(field, "has an invalid host")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return badField(field, "has an invalid port")
		}
	}
	if u.Fragment != "" || u.RawQuery != "" || u.Opaque != "" {
		return badField(field, "must not have a query or fragment")
	}
	if u.Path == "" || u.Path == "/" || !repoPathChars.MatchString(u.EscapedPath()) || containsDotDot(u.Path) {
		return badField(field, "must name a repository path")
	}
	return nil
}

// validRepoHost accepts a DNS name (any case) or an IP address.
func validRepoHost(host string) bool {
	if _, err := netip.ParseAddr(host); err == nil {
		return true
	}
	return validHostname(strings.ToLower(host))
}

// validateGitRef accepts a branch or tag name (as git check-ref-format
// would, and never starting with "-") or a full commit id.
func validateGitRef(ref string) error {
	const field = "deploy.ref"
	if ref == "" {
		return badField(field, "is required")
	}
	if commitPattern.MatchString(ref) {
		return nil
	}
	if !gitRefPattern.MatchString(ref) || strings.Contains(ref, "..") || strings.Contains(ref, "//") ||
		strings.HasSuffix(ref, "/") || strings.HasSuffix(ref, ".") || strings.HasSuffix(ref, ".lock") ||
		strings.Contains(ref, "/.") || strings.Contains(ref, ".lock/") {
		return badField(field, "must be a branch or tag name, or a full commit id")
	}
	return nil
}

// validateDeployKey accepts an OpenSSH or PEM private key: it is written to
// a file ssh reads, never put into argv.
func validateDeployKey(key string) error {
	const field = "deploy.deploy_key"
	if len(key) > maxDeployKey {
		return badField(field, "is larger than %d bytes", maxDeployKey)
	}
	trimmed := strings.TrimSpace(key)
	if !strings.HasPrefix(trimmed, "-----BEGIN ") || !strings.HasSuffix(trimmed, "PRIVATE KEY-----") {
		return badField(field, "must be a private key in OpenSSH or PEM format")
	}
	if strings.IndexFunc(key, func(r rune) bool { return (r < ' ' && r != '\n' && r != '\r') || r >= 0x7f }) >= 0 {
		return badField(field, "must be printable ASCII")
	}
	return nil
}

// validateDownloadURL accepts an http(s) URL without credentials or
// fragment (a query is kept: signed URLs carry their signature there).
func validateDownloadURL(field, raw string) error {
	if len(raw) > maxURLLength || strings.IndexFunc(raw, func(r rune) bool { return r <= ' ' || r >= 0x7f }) >= 0 {
		return badField(field, "must be at most %d printable ASCII characters without spaces", maxURLLength)
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Opaque != "" {
		return badField(field, "must be an http:// or https:// URL")
	}
	if u.User != nil {
		return badField(field, "must not carry credentials")
	}
	if u.Fragment != "" {
		return badField(field, "must not have a fragment")
	}
	if !validRepoHost(u.Hostname()) {
		return badField(field, "has an invalid host")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return badField(field, "has an invalid port")
		}
	}
	return nil
}

// validateArchivePath accepts a file name under the environment's tmp/:
// an upload the control plane put there (a relative path, no "..").
func validateArchivePath(p string) error {
	const field = "deploy.archive_path"
	if p == "" || len(p) > 255 || path.IsAbs(p) || path.Clean(p) != p || containsDotDot(p) ||
		!strings.HasPrefix(p, tmpArchiveDir+"/") || !archivePattern.MatchString(p) {
		return badField(field, "must be a clean path under %s/ of the environment, such as %s/upload-1.zip", tmpArchiveDir, tmpArchiveDir)
	}
	return nil
}

func validateUpdate(u *protocol.Update) error {
	if u == nil {
		return badField("update", "is required")
	}
	switch u.Scope {
	case "core", "plugins", "themes", "all":
	default:
		return badField("update.scope", "must be core, plugins, themes or all")
	}
	if len(u.Items) > maxUpdateItems {
		return badField("update.items", "names more than %d items", maxUpdateItems)
	}
	for i, item := range u.Items {
		if !slugPattern.MatchString(item) {
			return badField("update.items["+strconv.Itoa(i)+"]", "must be a slug matching %s", slugPattern)
		}
	}
	if len(u.PackageURLs) > maxUpdateItems {
		return badField("update.package_urls", "names more than %d packages", maxUpdateItems)
	}
	for slug, raw := range u.PackageURLs {
		if !slugPattern.MatchString(slug) {
			return badField("update.package_urls", "key %q must be a slug matching %s", truncate(slug, 64), slugPattern)
		}
		if slug == "core" && u.Scope != "core" && u.Scope != "all" {
			return badField("update.package_urls", "core is only updated with scope core or all")
		}
		if err := validateDownloadURL("update.package_urls."+slug, raw); err != nil {
			return err
		}
	}
	return nil
}
