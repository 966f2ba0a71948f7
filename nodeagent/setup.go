package nodeagent

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/pressluft/pressluft/agent/protocol"
)

// envState is what the steps of one operation share.
type envState struct {
	env  *protocol.Env
	node *nodeFacts
	p    envPaths
	user envUser
	data configData
}

// codeSource says where a new release's code comes from.
type codeSource struct {
	// Dir is the tree to copy: the node's WordPress, or a source
	// environment's current/.
	Dir string
	// FromEnv copies another environment's code (symlinks kept, its
	// wp-config.php and uploads left out) instead of WordPress (cp -aL).
	FromEnv bool
}

// prepare converges the first half of what an environment needs on the
// node: the Linux user, the directories, the database and the configuration.
func (a *agent) prepare(ctx context.Context, env *protocol.Env) (*envState, error) {
	node, err := a.probe(ctx)
	if err != nil {
		return nil, err
	}
	s := &envState{env: env, node: node, p: pathsFor(env.Name, node.PHPVersion), data: newConfigData(env, node)}
	return s, a.steps(ctx, s,
		func(context.Context, *envState) error { return a.installHelper() },
		a.stepUser,
		a.stepDirectories,
		func(ctx context.Context, s *envState) error { return a.ensureDatabase(ctx, s.env) },
		a.stepConfig,
	)
}

// serve converges the second half: a complete release behind current, then
// the PHP-FPM pool, the nginx vhost and the cron entry that put it in service.
func (a *agent) serve(ctx context.Context, s *envState, code codeSource) error {
	if err := a.stepRelease(ctx, s, code); err != nil {
		return err
	}
	return a.services(ctx, s)
}

// services puts a release in service. Pool, vhost and cron entry are
// independent files of independent services: they are converged at once.
func (a *agent) services(ctx context.Context, s *envState) error {
	step := func(fn func(context.Context, *envState) error) func(context.Context) error {
		return func(ctx context.Context) error { return fn(ctx, s) }
	}
	return parallel(ctx, step(a.stepPHPFPM), step(a.stepNginx), step(a.stepCron))
}

func (a *agent) steps(ctx context.Context, s *envState, steps ...func(context.Context, *envState) error) error {
	for _, step := range steps {
		if err := checkCtx(ctx); err != nil {
			return err
		}
		if err := step(ctx, s); err != nil {
			return err
		}
	}
	return nil
}

func (a *agent) stepUser(ctx context.Context, s *envState) error {
	u, err := a.ensureUser(ctx, s.p)
	s.user = u
	return err
}

// stepDirectories lays out the tree: <root> and shared/ are closed to every
// other user; nginx (www-data) gets only traversal through an ACL entry, so
// it serves public files but can list nothing and read nothing that is not
// world-readable (shared/wp-config.php is 0640).
func (a *agent) stepDirectories(ctx context.Context, s *envState) error {
	u, p := s.user, s.p
	dirs := []struct {
		path string
		mode os.FileMode
		root bool
	}{
		{p.Root, 0o750, false},
		{p.Releases, 0o755, false},
		{p.Shared, 0o750, false},
		{p.Shared + "/uploads", 0o755, false},
		{p.Shared + "/wp-config.d", 0o750, false},
		// PHP's temporary files, sessions and the cron lock; inside open_basedir.
		{p.Root + "/tmp", 0o700, false},
		{p.Root + "/logs", 0o750, false},
		// Written by the control plane as root; the site itself cannot touch its backups.
		{p.Root + "/backups", 0o700, true},
	}
	if err := os.MkdirAll(protocol.Root, 0o755); err != nil {
		return err
	}
	for _, d := range dirs {
		if err := os.Mkdir(d.path, d.mode); err != nil && !os.IsExist(err) {
			return err
		}
		fi, err := os.Lstat(d.path)
		if err != nil {
			return err
		}
		if !fi.IsDir() {
			return errorf(protocol.ErrInternal, "%s exists and is not a directory", d.path)
		}
		uid, gid := u.UID, u.GID
		if d.root {
			uid, gid = 0, 0
		}
		if err := os.Lchown(d.path, uid, gid); err != nil {
			return err
		}
		if err := os.Chmod(d.path, d.mode); err != nil {
			return err
		}
	}
	if _, err := a.run(ctx, command{argv: []string{"setfacl", "-m", "u:www-data:--x", "--", p.Root, p.Shared}}); err != nil {
		return err
	}
	a.event("directories", "laid out "+p.Root)
	return nil
}

// stepConfig writes shared/wp-config.php with the environment's settings and
// secrets; the salts are generated once, so re-running never logs users out.
func (a *agent) stepConfig(ctx context.Context, s *envState) error {
	salts, err := newSalts()
	if err != nil {
		return err
	}
	saltsFile, err := render("wp-salts.php.tmpl", configData{Name: s.env.Name, Salts: salts})
	if err != nil {
		return err
	}
	if _, err := createFileOnce(s.p.Shared+"/wp-salts.php", saltsFile, 0o640, s.user.UID, s.user.GID); err != nil {
		return err
	}
	config, err := render("wp-config.php.tmpl", s.data)
	if err != nil {
		return err
	}
	path := s.p.Shared + "/wp-config.php"
	if sameFile(path, config, 0o640) {
		a.event("config", "wp-config.php is up to date")
		return nil
	}
	// Checked by PHP before it replaces the working one, in a directory only root reads.
	if err := os.MkdirAll(configBackupDir, 0o700); err != nil {
		return err
	}
	tmp := filepath.Join(configBackupDir, "."+s.env.Name+".wp-config.check.php")
	if err := writeFile(tmp, config, 0o600, 0, 0); err != nil {
		return err
	}
	_, err = a.run(ctx, command{argv: []string{"php", "-l", tmp}})
	os.Remove(tmp)
	if err != nil {
		return err
	}
	if err := writeFile(path, config, 0o640, s.user.UID, s.user.GID); err != nil {
		return err
	}
	a.event("config", "wrote wp-config.php")
	return nil
}

// stepRelease builds the release in releases/.<id>.partial and renames it
// into place when complete, so an existing releases/<id> is always whole and
// never copied again; current then moves to it with one rename.
func (a *agent) stepRelease(ctx context.Context, s *envState, code codeSource) error {
	id := s.env.ReleaseID
	dir := filepath.Join(s.p.Releases, id)
	if fi, err := os.Lstat(dir); err == nil && fi.IsDir() {
		a.event("release", "release "+id+" exists")
	} else {
		if err := a.buildRelease(ctx, s, code, dir); err != nil {
			return err
		}
	}
	target := "releases/" + id
	if cur, err := os.Readlink(s.p.Current); err == nil && cur == target {
		return nil
	}
	tmp := s.p.Current + ".new"
	os.Remove(tmp)
	if err := os.Symlink(target, tmp); err != nil {
		return err
	}
	if err := os.Lchown(tmp, s.user.UID, s.user.GID); err != nil {
		return err
	}
	if err := os.Rename(tmp, s.p.Current); err != nil {
		return err
	}
	a.event("release", "current is release "+id)
	return nil
}

func (a *agent) buildRelease(ctx context.Context, s *envState, code codeSource, dir string) error {
	partial := filepath.Join(s.p.Releases, "."+s.env.ReleaseID+".partial")
	// An interrupted run left a partial release: start again.
	if err := removeAll(partial); err != nil {
		return err
	}
	opt := copyOptions{FollowSymlinks: !code.FromEnv, UID: s.user.UID, GID: s.user.GID, Workers: 4}
	if code.FromEnv {
		opt.Exclude = func(rel string) bool { return rel == "wp-config.php" || rel == "wp-content/uploads" }
	}
	start := time.Now()
	stats, err := copyTree(ctx, code.Dir, partial, opt)
	if err != nil {
		if ctx.Err() != nil {
			return errorf(protocol.ErrCancelled, "cancelled while copying the code")
		}
		return errorf(protocol.ErrCommandFailed, "copying %s: %v", code.Dir, err)
	}
	uploads := partial + "/wp-content/uploads"
	if err := removeAll(uploads); err != nil {
		return err
	}
	if err := os.MkdirAll(partial+"/wp-content", 0o755); err != nil {
		return err
	}
	if err := os.Symlink("../../../shared/uploads", uploads); err != nil {
		return err
	}
	if err := os.Lchown(uploads, s.user.UID, s.user.GID); err != nil {
		return err
	}
	cfg, err := render("release-wp-config.php.tmpl", s.data)
	if err != nil {
		return err
	}
	if err := writeFile(partial+"/wp-config.php", cfg, 0o644, s.user.UID, s.user.GID); err != nil {
		return err
	}
	if err := os.Rename(partial, dir); err != nil {
		return err
	}
	a.event("release", fmt.Sprintf("built release %s: %d files, %.1f MB in %.2f s",
		s.env.ReleaseID, stats.Files, float64(stats.Bytes)/1e6, time.Since(start).Seconds()))
	return nil
}

// stepPHPFPM installs the pool (tested alone, then with the whole
// configuration) and reloads PHP-FPM when it changed.
func (a *agent) stepPHPFPM(ctx context.Context, s *envState) error {
	data, err := render("php-fpm-pool.conf.tmpl", s.data)
	if err != nil {
		return err
	}
	fpm := "php-fpm" + s.node.PHPVersion
	c := serviceConfig{
		Path:      s.p.Pool,
		Data:      data,
		Backup:    filepath.Join(configBackupDir, s.env.Name+".fpm.conf"),
		Pending:   filepath.Join(configBackupDir, s.env.Name+".fpm.reload"),
		TestAlone: []string{fpm, "--test", "--fpm-config"},
		TestAll:   []string{fpm, "-t"},
	}
	changed, err := a.installConfig(ctx, c)
	if err != nil {
		return err
	}
	if !changed && exists(s.p.Socket) {
		a.event("php_fpm", "pool "+s.env.Name+" is up to date")
		return nil
	}
	if err := a.reloadPHPFPM(ctx, s.node); err != nil {
		return err
	}
	if err := waitForSocket(ctx, s.p.Socket, 15*time.Second); err != nil {
		return err
	}
	os.Remove(c.Pending)
	a.event("php_fpm", "pool "+s.env.Name+" is live on "+s.p.Socket)
	return nil
}

// stepNginx installs the vhost (tested alone when the node has
// nginx-check-fragment, then with nginx -t) and reloads nginx when it
// changed.
func (a *agent) stepNginx(ctx context.Context, s *envState) error {
	data, err := render("nginx-vhost.conf.tmpl", s.data)
	if err != nil {
		return err
	}
	c := serviceConfig{
		Path:    s.p.Vhost,
		Data:    data,
		Backup:  filepath.Join(configBackupDir, s.env.Name+".nginx.conf"),
		Pending: filepath.Join(configBackupDir, s.env.Name+".nginx.reload"),
		TestAll: []string{"nginx", "-t", "-q"},
	}
	if s.node.FragmentChecker {
		c.TestAlone = []string{fragmentChecker, "http"}
	}
	changed, err := a.installConfig(ctx, c)
	if err != nil {
		return err
	}
	if !changed {
		a.event("nginx", "vhost "+s.env.Name+" is up to date")
		return nil
	}
	if err := a.reloadNginx(ctx, s.node); err != nil {
		return err
	}
	os.Remove(c.Pending)
	a.event("nginx", "vhost "+s.env.Name+" is live")
	return nil
}

// stepCron schedules WordPress cron (WP-Cron itself is off).
func (a *agent) stepCron(ctx context.Context, s *envState) error {
	data, err := render("cron.tmpl", s.data)
	if err != nil {
		return err
	}
	if sameFile(s.p.Cron, data, 0o644) {
		return nil
	}
	if err := writeFile(s.p.Cron, data, 0o644, 0, 0); err != nil {
		return err
	}
	a.event("cron", "scheduled WordPress cron")
	return nil
}
