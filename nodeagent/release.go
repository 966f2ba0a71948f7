package nodeagent

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/pressluft/pressluft/agent/protocol"
)

// release is one new release's names, all derived from the environment
// and the release id, so a run after a kill finds what the one before
// left (and removes it).
type release struct {
	env  *protocol.Env
	node *nodeFacts
	p    envPaths
	user envUser
	id   string
	dir  string // releases/<id>, renamed into place when complete
	// partial is the release while it is built.
	partial string // releases/.<id>.partial
	// staging receives a deploy's wp-content while the core is copied.
	staging string // releases/.<id>.wp-content
	// marker records what the release was built from, written just
	// before the rename that completes it.
	marker string // releases/.<id>.release.json
	// work holds downloads, the git repository and update packages.
	work string // tmp/.pl-release-<id>
}

// releaseMarker is a release's record beside its directory.
type releaseMarker struct {
	ReleaseID string                   `json:"release_id"`
	Source    string                   `json:"source"` // git | archive | update
	Ref       string                   `json:"ref,omitempty"`
	Changed   []protocol.ReleaseChange `json:"changed,omitempty"`
	SizeBytes int64                    `json:"size_bytes"`
	BuiltAt   time.Time                `json:"built_at"`
}

// newRelease checks that env exists with WordPress behind current and
// names the release env.ReleaseID.
func (a *agent) newRelease(ctx context.Context, env *protocol.Env) (*release, error) {
	node, err := a.probe(ctx)
	if err != nil {
		return nil, err
	}
	p, u, err := a.installedEnv(env.Name, node.PHPVersion)
	if err != nil {
		return nil, err
	}
	id := env.ReleaseID
	return &release{
		env: env, node: node, p: p, user: u, id: id,
		dir:     filepath.Join(p.Releases, id),
		partial: filepath.Join(p.Releases, "."+id+".partial"),
		staging: filepath.Join(p.Releases, "."+id+".wp-content"),
		marker:  filepath.Join(p.Releases, "."+id+".release.json"),
		work:    filepath.Join(p.Root, tmpArchiveDir, ".pl-release-"+id),
	}, nil
}

// built answers for a release an earlier run completed: releases are
// immutable, so it is answered as it is.
func (r *release) built() (*protocol.ReleaseResult, bool) {
	fi, err := os.Lstat(r.dir)
	if err != nil || !fi.IsDir() {
		return nil, false
	}
	res := &protocol.ReleaseResult{ReleaseID: r.id, Path: r.dir, Reused: true}
	var m releaseMarker
	if data, err := os.ReadFile(r.marker); err == nil && json.Unmarshal(data, &m) == nil && m.ReleaseID == r.id {
		res.SizeBytes, res.Ref, res.Changed = m.SizeBytes, m.Ref, m.Changed
	} else {
		res.SizeBytes = treeSize(r.dir)
	}
	return res, true
}

// clean removes what an interrupted or failed build left.
func (r *release) clean() error {
	for _, path := range []string{r.partial, r.staging, r.work} {
		if err := removeAll(path); err != nil {
			return err
		}
	}
	return nil
}

// checkSpace refuses a build that would not fit beside the releases: a
// new release takes about what the current one does (a deploy's source
// is not known before it arrives; its limit bounds it).
func (r *release) checkSpace() error {
	return checkSpace([]spaceNeed{{path: r.p.Releases, bytes: treeSize(r.p.Current + "/"), what: "the new release"}}, freeSpace)
}

// makeWork creates the work directory, the environment user's (git and
// the helper write there as that user).
func (r *release) makeWork() error {
	if err := ensureUserDir(filepath.Dir(r.work), r.user); err != nil {
		return err
	}
	if err := os.Mkdir(r.work, 0o700); err != nil {
		return err
	}
	return os.Lchown(r.work, r.user.UID, r.user.GID)
}

// copyCurrent copies the current release into partial (owned by the
// environment's user, symlinks kept, extents shared where the filesystem
// can), without what exclude names.
func (a *agent) copyCurrent(ctx context.Context, r *release, exclude func(rel string) bool) (copyStats, error) {
	start := time.Now()
	stats, err := copyTree(ctx, r.p.Current+"/", r.partial, copyOptions{UID: r.user.UID, GID: r.user.GID, Workers: 4, Exclude: exclude})
	if err != nil {
		if ctx.Err() != nil {
			return stats, errorf(protocol.ErrCancelled, "cancelled while copying the current release")
		}
		return stats, errorf(protocol.ErrCommandFailed, "copying the current release: %v", err)
	}
	a.event("release", fmt.Sprintf("copied the current release: %d files, %s in %.2f s",
		stats.Files, mb(stats.Bytes), time.Since(start).Seconds()))
	return stats, nil
}

// prepareRelease gives partial what every release has: the uploads link
// and its wp-config.php.
func (a *agent) prepareRelease(r *release) error {
	uploads := r.partial + "/wp-content/uploads"
	if fi, err := os.Lstat(uploads); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		if err := removeAll(uploads); err != nil {
			return err
		}
		if err := os.Symlink("../../../shared/uploads", uploads); err != nil {
			return err
		}
		if err := os.Lchown(uploads, r.user.UID, r.user.GID); err != nil {
			return err
		}
	}
	cfg, err := render("release-wp-config.php.tmpl", newConfigData(r.env, r.node))
	if err != nil {
		return err
	}
	return writeFile(r.partial+"/wp-config.php", cfg, 0o644, r.user.UID, r.user.GID)
}

// complete prepares partial, writes the marker and renames partial into
// place.
func (a *agent) complete(r *release, m releaseMarker) (*protocol.ReleaseResult, error) {
	if err := a.prepareRelease(r); err != nil {
		return nil, err
	}
	// An upgrader that stopped half way leaves WordPress's maintenance flag.
	if _, err := removeFile(r.partial + "/.maintenance"); err != nil {
		return nil, err
	}
	m.ReleaseID, m.SizeBytes, m.BuiltAt = r.id, treeSize(r.partial), time.Now().UTC()
	if err := writeFile(r.marker, append(mustJSON(m), '\n'), 0o644, 0, 0); err != nil {
		return nil, err
	}
	if err := os.Rename(r.partial, r.dir); err != nil {
		return nil, err
	}
	return &protocol.ReleaseResult{ReleaseID: r.id, Path: r.dir, SizeBytes: m.SizeBytes, Ref: m.Ref, Changed: m.Changed}, nil
}

// treeSize adds up the sizes of the regular files under dir (links are
// not followed: the uploads link counts nothing).
func treeSize(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}
