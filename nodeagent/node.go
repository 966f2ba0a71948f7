package nodeagent

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/pressluft/pressluft/agent/protocol"
)

var phpVersionPattern = regexp.MustCompile(`^[0-9]+\.[0-9]+$`)

// nodeFacts is what the environment operations need to know about the node.
type nodeFacts struct {
	PHPVersion      string
	AcmeSnippet     bool
	FragmentChecker bool
	IPv6            bool
	Offline         bool
	Systemd         bool
}

// probe asks PHP for its version and looks for nginx's helpers, IPv6, the
// offline mark and systemd.
func (a *agent) probe(ctx context.Context) (*nodeFacts, error) {
	if a.node != nil {
		return a.node, nil
	}
	out, err := a.run(ctx, command{argv: []string{"php", "-r", "echo PHP_MAJOR_VERSION . '.' . PHP_MINOR_VERSION;"}})
	if err != nil {
		return nil, err
	}
	version := strings.TrimSpace(string(out))
	if !phpVersionPattern.MatchString(version) {
		return nil, errorf(protocol.ErrCommandFailed, "php reported an unexpected version %q", truncate(version, 40))
	}
	a.node = &nodeFacts{
		PHPVersion:      version,
		AcmeSnippet:     exists(acmeSnippet),
		FragmentChecker: executable(fragmentChecker),
		IPv6:            exists("/proc/net/if_inet6"),
		Offline:         exists(offlineMark),
		Systemd:         exists("/run/systemd/system"),
	}
	return a.node, nil
}

// envPaths are every name and path of one environment on the node.
type envPaths struct {
	Name       string
	Root       string
	Releases   string
	Shared     string
	Current    string
	Vhost      string
	Pool       string
	Socket     string
	Cron       string
	CacheDir   string
	CopyMarker string
}

func pathsFor(name, phpVersion string) envPaths {
	root := filepath.Join(protocol.Root, name)
	return envPaths{
		Name:       name,
		Root:       root,
		Releases:   root + "/releases",
		Shared:     root + "/shared",
		Current:    root + "/current",
		Vhost:      "/etc/nginx/sites-enabled/" + name + ".conf",
		Pool:       "/etc/php/" + phpVersion + "/fpm/pool.d/" + name + ".conf",
		Socket:     "/run/php/pl-" + name + ".sock",
		Cron:       "/etc/cron.d/pressluft-" + name,
		CacheDir:   fastcgiCacheDir + "/" + name,
		CopyMarker: root + "/.pressluft-copy.json",
	}
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

func executable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}
