package nodeagent

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/pressluft/pressluft/agent/protocol"
)

// Time limits of the update operations.
const (
	updateTimeout      = 20 * time.Minute
	updatesListTimeout = 60 * time.Second
	packageTimeout     = 10 * time.Minute
)

// releaseUpdate writes a new release as a copy of the current one, updated
// through WordPress's own upgrader classes: the helper's update command
// runs with ABSPATH = the new release, against the environment's
// database. Package URLs are downloaded here (with the address check)
// while the release is copied; without one, the helper asks
// wordpress.org. Nothing is switched.
func (a *agent) releaseUpdate(ctx context.Context, env *protocol.Env, up *protocol.Update) (*protocol.ReleaseResult, error) {
	r, err := a.newRelease(ctx, env)
	if err != nil {
		return nil, err
	}
	if res, ok := r.built(); ok {
		a.event("release", "release "+r.id+" was built by an earlier run: left as it is")
		return res, nil
	}
	if err := r.clean(); err != nil {
		return nil, err
	}
	defer func() { _ = r.clean() }()
	if err := r.checkSpace(); err != nil {
		return nil, err
	}
	if err := r.makeWork(); err != nil {
		return nil, err
	}
	start := time.Now()
	packages := map[string]string{}
	err = parallel(ctx,
		func(ctx context.Context) error {
			_, err := a.copyCurrent(ctx, r, func(rel string) bool { return rel == "wp-config.php" || rel == "wp-content/uploads" })
			return err
		},
		func(ctx context.Context) error { return a.fetchPackages(ctx, r, up, packages) },
	)
	if err != nil {
		return nil, err
	}
	if err := a.prepareRelease(r); err != nil {
		return nil, err
	}
	var out struct {
		Changed []protocol.ReleaseChange `json:"changed"`
		Skipped []string                 `json:"skipped"`
	}
	stdin := map[string]any{"scope": up.Scope, "items": up.Items, "packages": packages, "temp_dir": r.work}
	helperCtx, cancel := context.WithTimeout(ctx, updateTimeout)
	defer cancel()
	if err := a.runHelperAt(helperCtx, r.user, r.p.Root, r.partial, "update", nil, stdin, &out); err != nil {
		if ctx.Err() == nil && helperCtx.Err() != nil {
			return nil, errorf(protocol.ErrUpdateFailed, "WordPress's upgrader did not finish within %s", updateTimeout)
		}
		return nil, err
	}
	for _, c := range out.Changed {
		a.event("update", fmt.Sprintf("%s %s %s → %s", c.Type, c.Slug, c.From, c.To))
	}
	for _, s := range out.Skipped {
		a.event("update", s)
	}
	if len(out.Changed) == 0 {
		a.event("update", "nothing had an update: the new release equals the current one")
	}
	res, err := a.complete(r, releaseMarker{Source: "update", Changed: out.Changed})
	if err != nil {
		return nil, err
	}
	if res.Changed == nil {
		res.Changed = []protocol.ReleaseChange{}
	}
	a.event("release", fmt.Sprintf("built release %s (%s) in %.2f s", r.id, mb(res.SizeBytes), time.Since(start).Seconds()))
	return res, nil
}

// fetchPackages downloads each package URL into the work directory as
// the environment's user's file (the helper reads it as that user), and
// fills packages with slug → path.
func (a *agent) fetchPackages(ctx context.Context, r *release, up *protocol.Update, packages map[string]string) error {
	slugs := make([]string, 0, len(up.PackageURLs))
	for slug := range up.PackageURLs {
		slugs = append(slugs, slug)
	}
	sort.Strings(slugs)
	dl := &downloader{allowPrivate: up.AllowPrivate, maxBytes: defaultMaxBytes, timeout: packageTimeout}
	for _, slug := range slugs {
		raw := up.PackageURLs[slug]
		file := r.work + "/" + slug + ".zip"
		start := time.Now()
		n, err := dl.fetch(ctx, raw, file, r.user.UID, r.user.GID)
		if err != nil {
			return err
		}
		packages[slug] = file
		a.event("download", fmt.Sprintf("downloaded the package for %s (%s) from %s in %.2f s", slug, mb(n), hostOf(raw), time.Since(start).Seconds()))
	}
	return nil
}

// envUpdates lists what the environment runs and what wordpress.org
// offers; where it cannot be asked (an offline node), the list says so.
func (a *agent) envUpdates(ctx context.Context, env *protocol.Env) (*protocol.UpdatesResult, error) {
	p, u, err := a.installedEnv(env.Name, "")
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, updatesListTimeout)
	defer cancel()
	var res protocol.UpdatesResult
	if err := a.runHelper(ctx, u, p.Root, "updates", []string{"--check"}, nil, &res); err != nil {
		return nil, err
	}
	if res.Items == nil {
		res.Items = []protocol.InstalledItem{}
	}
	return &res, nil
}
