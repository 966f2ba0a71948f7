package nodeagent

import (
	"context"
	"os"
	"path/filepath"
	"strings"

	"github.com/pressluft/pressluft/agent/protocol"
)

// envDelete removes exactly one environment: its cron entry, vhost, pool,
// database and database user, files, logs and Linux user, found by the
// names derived from its name (nothing is globbed across environments).
// Whatever is already gone is skipped, so a re-run finishes the job.
func (a *agent) envDelete(ctx context.Context, env *protocol.Env) error {
	node, err := a.probe(ctx)
	if err != nil {
		return err
	}
	p := pathsFor(env.Name, node.PHPVersion)
	// Refuse early when the name belongs to a user that is not this environment's.
	if _, _, err := lookupEnvUser(p); err != nil {
		return err
	}
	if removed, err := removeFile(p.Cron); err != nil {
		return err
	} else if removed {
		a.event("cron", "removed the cron entry")
	}
	if removed, err := removeFile(p.Vhost); err != nil {
		return err
	} else if removed || exists(filepath.Join(configBackupDir, env.Name+".nginx.reload")) {
		if err := a.reloadNginx(ctx, node); err != nil {
			return err
		}
		a.event("nginx", "removed the vhost")
	}
	// The pool's processes end with the reload, before the user goes.
	if removed, err := removeFile(p.Pool); err != nil {
		return err
	} else if removed || exists(filepath.Join(configBackupDir, env.Name+".fpm.reload")) {
		if err := a.reloadPHPFPM(ctx, node); err != nil {
			return err
		}
		a.event("php_fpm", "removed the pool")
	}
	if err := checkCtx(ctx); err != nil {
		return err
	}
	if err := a.dropDatabase(ctx, env); err != nil {
		return err
	}
	hadRoot := exists(p.Root)
	paths := []string{p.Root, p.CacheDir, p.Socket}
	for _, suffix := range []string{".nginx.conf", ".fpm.conf", ".nginx.reload", ".fpm.reload"} {
		paths = append(paths, filepath.Join(configBackupDir, env.Name+suffix))
	}
	logs, err := os.ReadDir("/var/log/nginx")
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	for _, e := range logs {
		if strings.HasPrefix(e.Name(), env.Name+".access.log") || strings.HasPrefix(e.Name(), env.Name+".error.log") {
			paths = append(paths, filepath.Join("/var/log/nginx", e.Name()))
		}
	}
	for _, path := range paths {
		if err := removeAll(path); err != nil {
			return err
		}
	}
	if hadRoot {
		a.event("files", "removed "+p.Root+", its logs and saved configurations")
	}
	// The lock file stays: removing it while another agent waits on it would split the lock.
	return a.removeUser(ctx, p)
}
