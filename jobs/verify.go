package jobs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/pressluft/pressluft"
)

// trialNameLen is one more than the longest "<site>-<env>" system name, so
// no real environment can ever carry a trial copy's name; it is also the
// node's limit (a Linux user name has at most 32 characters).
const trialNameLen = pressluft.MaxSiteSlug + 1 + pressluft.MaxEnvSlug + 1

// cleanupTimeout bounds the removal of a trial copy, which runs even after
// the job's own context ended.
const cleanupTimeout = 5 * time.Minute

var titlePattern = regexp.MustCompile(`(?is)<title[^>]*>(.*?)</title>`)

// trialName is the system name of the temporary copy an update is tried
// on: "<site slug>-vf-" and a hash of the job, filled to trialNameLen. The
// same job (a retry) gets the same name, so it finds what it left.
func trialName(env *pressluft.Environment, j *pressluft.Job) string {
	prefix := strings.TrimSuffix(env.SystemName, "-"+env.Slug) + "-vf-"
	sum := sha256.Sum256([]byte(j.ID))
	return prefix + hex.EncodeToString(sum[:])[:trialNameLen-len(prefix)]
}

// trialEnv describes the temporary copy of c's environment. It has no row
// in the database: only this job knows it, and removes it before it ends.
func (h *Handlers) trialEnv(ctx context.Context, c *releaseChange) (*pressluft.Environment, error) {
	st, err := h.Settings.GetSettings(ctx)
	if err != nil {
		return nil, err
	}
	name := trialName(c.env, c.job)
	return &pressluft.Environment{SiteID: c.env.SiteID, Name: "Trial of " + c.env.Name, Type: pressluft.EnvClone, NodeID: c.env.NodeID,
		SystemName: name, PreviewURL: pressluft.PreviewURL(name, c.node.Host, st.PreviewDomain), HealthPaths: c.env.HealthPaths}, nil
}

// page is what one checked path answered.
type page struct {
	url    string
	status int
	title  string // as printed in <title>
	fatal  bool
}

// verifyOnClone tries update u on a temporary copy of the environment
// before the live one is touched: the copy must answer 200 without a PHP
// error on the home page and every health path, with the titles the live
// pages show. The copy is removed whatever the outcome. An error means the
// live environment is as it was, with no snapshot taken.
func (h *Handlers) verifyOnClone(ctx context.Context, c *releaseChange, u pressluft.UpdateSpec, p pressluft.Progress) error {
	start := time.Now()
	trial, err := h.trialEnv(ctx, c)
	if err != nil {
		return untouched(err)
	}
	check := stage{p, "verify_check"}
	check.Event("", pressluft.LevelInfo, "Recording what the live environment's pages answer, to compare the temporary copy with.")
	live, err := h.readPages(ctx, c.node, c.env, check)
	for i := 0; err == nil && i < len(live); i++ {
		err = live[i].problem()
	}
	if err != nil {
		return h.notChanged(ctx, c, trial, "The live environment fails its check before the update", err)
	}
	if c.job.Attempt > 1 {
		// An earlier attempt may have left its copy: try on a fresh one.
		if err := h.Envs.DeleteEnv(ctx, c.node, trial.Spec("", ""), stage{p, "verify_cleanup"}); err != nil {
			return h.notChanged(ctx, c, trial, "Removing the temporary copy an earlier attempt left failed", err)
		}
	}
	stageMsg, err := h.tryUpdate(ctx, c, trial, u, live, p)
	h.removeTrial(ctx, c, trial, p)
	if err != nil {
		return h.notChanged(ctx, c, trial, stageMsg, err)
	}
	check.Event("", pressluft.LevelInfo, fmt.Sprintf("The update passed on the temporary copy in %s; updating the live environment now.",
		time.Since(start).Round(10*time.Millisecond)))
	return nil
}

// tryUpdate copies the environment into trial, updates and switches the
// copy, and compares its pages with live. On failure it says which stage
// failed.
func (h *Handlers) tryUpdate(ctx context.Context, c *releaseChange, trial *pressluft.Environment, u pressluft.UpdateSpec, live []page, p pressluft.Progress) (string, error) {
	rel := pressluft.ReleaseIDFor(c.job)
	cp := stage{p, "verify_copy"}
	cp.Event("", pressluft.LevelInfo, fmt.Sprintf("Copying the environment into the temporary copy %s (%s).", trial.SystemName, trial.PreviewURL))
	// A password only this job knows: a retry sets a new one, which the
	// copy's database user and configuration take over.
	if _, err := h.Envs.CopyEnv(ctx, c.node, trial.Spec(rel+"-copy", pressluft.NewPassword(32)), c.env.Spec("", ""), cp); err != nil {
		return "Copying the environment for the trial failed", err
	}
	up := stage{p, "verify_update"}
	up.Event("", pressluft.LevelInfo, fmt.Sprintf("Updating %s on the temporary copy.", u.Scope))
	f, err := h.Release.UpdateRelease(ctx, c.node, trial.Spec(rel+"-trial", ""), u, up)
	if err != nil {
		return "The update failed on the temporary copy", err
	}
	for _, line := range f.Changed {
		up.Event("", pressluft.LevelInfo, "Updated "+line+" on the temporary copy.")
	}
	facts, err := h.Release.SwitchRelease(ctx, c.node, trial.Spec(rel+"-trial", ""), rel+"-trial", up)
	if err != nil {
		// As after a switch of the live environment: the update broke the copy.
		if !pressluft.IsTransient(err) {
			err = &pressluft.Error{Code: pressluft.EHealthCheckFailed, Message: pressluft.ErrorMessage(err), Details: pressluft.ErrorDetails(err)}
		}
		return "Switching the temporary copy to the update failed", err
	}
	check := stage{p, "verify_check"}
	if facts != nil && (!facts.Installed || !facts.DBOK) {
		return "The updated temporary copy fails its check", pressluft.Errorf(pressluft.EHealthCheckFailed,
			"WordPress reports installed=%v, database reachable=%v.", facts.Installed, facts.DBOK)
	}
	// Page by page, so the first failure ends the trial.
	for i, u := range pageURLs(trial) {
		pg, err := h.readPage(ctx, c.node, u, check)
		if err == nil {
			err = pg.problem()
		}
		if err == nil && pg.title != live[i].title {
			err = pressluft.Errorf(pressluft.EHealthCheckFailed, "%s shows the title %q; the live page shows %q.", pg.url, pg.title, live[i].title)
		}
		if err != nil {
			return "The updated temporary copy fails its check", err
		}
	}
	check.Event("", pressluft.LevelInfo, fmt.Sprintf("The temporary copy answers 200 without a PHP error on %d pages, with the live pages' titles.", len(live)))
	return "", nil
}

// pageURLs are the URLs of env's health check: its home page and health paths.
func pageURLs(env *pressluft.Environment) []string {
	urls := []string{env.PreviewURL}
	for _, path := range env.HealthPaths {
		urls = append(urls, strings.TrimRight(env.PreviewURL, "/")+path)
	}
	return urls
}

// readPages asks env's home page and health paths from the control plane.
func (h *Handlers) readPages(ctx context.Context, node *pressluft.Node, env *pressluft.Environment, p pressluft.Progress) ([]page, error) {
	var pages []page
	for _, u := range pageURLs(env) {
		pg, err := h.readPage(ctx, node, u, p)
		if err != nil {
			return nil, err
		}
		pages = append(pages, pg)
	}
	return pages, nil
}

// readPage asks u a few times until it answers 200; a PHP error is final.
func (h *Handlers) readPage(ctx context.Context, node *pressluft.Node, u string, p pressluft.Progress) (page, error) {
	pg := page{url: u, status: 200} // without a way to ask, nothing to compare
	if h.FetchURL != nil {
		var body string
		var err error
		for try := 0; try < 5; try++ {
			if pg.status, body, err = h.FetchURL(ctx, node.Host, u); err == nil && (pg.status == 200 || fatalPage(body)) {
				break
			}
			select {
			case <-ctx.Done():
				return pg, ctx.Err()
			case <-time.After(h.HealthRetryDelay):
			}
		}
		if err != nil {
			return pg, pressluft.Errorf(pressluft.EHealthCheckFailed, "%s did not answer: %v", u, err)
		}
		if m := titlePattern.FindStringSubmatch(body); m != nil {
			pg.title = strings.TrimSpace(m[1])
		}
		pg.fatal = fatalPage(body)
	}
	p.Event("", pressluft.LevelInfo, fmt.Sprintf("%s answers %d, title %q.", u, pg.status, pg.title))
	return pg, nil
}

// problem is why pg does not pass a health check, or nil.
func (pg page) problem() error {
	switch {
	case pg.fatal:
		return pressluft.Errorf(pressluft.EHealthCheckFailed, "%s shows a PHP error (status %d).", pg.url, pg.status)
	case pg.status != 200:
		return pressluft.Errorf(pressluft.EHealthCheckFailed, "%s answered %d, want 200.", pg.url, pg.status)
	}
	return nil
}

// removeTrial deletes the temporary copy. A copy that cannot be removed
// does not fail the update: the job warns and says what is left.
func (h *Handlers) removeTrial(ctx context.Context, c *releaseChange, trial *pressluft.Environment, p pressluft.Progress) {
	// Also after the job was cancelled or timed out: the copy must not outlive it.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	st := stage{p, "verify_cleanup"}
	st.Event("", pressluft.LevelInfo, "Removing the temporary copy "+trial.SystemName+".")
	if err := h.Envs.DeleteEnv(ctx, c.node, trial.Spec("", ""), st); err != nil {
		st.Event("", pressluft.LevelWarn, fmt.Sprintf("The temporary copy %s could not be removed from node %s: %s "+
			"Remove by hand its directory %s, its database and database user %s, and its nginx vhost, PHP-FPM pool, cron entry and Linux user %s.",
			trial.SystemName, c.node.Name, pressluft.ErrorMessage(err), trial.Root(), trial.DatabaseName(), trial.SystemName))
		return
	}
	st.Event("", pressluft.LevelInfo, "Removed the temporary copy "+trial.SystemName+".")
}

// notChanged is the failure of an update whose trial failed: the cause's
// code (a retry when it is transient), and the pending snapshot, never
// taken, forgotten when the job will not run again.
func (h *Handlers) notChanged(ctx context.Context, c *releaseChange, trial *pressluft.Environment, what string, cause error) error {
	details := map[string]any{"verify_copy": trial.SystemName}
	for k, v := range pressluft.ErrorDetails(cause) {
		details[k] = v
	}
	if !pressluft.IsTransient(cause) {
		// Should this fail, the job's end marks the row failed instead.
		_ = h.Backups.RemoveBackup(ctx, c.snapshot.ID)
	}
	return untouched(&pressluft.Error{Code: pressluft.ErrorCode(cause), Details: details,
		Message: what + ": " + pressluft.ErrorMessage(cause) + " The live environment was not changed."})
}

// stage reports the events of one stage of the trial under that stage's
// step, whatever step the node reports them under.
type stage struct {
	pressluft.Progress
	step string
}

func (s stage) Event(_, level, message string) { s.Progress.Event(s.step, level, message) }
