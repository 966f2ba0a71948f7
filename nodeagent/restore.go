package nodeagent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pressluft/pressluft/agent/protocol"
)

// restoreState is written before the first swap of a restore and says what
// a run that is killed later must undo (phase switching) or finish
// (phase committed). It lives in the environment's root, owned by root.
type restoreState struct {
	Phase     string `json:"phase"`
	BackupID  string `json:"backup_id"`
	ReleaseID string `json:"release_id"`
	// Previous is what current pointed to before the switch.
	Previous string `json:"previous"`
	DB       bool   `json:"db"`
	Files    bool   `json:"files"`
}

const (
	phaseSwitching = "switching"
	phaseCommitted = "committed"
)

// restore is one restore's names, all derived from the target and the
// release id, so a run after a kill finds what the one before left.
type restore struct {
	env      *protocol.Env
	node     *nodeFacts
	p        envPaths
	user     envUser
	b        *protocol.Backup
	state    string // <root>/.pressluft-restore.json
	tmpDB    string // the backup's tables until the swap
	oldDB    string // the target's tables after the swap, until the end
	release  string // releases/<release_id>
	partial  string // releases/.<release_id>.partial
	upNew    string // shared/.uploads-<release_id>.new
	upOld    string // shared/.uploads-<release_id>.old
	download string // backups/.restore-<backup_id>: a copy fetched from offsite
}

func newRestore(env *protocol.Env, node *nodeFacts, u envUser, b *protocol.Backup) *restore {
	p := pathsFor(env.Name, node.PHPVersion)
	sum := sha256.Sum256([]byte(env.Name + "\x00" + env.ReleaseID))
	tag := hex.EncodeToString(sum[:8])
	return &restore{
		env: env, node: node, p: p, user: u, b: b,
		state: p.Root + "/.pressluft-restore.json",
		// No "_": it is a wildcard in database grants.
		tmpDB:    "plrestore" + tag,
		oldDB:    "plold" + tag,
		release:  filepath.Join(p.Releases, env.ReleaseID),
		partial:  filepath.Join(p.Releases, "."+env.ReleaseID+".partial"),
		upNew:    p.Shared + "/.uploads-" + env.ReleaseID + ".new",
		upOld:    p.Shared + "/.uploads-" + env.ReleaseID + ".old",
		download: filepath.Join(p.Root, "backups", ".restore-"+b.ID),
	}
}

// forRelease is r's names for another release id: a state file left by
// another restore names its own.
func (r *restore) forRelease(id string) *restore {
	if id == r.env.ReleaseID {
		return r
	}
	env := *r.env
	env.ReleaseID = id
	return newRestore(&env, r.node, r.user, r.b)
}

// backupRestore checks every part of a backup, then builds its files into
// a new release and its database into a temporary database beside the
// live ones, rewrites its URLs there when it comes from another
// environment, and switches: one RENAME TABLE for the database, renames
// for uploads and current, a PHP-FPM reload, WordPress's health. A
// failure after the first swap swaps everything back. The target's own
// configuration (config/ in the archive) is never applied.
func (a *agent) backupRestore(ctx context.Context, env *protocol.Env, b *protocol.Backup, o *protocol.Offsite) (*protocol.EnvResult, error) {
	node, err := a.probe(ctx)
	if err != nil {
		return nil, err
	}
	p, u, err := a.installedEnv(env.Name, node.PHPVersion)
	if err != nil {
		return nil, err
	}
	r := newRestore(env, node, u, b)

	// What an interrupted run left: finished, or undone.
	if st, ok := readRestoreState(r.state); ok {
		if st.Phase == phaseCommitted {
			if err := a.restoreFinish(ctx, r.forRelease(st.ReleaseID), st); err != nil {
				return nil, err
			}
			if st.ReleaseID == env.ReleaseID && st.BackupID == b.ID {
				a.event("restore", "backup "+b.ID+" was restored by an earlier run: finished its cleanup")
				return a.restoreResult(ctx, r, nil, nil)
			}
		} else if err := a.restoreRollback(ctx, r, st); err != nil {
			return nil, err
		}
	}
	if cur, _ := os.Readlink(p.Current); cur == "releases/"+env.ReleaseID {
		// Switched and cleaned up by an earlier run that was lost before it answered.
		a.event("restore", "release "+env.ReleaseID+" is current: the restore is done")
		return a.restoreResult(ctx, r, nil, nil)
	}
	if err := a.restoreCleanup(ctx, r); err != nil {
		return nil, err
	}

	// 1-3: find the backup, check every byte of it, check for room. A
	// copy fetched from offsite outlives only a run that was killed (the
	// next run uses it).
	defer func() { _ = removeAll(r.download) }()
	dir, m, err := a.restoreLocate(ctx, r, o)
	if err != nil {
		return nil, err
	}
	if err := checkSpace(r.spaceFor(m, false), freeSpace); err != nil {
		return nil, err
	}
	st := &restoreState{BackupID: b.ID, ReleaseID: env.ReleaseID}
	_, st.DB = partOf(m, protocol.PartDB)
	_, st.Files = partOf(m, protocol.PartFiles)

	// 4-5: files and database into their new places, side by side.
	var sr *protocol.SearchReplace
	var steps []func(context.Context) error
	if st.Files {
		steps = append(steps, func(ctx context.Context) error { return a.restoreStageFiles(ctx, r, dir) })
	}
	if st.DB {
		steps = append(steps, func(ctx context.Context) (err error) {
			sr, err = a.restoreStageDatabase(ctx, r, dir, m)
			return err
		})
	}
	if err := parallel(ctx, steps...); err != nil {
		if ctx.Err() != nil {
			return nil, errorf(protocol.ErrCancelled, "cancelled while preparing the restore")
		}
		a.restoreDiscard(r)
		return nil, err
	}

	// 6: switch, or switch back.
	health, err := a.restoreSwitch(ctx, r, st, m, sr)
	if err != nil {
		return nil, err
	}
	return a.restoreResult(ctx, r, &health, sr)
}

// restoreLocate finds the backup on the node (in the environment that took
// it) or fetches it from offsite, and checks the manifest and every part. A
// node copy that fails the check is replaced by the offsite copy when one
// is given.
func (a *agent) restoreLocate(ctx context.Context, r *restore, o *protocol.Offsite) (string, *protocol.Manifest, error) {
	local := backupPathsFor(r.b.Env, r.b.ID).Dir
	fetch := func() (string, *protocol.Manifest, error) {
		a.event("download", "fetching backup "+r.b.ID+" from "+o.Bucket+"/"+o.Key)
		err := a.downloadBackup(ctx, o, r.b.ID, r.b.ManifestSHA256, r.download, func(m *protocol.Manifest) []spaceNeed {
			return r.spaceFor(m, true)
		})
		if err != nil {
			return "", nil, err
		}
		return a.verifyBackup(r.download, r.b)
	}
	for _, dir := range []string{local, r.download} { // r.download: fetched by a run that was killed
		if !exists(filepath.Join(dir, protocol.PartManifest)) {
			continue
		}
		_, m, err := a.verifyBackup(dir, r.b)
		if err == nil {
			return dir, m, nil
		}
		code, msg := errorCode(err)
		if o == nil || (code != protocol.ErrChecksumMismatch && code != protocol.ErrUnsafeArchive) {
			return "", nil, err
		}
		a.warn("verify", "the copy in "+dir+" is damaged ("+msg+"): using the offsite copy")
		if err := removeAll(r.download); err != nil {
			return "", nil, err
		}
		return fetch()
	}
	if o == nil {
		return "", nil, errorf(protocol.ErrBackupUnavailable, "backup %s is not on this node (no %s) and no offsite copy was given", r.b.ID, local)
	}
	return fetch()
}

// verifyBackup checks the manifest in dir against the sha256 the backup
// was recorded with, and every part against the manifest.
func (a *agent) verifyBackup(dir string, b *protocol.Backup) (string, *protocol.Manifest, error) {
	start := time.Now()
	data, err := readManifest(dir)
	if err != nil {
		return "", nil, err
	}
	m, err := parseManifest(data, b.ID, b.ManifestSHA256)
	if err != nil {
		return "", nil, err
	}
	if err := verifyParts(dir, m); err != nil {
		return "", nil, err
	}
	a.event("verify", fmt.Sprintf("backup %s (%s, from %s) is intact: %s checked in %.1f s",
		b.ID, m.Scope, m.Environment, mb(backupSize(m, len(data))), time.Since(start).Seconds()))
	return dir, m, nil
}

// spaceFor is the room a restore of m takes: the unpacked files beside the
// live ones, the database beside the live one (InnoDB takes more than the
// dump's text), and the download when the parts come from offsite.
func (r *restore) spaceFor(m *protocol.Manifest, download bool) []spaceNeed {
	var needs []spaceNeed
	if download {
		var n int64
		for _, p := range m.Parts {
			n += p.Size
		}
		needs = append(needs, spaceNeed{path: protocol.Root, bytes: n, what: "the download"})
	}
	if p, ok := partOf(m, protocol.PartFiles); ok {
		needs = append(needs, spaceNeed{path: protocol.Root, bytes: p.Unpacked + p.Unpacked/10, what: "the files ×1.1"})
	}
	if p, ok := partOf(m, protocol.PartDB); ok {
		needs = append(needs, spaceNeed{path: dirOf(mariadbDataDir), bytes: p.Unpacked + p.Unpacked/2, what: "the database ×1.5"})
	}
	return needs
}

// mariadbDataDir is where Debian's MariaDB keeps its databases.
const mariadbDataDir = "/var/lib/mysql"

// restoreStageFiles builds the new release: the core copied from the
// current release, wp-content from the archive (the uploads link kept),
// and the archive's uploads beside the live ones.
func (a *agent) restoreStageFiles(ctx context.Context, r *restore, dir string) error {
	start := time.Now()
	stats, err := copyTree(ctx, r.p.Current+"/", r.partial, copyOptions{
		UID: r.user.UID, GID: r.user.GID, Workers: 4,
		Exclude: func(rel string) bool { return rel == "wp-content" },
	})
	if err != nil {
		if ctx.Err() != nil {
			return errorf(protocol.ErrCancelled, "cancelled while copying the core")
		}
		return errorf(protocol.ErrCommandFailed, "copying the core of %s: %v", r.p.Current, err)
	}
	in, err := openPart(filepath.Join(dir, protocol.PartFiles))
	if err != nil {
		return err
	}
	defer in.Close()
	x, err := extract(ctx, in, extractTargets{WPContent: r.partial + "/wp-content", Uploads: r.upNew, UID: r.user.UID, GID: r.user.GID})
	if err != nil {
		if code, _ := errorCode(err); code == protocol.ErrUnsafeArchive || code == protocol.ErrCancelled {
			return err
		}
		return errorf(protocol.ErrCommandFailed, "extracting the files: %v", err)
	}
	link := r.partial + "/wp-content/uploads"
	if err := os.Symlink("../../../shared/uploads", link); err != nil {
		return err
	}
	if err := os.Lchown(link, r.user.UID, r.user.GID); err != nil {
		return err
	}
	if err := os.Chmod(r.upNew, 0o755); err != nil {
		return err
	}
	if err := os.Rename(r.partial, r.release); err != nil {
		return err
	}
	a.event("files", fmt.Sprintf("built release %s: core %d files, wp-content and uploads %d files, %s in %.1f s",
		r.env.ReleaseID, stats.Files, x.Files, mb(x.Bytes), time.Since(start).Seconds()))
	return nil
}

// restoreSwitch puts the staged database, uploads and release in place,
// then asks WordPress. Any failure switches everything back and returns
// the cause; the temporary copies are then removed.
func (a *agent) restoreSwitch(ctx context.Context, r *restore, st *restoreState, m *protocol.Manifest, sr *protocol.SearchReplace) (protocol.Health, error) {
	var none protocol.Health
	start := time.Now()
	st.Phase = phaseSwitching
	if prev, err := os.Readlink(r.p.Current); err == nil {
		st.Previous = prev
	}
	if err := writeRestoreState(r.state, st); err != nil {
		return none, err
	}
	fail := func(cause error) error {
		// The switch back must run even when the job was cancelled.
		undoCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Minute)
		defer cancel()
		if err := a.restoreRollback(undoCtx, r, st); err != nil {
			_, msg := errorCode(err)
			a.w.Event("restore", "error", "switching back failed: "+msg)
			return cause
		}
		a.restoreDiscard(r)
		_, msg := errorCode(cause)
		a.warn("restore", "switched back to the state before the restore: "+msg)
		return cause
	}
	if st.DB {
		if err := a.swapTables(ctx, r.env.DBName, r.tmpDB, r.oldDB, nil); err != nil {
			return none, fail(err)
		}
	}
	if st.Files {
		if err := os.Rename(r.p.Shared+"/uploads", r.upOld); err != nil {
			return none, fail(err)
		}
		if err := os.Rename(r.upNew, r.p.Shared+"/uploads"); err != nil {
			return none, fail(err)
		}
		if err := a.pointCurrent(r, "releases/"+r.env.ReleaseID); err != nil {
			return none, fail(err)
		}
		// PHP-FPM's opcache must not serve the old release's code.
		if err := a.reloadPHPFPM(ctx, r.node); err != nil {
			return none, fail(err)
		}
	}
	a.event("switch", fmt.Sprintf("switched to the backup's %s in %.2f s", m.Scope, time.Since(start).Seconds()))
	// A persistent object cache must forget the old content. Only the cache:
	// a full flush would rewrite options and the tables would no longer be
	// the backup's row for row.
	if err := a.runHelper(ctx, r.user, r.p.Root, "cache-flush", nil, nil, nil); err != nil {
		if ctx.Err() != nil {
			return none, fail(errorf(protocol.ErrCancelled, "cancelled after the switch"))
		}
		_, msg := errorCode(err)
		a.warn("flush", "flushing the caches failed: "+msg)
	}
	health, err := a.health(ctx, r.user, r.p)
	if err == nil {
		err = checkRestored(health, r.env, st, m, sr)
	}
	if err != nil {
		if ctx.Err() != nil {
			err = errorf(protocol.ErrCancelled, "cancelled after the switch")
		}
		return none, fail(err)
	}
	st.Phase = phaseCommitted
	if err := writeRestoreState(r.state, st); err != nil {
		return none, fail(err)
	}
	return health, a.restoreFinish(ctx, r, st)
}

// checkRestored fails unless WordPress is installed, reaches its database
// and has the home the restore meant: the target's URL when URLs were
// rewritten, the backup's own when not.
func checkRestored(h protocol.Health, env *protocol.Env, st *restoreState, m *protocol.Manifest, sr *protocol.SearchReplace) error {
	if !h.Installed || !h.DBOK {
		return errorf(protocol.ErrWordPress, "WordPress is not healthy after the restore: installed=%t, db_ok=%t", h.Installed, h.DBOK)
	}
	if !st.DB {
		return nil
	}
	want := m.SiteURL
	if sr != nil || want == "" {
		want = cleanURL(env.URL)
	}
	if got := strings.TrimSuffix(h.Home, "/"); got != want {
		return errorf(protocol.ErrWordPress, "WordPress's home is %q after the restore, expected %q", got, want)
	}
	return nil
}

// restoreFinish drops what the switch put aside: the old tables, the old
// uploads, the state file. The old release stays (releases are pruned by
// the control plane).
func (a *agent) restoreFinish(ctx context.Context, r *restore, st *restoreState) error {
	if st.DB {
		if err := a.dropRestoreDatabases(ctx, r); err != nil {
			return err
		}
	}
	if err := removeAll(r.upOld); err != nil {
		return err
	}
	if _, err := removeFile(r.state); err != nil {
		return err
	}
	a.event("restore", "removed the database and uploads the restore replaced")
	return nil
}

// restoreRollback undoes a switch that did not commit, whatever part of it
// happened: current back, uploads back, tables back.
func (a *agent) restoreRollback(ctx context.Context, r *restore, st *restoreState) error {
	rr := r.forRelease(st.ReleaseID)
	if st.Files {
		if st.Previous != "" {
			if cur, _ := os.Readlink(rr.p.Current); cur != st.Previous {
				if err := a.pointCurrent(rr, st.Previous); err != nil {
					return err
				}
			}
		}
		if exists(rr.upOld) {
			live := rr.p.Shared + "/uploads"
			if exists(live) {
				if err := removeAll(rr.upNew); err != nil {
					return err
				}
				if err := os.Rename(live, rr.upNew); err != nil {
					return err
				}
			}
			if err := os.Rename(rr.upOld, live); err != nil {
				return err
			}
		}
		if err := a.reloadPHPFPM(ctx, rr.node); err != nil {
			return err
		}
	}
	if st.DB {
		if err := a.unswapTables(ctx, rr.env.DBName, rr.tmpDB, rr.oldDB, nil); err != nil {
			return err
		}
	}
	if _, err := removeFile(rr.state); err != nil {
		return err
	}
	a.event("restore", "undid the switch of an unfinished restore: the environment is as it was before")
	return nil
}

// restoreCleanup removes what an earlier, undone run of this restore
// staged: the temporary databases, the partial or unused new release and
// the new uploads.
func (a *agent) restoreCleanup(ctx context.Context, r *restore) error {
	if err := a.dropRestoreDatabases(ctx, r); err != nil {
		return err
	}
	if exists(r.upOld) && !exists(r.p.Shared+"/uploads") {
		// Never reached without a state file; kept safe all the same.
		if err := os.Rename(r.upOld, r.p.Shared+"/uploads"); err != nil {
			return err
		}
	}
	for _, p := range []string{r.partial, r.release, r.upNew, r.upOld} {
		if err := removeAll(p); err != nil {
			return err
		}
	}
	return nil
}

// restoreDiscard removes the staged copies after a failure (best effort:
// the next run cleans up again).
func (a *agent) restoreDiscard(r *restore) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_ = a.restoreCleanup(ctx, r)
}

// pointCurrent moves the current symlink to target with one rename.
func (a *agent) pointCurrent(r *restore, target string) error {
	tmp := r.p.Current + ".new"
	os.Remove(tmp)
	if err := os.Symlink(target, tmp); err != nil {
		return err
	}
	if err := os.Lchown(tmp, r.user.UID, r.user.GID); err != nil {
		return err
	}
	return os.Rename(tmp, r.p.Current)
}

// restoreResult answers with the release that is current and WordPress's
// view (asked again unless the switch just did).
func (a *agent) restoreResult(ctx context.Context, r *restore, h *protocol.Health, sr *protocol.SearchReplace) (*protocol.EnvResult, error) {
	if h == nil {
		health, err := a.health(ctx, r.user, r.p)
		if err != nil {
			return nil, err
		}
		h = &health
	}
	health := *h
	release := ""
	if cur, err := readlink(r.p.Current); err == nil {
		release = cur
	}
	a.event("health", "WordPress "+health.WPVersion+" answers at "+health.Home)
	return &protocol.EnvResult{ReleaseID: release, SearchReplace: sr, Health: health}, nil
}

func readRestoreState(path string) (*restoreState, bool) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, false
	}
	var st restoreState
	if json.Unmarshal(data, &st) != nil || (st.Phase != phaseSwitching && st.Phase != phaseCommitted) || !releaseIDPattern.MatchString(st.ReleaseID) {
		return nil, false
	}
	return &st, true
}

func writeRestoreState(path string, st *restoreState) error {
	if err := writeFile(path, append(mustJSON(st), '\n'), 0o600, 0, 0); err != nil {
		return err
	}
	return syncDir(filepath.Dir(path))
}
