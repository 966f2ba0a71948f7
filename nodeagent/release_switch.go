package nodeagent

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/pressluft/pressluft/agent/protocol"
)

// switchMarker is written before current moves and removed once PHP-FPM
// reloaded and the cache is purged: a run killed in between finishes both
// on its next run, even though current already points at the release.
const switchMarker = ".pressluft-switch"

// releaseSwitch points current at releases/<id> with one rename, reloads
// PHP-FPM (opcache and PHP's realpath cache let go of the old tree),
// purges the environment's FastCGI cache, runs WordPress's database
// upgrade when the release's core is newer than the database, and answers
// WordPress's own view. The current release again changes nothing.
func (a *agent) releaseSwitch(ctx context.Context, env *protocol.Env) (*protocol.EnvResult, error) {
	node, err := a.probe(ctx)
	if err != nil {
		return nil, err
	}
	p := pathsFor(env.Name, node.PHPVersion)
	u, found, err := lookupEnvUser(p)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, errorf(protocol.ErrNotFound, "environment %s has no user on this node", env.Name)
	}
	id := env.ReleaseID
	dir := filepath.Join(p.Releases, id)
	if fi, err := os.Lstat(dir); err != nil || !fi.IsDir() || !exists(dir+"/wp-load.php") {
		return nil, errorf(protocol.ErrNotFound, "release %s of %s is not on this node (or holds no WordPress)", id, env.Name)
	}
	if err := a.installHelper(); err != nil {
		return nil, err
	}
	target := "releases/" + id
	marker := filepath.Join(p.Root, switchMarker)
	cur, _ := os.Readlink(p.Current)
	if cur == target && !exists(marker) {
		a.event("switch", "release "+id+" is current already")
	} else {
		start := time.Now()
		if err := writeFile(marker, []byte(id+"\n"), 0o600, 0, 0); err != nil {
			return nil, err
		}
		if cur != target {
			if err := pointAt(p, u, target); err != nil {
				return nil, err
			}
		}
		if err := a.reloadPHPFPM(ctx, node); err != nil {
			return nil, err
		}
		purged, err := purgeDir(p.CacheDir)
		if err != nil {
			return nil, err
		}
		if err := os.Remove(marker); err != nil {
			return nil, err
		}
		msg := fmt.Sprintf("current is release %s (was %s); PHP-FPM reloaded", id, filepath.Base(cur))
		if purged > 0 {
			msg += fmt.Sprintf(", %d cache entries purged", purged)
		}
		a.event("switch", fmt.Sprintf("%s in %.2f s", msg, time.Since(start).Seconds()))
	}
	health, err := a.healthAfterSwitch(ctx, u, p)
	if err != nil {
		return nil, err
	}
	if env.URL != "" {
		if err := checkHealthy(health, env.URL); err != nil {
			_, msg := errorCode(err)
			a.warn("health", msg)
		}
	}
	return &protocol.EnvResult{ReleaseID: id, Health: health}, nil
}

// healthAfterSwitch asks WordPress for its view; when the release's core
// expects a newer database than the one it finds, it first runs
// WordPress's own database upgrade (what wp-admin would ask an
// administrator to start).
func (a *agent) healthAfterSwitch(ctx context.Context, u envUser, p envPaths) (protocol.Health, error) {
	var h struct {
		helperHealth
		DBVersion   int `json:"db_version"`
		WPDBVersion int `json:"wp_db_version"`
	}
	if err := a.runHelper(ctx, u, p.Root, "health", nil, nil, &h); err != nil {
		return protocol.Health{}, err
	}
	if !h.Installed || h.DBVersion == 0 || h.WPDBVersion <= h.DBVersion {
		return h.protocol(), nil
	}
	var up struct {
		From int `json:"from"`
		To   int `json:"to"`
	}
	if err := a.runHelper(ctx, u, p.Root, "db-upgrade", nil, nil, &up); err != nil {
		return protocol.Health{}, err
	}
	a.event("database", fmt.Sprintf("ran WordPress's database upgrade (db_version %d → %d)", up.From, up.To))
	return a.health(ctx, u, p)
}

// pointAt moves current to target with one rename of a new symlink.
func pointAt(p envPaths, u envUser, target string) error {
	tmp := p.Current + ".new"
	os.Remove(tmp)
	if err := os.Symlink(target, tmp); err != nil {
		return err
	}
	if err := os.Lchown(tmp, u.UID, u.GID); err != nil {
		return err
	}
	return os.Rename(tmp, p.Current)
}

// purgeDir empties a cache directory that exists (nginx treats a missing
// entry as a miss) and reports how many entries it removed.
func purgeDir(dir string) (int, error) {
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	for _, e := range entries {
		if err := removeAll(filepath.Join(dir, e.Name())); err != nil {
			return 0, err
		}
	}
	return len(entries), nil
}

// releasePrune removes the releases of env that are not kept, with their
// records, and what interrupted builds left (no build runs: this
// operation holds the environment's lock). The current release stays
// whatever keep says.
func (a *agent) releasePrune(ctx context.Context, env *protocol.Env, pr *protocol.Prune) (*protocol.PruneResult, error) {
	p := pathsFor(env.Name, "")
	if _, _, err := lookupEnvUser(p); err != nil {
		return nil, err
	}
	current, _ := readlink(p.Current)
	res, leftovers, err := pruneReleases(ctx, p.Releases, current, pr.Keep)
	if err != nil {
		return nil, err
	}
	if len(res.Removed) > 0 {
		a.event("prune", fmt.Sprintf("removed %d releases: %s", len(res.Removed), strings.Join(res.Removed, ", ")))
	}
	if leftovers > 0 {
		a.event("prune", fmt.Sprintf("removed %d unfinished builds", leftovers))
	}
	return res, nil
}

// pruneReleases removes from dir every release directory that is neither
// current nor in keep, the records of releases that are gone, and the
// partial and staging directories of builds that stopped.
func pruneReleases(ctx context.Context, dir, current string, keep []string) (*protocol.PruneResult, int, error) {
	res := &protocol.PruneResult{Removed: []string{}, Kept: []string{}}
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return res, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	kept := map[string]bool{}
	if current != "" {
		kept[current] = true
	}
	for _, id := range keep {
		kept[id] = true
	}
	leftovers := 0
	for _, e := range entries {
		if err := checkCtx(ctx); err != nil {
			return nil, 0, err
		}
		name := e.Name()
		if !strings.HasPrefix(name, ".") {
			if kept[name] {
				res.Kept = append(res.Kept, name)
				continue
			}
			if err := removeAll(filepath.Join(dir, name)); err != nil {
				return nil, 0, err
			}
			res.Removed = append(res.Removed, name)
			continue
		}
		id := strings.TrimPrefix(name, ".")
		switch {
		case strings.HasSuffix(id, ".partial"), strings.HasSuffix(id, ".wp-content"):
			if err := removeAll(filepath.Join(dir, name)); err != nil {
				return nil, 0, err
			}
			leftovers++
		case strings.HasSuffix(id, ".release.json"):
			if !kept[strings.TrimSuffix(id, ".release.json")] {
				if _, err := removeFile(filepath.Join(dir, name)); err != nil {
					return nil, 0, err
				}
			}
		}
	}
	sort.Strings(res.Removed)
	sort.Strings(res.Kept)
	return res, leftovers, nil
}
