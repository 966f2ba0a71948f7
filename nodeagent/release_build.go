package nodeagent

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/pressluft/pressluft/agent/protocol"
	"golang.org/x/sys/unix"
)

// releaseBuild writes a new release from the current release's core and
// the wp-content/ of a git repository or an archive (without its uploads:
// they stay shared). The core is copied while the source is fetched and
// unpacked; nothing is switched.
func (a *agent) releaseBuild(ctx context.Context, env *protocol.Env, d *protocol.Deploy) (*protocol.ReleaseResult, error) {
	r, err := a.newRelease(ctx, env)
	if err != nil {
		return nil, err
	}
	if res, ok := r.built(); ok {
		a.event("release", "release "+r.id+" was built by an earlier run: left as it is")
		dropUpload(r, d)
		return res, nil
	}
	if err := r.clean(); err != nil {
		return nil, err
	}
	defer func() { _ = r.clean() }()
	max := d.MaxBytes
	if max == 0 {
		max = defaultMaxBytes
	}
	if err := r.checkSpace(); err != nil {
		return nil, err
	}
	if err := r.makeWork(); err != nil {
		return nil, err
	}
	start := time.Now()
	var ref string
	var stats deployStats
	err = parallel(ctx,
		func(ctx context.Context) error {
			_, err := a.copyCurrent(ctx, r, func(rel string) bool { return rel == "wp-config.php" || rel == "wp-content" })
			return err
		},
		func(ctx context.Context) (err error) {
			switch d.Type {
			case "git":
				ref, stats, err = a.stageGit(ctx, r, d, max)
			case "environment":
				stats, err = a.stageEnvironment(ctx, r, d.Environment)
			default:
				stats, err = a.stageArchive(ctx, r, d, max)
			}
			return err
		},
	)
	if err != nil {
		return nil, err
	}
	a.event("release", fmt.Sprintf("unpacked wp-content: %d files, %s", stats.Files, mb(stats.Bytes)))
	if stats.Uploads > 0 {
		a.warn("release", fmt.Sprintf("left out %d entries under wp-content/uploads: uploads stay shared between releases", stats.Uploads))
	}
	if err := os.Rename(r.staging, r.partial+"/wp-content"); err != nil {
		return nil, err
	}
	res, err := a.complete(r, releaseMarker{Source: d.Type, Ref: ref})
	if err != nil {
		return nil, err
	}
	dropUpload(r, d)
	a.event("release", fmt.Sprintf("built release %s (%s) in %.2f s", r.id, mb(res.SizeBytes), time.Since(start).Seconds()))
	return res, nil
}

// dropUpload removes the upload a release was built from: it has served
// its purpose, and a re-run answers from the release.
func dropUpload(r *release, d *protocol.Deploy) {
	if d.ArchivePath != "" {
		_ = os.Remove(r.p.Root + "/" + d.ArchivePath)
	}
}

// stageEnvironment copies the current wp-content of another environment
// on the node into the staging directory, owned by this environment's
// user, without uploads and what WordPress writes at runtime (the entries
// a drift check leaves out). Symlinks are copied as they are.
func (a *agent) stageEnvironment(ctx context.Context, r *release, name string) (deployStats, error) {
	src := pathsFor(name, "")
	if !exists(src.Current + "/wp-load.php") {
		return deployStats{}, errorf(protocol.ErrNotFound, "environment %s has no WordPress on this node", name)
	}
	dir := src.Current + "/wp-content"
	if fi, err := os.Lstat(dir); err != nil || !fi.IsDir() {
		return deployStats{}, errorf(protocol.ErrWPContentMissing, "environment %s has no wp-content directory", name)
	}
	stats, err := copyTree(ctx, dir+"/", r.staging, copyOptions{UID: r.user.UID, GID: r.user.GID, Workers: 4,
		Exclude: func(rel string) bool { return runtimeEntries[rel] }})
	if err != nil {
		if ctx.Err() != nil {
			return deployStats{}, errorf(protocol.ErrCancelled, "cancelled while copying the wp-content of %s", name)
		}
		return deployStats{}, errorf(protocol.ErrCommandFailed, "copying the wp-content of %s: %v", name, err)
	}
	a.event("release", "copied the wp-content of "+name)
	return deployStats{Files: int64(stats.Files), Bytes: stats.Bytes}, nil
}

// stageArchive unpacks the wp-content/ of the archive (downloaded, or
// the upload under tmp/) into the staging directory.
func (a *agent) stageArchive(ctx context.Context, r *release, d *protocol.Deploy, max int64) (deployStats, error) {
	f, err := a.openArchive(ctx, r, d, max)
	if err != nil {
		return deployStats{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return deployStats{}, err
	}
	if !fi.Mode().IsRegular() {
		return deployStats{}, errorf(protocol.ErrNotFound, "%s is not a regular file", d.ArchivePath)
	}
	if fi.Size() > max {
		return deployStats{}, errorf(protocol.ErrArchiveTooLarge, "the archive (%s) is larger than the limit of %s", mb(fi.Size()), mb(max))
	}
	return unpackArchive(ctx, f, r.staging, r.user.UID, r.user.GID, max)
}

// openArchive downloads the archive into the work directory, or opens the
// upload under tmp/.
func (a *agent) openArchive(ctx context.Context, r *release, d *protocol.Deploy, max int64) (*os.File, error) {
	if d.ArchiveURL == "" {
		return openBeneath(r.p.Root, d.ArchivePath)
	}
	file := r.work + "/archive"
	dl := &downloader{allowPrivate: d.AllowPrivate, maxBytes: max, timeout: 30 * time.Minute}
	start := time.Now()
	n, err := dl.fetch(ctx, d.ArchiveURL, file, 0, 0)
	if err != nil {
		return nil, err
	}
	a.event("download", fmt.Sprintf("downloaded %s from %s in %.2f s", mb(n), hostOf(d.ArchiveURL), time.Since(start).Seconds()))
	return os.OpenFile(file, os.O_RDONLY|unix.O_NOFOLLOW, 0)
}

// openBeneath opens rel under root without following any symlink: the
// environment's user owns the tree and may have put links in it.
func openBeneath(root, rel string) (*os.File, error) {
	dirfd, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(dirfd)
	fd, err := unix.Openat2(dirfd, rel, &unix.OpenHow{
		Flags:   unix.O_RDONLY | unix.O_CLOEXEC | unix.O_NOFOLLOW,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
	})
	if err != nil {
		if err == unix.ENOENT {
			return nil, errorf(protocol.ErrNotFound, "the archive %s is not on the node", rel)
		}
		if err == unix.ELOOP || err == unix.EXDEV {
			return nil, errorf(protocol.ErrUnsafeArchive, "the path to %s holds a symlink", rel)
		}
		return nil, fmt.Errorf("open %s: %w", rel, err)
	}
	return os.NewFile(uintptr(fd), root+"/"+rel), nil
}

// stageGit fetches the ref and unpacks the commit's wp-content/ into the
// staging directory, through the same checks as an archive.
func (a *agent) stageGit(ctx context.Context, r *release, d *protocol.Deploy, max int64) (string, deployStats, error) {
	repo, commit, err := a.gitFetch(ctx, r.user, r.p, r.work, d)
	if err != nil {
		return "", deployStats{}, err
	}
	tops, ok, err := a.gitTops(ctx, r.user, r.work, repo, commit)
	if err != nil {
		return "", deployStats{}, err
	}
	if !ok {
		return "", deployStats{}, (&deployFilter{tops: tops}).missing()
	}
	var stats deployStats
	err = a.runStream(ctx, localGit(r.user, r.work, "-C", repo, "archive", "--format=tar", commit, "--", archWPContent),
		func(out io.Reader) (err error) {
			stats, err = unpackEntries(ctx, &tarSource{tr: tar.NewReader(out)}, r.staging, r.user.UID, r.user.GID, max)
			return err
		})
	return commit, stats, err
}

// hostOf is the host of a URL that passed validation: what events name.
func hostOf(raw string) string {
	rest := raw[strings.Index(raw, "://")+3:]
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	return rest
}
