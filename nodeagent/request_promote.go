package nodeagent

import (
	"path"
	"regexp"
	"strconv"

	"github.com/pressluft/pressluft/agent/protocol"
)

// tablePattern is the shape of a protected table name or pattern: table
// characters and path.Match's wildcards, never a quote or a separator.
var tablePattern = regexp.MustCompile(`^[A-Za-z0-9_$*?\[\]^-]{1,128}$`)

// maxProtect bounds the protected names of a promotion.
const maxProtect = 500

func isPromoteOp(op string) bool {
	return op == protocol.OpEnvState || op == protocol.OpDBPromote
}

// validatePromoteRequest checks env_state and db_promote.
func validatePromoteRequest(req *protocol.Request) error {
	if req.Backup != nil || req.Offsite != nil {
		return badField("backup", "is only used by the backup operations")
	}
	if err := validatePartialEnv("env", req.Env, true); err != nil {
		return err
	}
	if req.Op == protocol.OpEnvState {
		return nil
	}
	if req.Env.URL == "" {
		return badField("env.url", "is required")
	}
	if err := validateSource(req.Source, req.Env); err != nil {
		return err
	}
	return validatePromote(req.Promote)
}

func validatePromote(p *protocol.Promote) error {
	if p == nil {
		return badField("promote", "is required")
	}
	if !releaseIDPattern.MatchString(p.RunID) {
		return badField("promote.run_id", "must match %s", releaseIDPattern)
	}
	if len(p.Protect) > maxProtect {
		return badField("promote.protect", "names more than %d tables", maxProtect)
	}
	for i, pat := range p.Protect {
		field := "promote.protect[" + strconv.Itoa(i) + "]"
		if !tablePattern.MatchString(pat) {
			return badField(field, "must be a table name or pattern matching %s", tablePattern)
		}
		if _, err := path.Match(pat, ""); err != nil {
			return badField(field, "is not a valid pattern: %v", err)
		}
	}
	return nil
}

// tableProtected reports whether table matches one of patterns: the same
// rule as the control plane's pressluft.TableProtected (path.Match, *
// matching any run of characters), which the agent does not import.
func tableProtected(patterns []string, table string) bool {
	for _, p := range patterns {
		if ok, err := path.Match(p, table); err == nil && ok {
			return true
		}
	}
	return false
}
