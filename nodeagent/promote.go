package nodeagent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/pressluft/pressluft/agent/protocol"
)

// promoteState is a promotion's record in the target's root, written
// before the swap: a run killed later undoes the swap (phase switching),
// finishes it (committed), or, for the same run id, answers from it
// (done).
type promoteState struct {
	Phase         string                  `json:"phase"`
	RunID         string                  `json:"run_id"`
	Moved         []string                `json:"moved"`
	Protected     []string                `json:"protected"`
	SearchReplace *protocol.SearchReplace `json:"search_replace,omitempty"`
}

const phaseDone = "done"

// targetOptions are the target's own rows of wp_options that a promotion
// keeps: where it lives and whether search engines may index it.
var targetOptions = []string{"home", "siteurl", "blog_public"}

// promotion is one run's names, derived from the target and the run id,
// so a run after a kill finds what the one before left.
type promotion struct {
	env, src *protocol.Env
	p        envPaths
	user     envUser
	runID    string
	state    string // <root>/.pressluft-promote.json
	tmpDB    string // the source's tables, rewritten, until the swap
	oldDB    string // the target's replaced tables after the swap, until the end
}

func newPromotion(env, src *protocol.Env, p envPaths, u envUser, runID string) *promotion {
	sum := sha256.Sum256([]byte(env.Name + "\x00promote\x00" + runID))
	tag := hex.EncodeToString(sum[:8])
	return &promotion{
		env: env, src: src, p: p, user: u, runID: runID,
		state: p.Root + "/.pressluft-promote.json",
		// No "_": it is a wildcard in database grants.
		tmpDB: "plpromote" + tag,
		oldDB: "plpold" + tag,
	}
}

// dbPromote replaces the target's tables with the source's, but for the
// protected ones: the source's tables are copied into a temporary database
// beside the target's, their URLs rewritten to the target's there (the
// target's home, siteurl and blog_public kept), then swapped in with one
// RENAME TABLE. A failure before the swap leaves the target as it was; one
// after it swaps back.
func (a *agent) dbPromote(ctx context.Context, env, src *protocol.Env, pr *protocol.Promote) (*protocol.PromoteResult, error) {
	p, u, err := a.installedEnv(env.Name, "")
	if err != nil {
		return nil, err
	}
	m := newPromotion(env, src, p, u, pr.RunID)

	// What an interrupted run left: undone, finished, or this run's answer.
	if st, ok := readPromoteState(m.state); ok {
		prev := newPromotion(env, src, p, u, st.RunID)
		switch st.Phase {
		case phaseSwitching:
			if err := a.promoteRollback(ctx, prev, st); err != nil {
				return nil, err
			}
		case phaseCommitted:
			if err := a.promoteFinish(ctx, prev, st); err != nil {
				return nil, err
			}
		}
		if st.RunID == pr.RunID && st.Phase != phaseSwitching {
			a.event("promote", "promotion "+pr.RunID+" was done by an earlier run: answered as it left it")
			return &protocol.PromoteResult{Moved: nonNil(st.Moved), Protected: nonNil(st.Protected), SearchReplace: st.SearchReplace, Reused: true}, nil
		}
	}
	var srcTables, dstTables []string
	var srcFound bool
	err = parallel(ctx,
		func(ctx context.Context) (err error) {
			srcTables, srcFound, err = a.baseTables(ctx, src.DBName)
			return err
		},
		func(ctx context.Context) (err error) {
			dstTables, _, err = a.baseTables(ctx, env.DBName)
			return err
		},
	)
	if err != nil {
		return nil, err
	}
	if !srcFound || len(srcTables) == 0 {
		return nil, errorf(protocol.ErrNotFound, "the source database %s holds no tables", src.DBName)
	}
	st := &promoteState{RunID: pr.RunID, Moved: []string{}, Protected: []string{}}
	for _, t := range srcTables {
		if tableProtected(pr.Protect, t) {
			st.Protected = append(st.Protected, t)
		} else {
			st.Moved = append(st.Moved, t)
		}
	}
	for _, t := range dstTables {
		if tableProtected(pr.Protect, t) && !contains(st.Protected, t) {
			st.Protected = append(st.Protected, t)
		}
	}
	sort.Strings(st.Protected)
	if len(st.Moved) == 0 {
		a.warn("promote", "every table of "+src.DBName+" is protected: nothing to move")
		return &protocol.PromoteResult{Moved: st.Moved, Protected: st.Protected}, nil
	}

	// Staged beside the target, which is not touched until the swap.
	sr, err := a.promoteStage(ctx, m, st.Moved)
	if err != nil {
		a.promoteDiscard(m)
		return nil, err
	}
	st.SearchReplace = sr
	if err := a.promoteSwitch(ctx, m, st); err != nil {
		return nil, err
	}
	return &protocol.PromoteResult{Moved: st.Moved, Protected: st.Protected, SearchReplace: sr}, nil
}

// promoteStage copies the moved tables of the source into the temporary
// database and rewrites them for the target there.
func (a *agent) promoteStage(ctx context.Context, m *promotion, moved []string) (*protocol.SearchReplace, error) {
	start := time.Now()
	// What an earlier run left is dropped; the target's user may use the
	// temporary database (the helper rewrites it as that user) until the
	// rewrite is done. GRANT is idempotent, so a grant left by a killed run
	// is taken back below all the same.
	create := fmt.Sprintf("DROP DATABASE IF EXISTS %[1]s;\nDROP DATABASE IF EXISTS %[2]s;\n"+
		"CREATE DATABASE %[1]s CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;\n"+
		"GRANT ALL PRIVILEGES ON %[1]s.* TO %[3]s@'localhost';\n", ident(m.tmpDB), ident(m.oldDB), sqlString(m.env.DBUser))
	if _, err := a.run(ctx, command{argv: mariadbArgv, stdin: strings.NewReader(create)}); err != nil {
		return nil, err
	}
	var srcOpts map[string]string
	err := parallel(ctx,
		func(ctx context.Context) error {
			if err := a.copyTables(ctx, m.src.DBName, m.tmpDB, moved); err != nil {
				return err
			}
			a.event("copy_database", fmt.Sprintf("copied %d tables of %s beside %s in %.2f s", len(moved), m.src.DBName, m.env.DBName, time.Since(start).Seconds()))
			return nil
		},
		func(ctx context.Context) (err error) {
			srcOpts, err = a.optionValues(ctx, m.src.DBName, []string{"home", "siteurl"})
			return err
		},
	)
	if err != nil {
		return nil, err
	}
	var sr *protocol.SearchReplace
	if hosts := otherHosts(m.env.URL, srcOpts["home"], srcOpts["siteurl"], m.src.URL); len(hosts) > 0 {
		if sr, err = a.rewriteHosts(ctx, m.user, m.p.Root, m.env.URL, hosts, m.tmpDB); err != nil {
			return nil, err
		}
	}
	sql := fmt.Sprintf("REVOKE ALL PRIVILEGES ON %s.* FROM %s@'localhost';\n", ident(m.tmpDB), sqlString(m.env.DBUser))
	if contains(moved, optionsTable) {
		// The target keeps where it lives and whether it is indexed: a
		// staging site's blog_public=0 must not reach production.
		keep := make([]string, len(targetOptions))
		for i, o := range targetOptions {
			keep[i] = sqlString(o)
		}
		sql += fmt.Sprintf("INSERT INTO %[1]s.%[3]s (option_name, option_value, autoload) "+
			"SELECT option_name, option_value, autoload FROM %[2]s.%[3]s WHERE option_name IN (%[4]s) "+
			"ON DUPLICATE KEY UPDATE option_value = VALUES(option_value), autoload = VALUES(autoload);\n",
			ident(m.tmpDB), ident(m.env.DBName), ident(optionsTable), strings.Join(keep, ", "))
	}
	if _, err := a.run(ctx, command{argv: mariadbArgv, stdin: strings.NewReader(sql)}); err != nil {
		return nil, err
	}
	a.event("promote", fmt.Sprintf("staged %d tables for %s in %.2f s", len(moved), m.env.Name, time.Since(start).Seconds()))
	return sr, nil
}

// promoteSwitch swaps the staged tables in, empties the object cache and
// checks the target's home; any failure swaps back and returns the cause.
func (a *agent) promoteSwitch(ctx context.Context, m *promotion, st *promoteState) error {
	start := time.Now()
	before, err := a.optionValues(ctx, m.env.DBName, []string{"home"})
	if err != nil {
		return err
	}
	st.Phase = phaseSwitching
	if err := writePromoteState(m.state, st); err != nil {
		return err
	}
	fail := func(cause error) error {
		// The swap back must run even when the job was cancelled.
		undoCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Minute)
		defer cancel()
		if err := a.promoteRollback(undoCtx, m, st); err != nil {
			_, msg := errorCode(err)
			a.w.Event("promote", "error", "swapping back failed: "+msg)
			return cause
		}
		_, msg := errorCode(cause)
		a.warn("promote", "swapped the target's tables back: "+msg)
		return cause
	}
	if err := a.swapTables(ctx, m.env.DBName, m.tmpDB, m.oldDB, st.Moved); err != nil {
		return fail(err)
	}
	// A persistent object cache (a drop-in) must forget the replaced rows.
	if exists(m.p.Current + "/wp-content/object-cache.php") {
		if err := a.runHelper(ctx, m.user, m.p.Root, "cache-flush", nil, nil, nil); err != nil {
			if ctx.Err() != nil {
				return fail(errorf(protocol.ErrCancelled, "cancelled after the swap"))
			}
			_, msg := errorCode(err)
			a.warn("flush", "flushing the object cache failed: "+msg)
		}
	}
	// The tables are in place and the target's home is its own. WordPress's
	// own answer comes with the release switch that follows (the new code
	// is not current yet), and the control plane rolls both back on failure.
	after, err := a.optionValues(ctx, m.env.DBName, []string{"home"})
	if err == nil && after["home"] != before["home"] {
		err = errorf(protocol.ErrWordPress, "home is %q after the promotion, expected %q", after["home"], before["home"])
	}
	if err != nil {
		if ctx.Err() != nil {
			err = errorf(protocol.ErrCancelled, "cancelled after the swap")
		}
		return fail(err)
	}
	a.event("switch", fmt.Sprintf("swapped %d tables in and checked them in %.2f s", len(st.Moved), time.Since(start).Seconds()))
	st.Phase = phaseCommitted
	if err := writePromoteState(m.state, st); err != nil {
		return fail(err)
	}
	return a.promoteFinish(ctx, m, st)
}

// promoteFinish drops the replaced tables and records the run as done
// (the grant was taken back before the state file was first written).
func (a *agent) promoteFinish(ctx context.Context, m *promotion, st *promoteState) error {
	if err := a.dropPromoteDatabases(ctx, m, false); err != nil {
		return err
	}
	done := *st
	done.Phase = phaseDone
	if err := writePromoteState(m.state, &done); err != nil {
		return err
	}
	a.event("promote", fmt.Sprintf("moved %d tables into %s, left %d protected ones alone", len(st.Moved), m.env.DBName, len(st.Protected)))
	return nil
}

// promoteRollback undoes a swap that did not commit, if it happened, and
// removes what the run staged.
func (a *agent) promoteRollback(ctx context.Context, m *promotion, st *promoteState) error {
	if err := a.unswapTables(ctx, m.env.DBName, m.tmpDB, m.oldDB, st.Moved); err != nil {
		return err
	}
	if err := a.dropPromoteDatabases(ctx, m, false); err != nil {
		return err
	}
	if _, err := removeFile(m.state); err != nil {
		return err
	}
	a.event("promote", "undid the unfinished promotion "+st.RunID+": the target's tables are as they were")
	return nil
}

// dropPromoteDatabases removes a run's temporary and old databases and,
// with revoke, the target user's rights on the temporary one.
func (a *agent) dropPromoteDatabases(ctx context.Context, m *promotion, revoke bool) error {
	if revoke {
		if err := a.revokeGrant(ctx, m.tmpDB, m.env.DBUser); err != nil {
			return err
		}
	}
	sql := fmt.Sprintf("DROP DATABASE IF EXISTS %s;\nDROP DATABASE IF EXISTS %s;\n", ident(m.tmpDB), ident(m.oldDB))
	_, err := a.run(ctx, command{argv: mariadbArgv, stdin: strings.NewReader(sql)})
	return err
}

// promoteDiscard removes what a failed run staged (best effort: the next
// run cleans up again).
func (a *agent) promoteDiscard(m *promotion) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_ = a.dropPromoteDatabases(ctx, m, true)
}

// optionValues reads options of db's wp_options (missing ones are "").
func (a *agent) optionValues(ctx context.Context, db string, names []string) (map[string]string, error) {
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = sqlString(n)
	}
	q := fmt.Sprintf("SELECT HEX(option_name), HEX(option_value) FROM %s.%s WHERE option_name IN (%s);\n",
		ident(db), ident(optionsTable), strings.Join(quoted, ", "))
	raw, err := a.run(ctx, command{argv: mariadbArgv, stdin: strings.NewReader(q)})
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		name, value, ok := strings.Cut(line, "\t")
		if !ok {
			continue
		}
		n, err := decodeHexName(name)
		if err != nil {
			return nil, err
		}
		v, err := decodeHexName(value)
		if err != nil {
			return nil, err
		}
		out[n] = v
	}
	return out, nil
}

func readPromoteState(path string) (*promoteState, bool) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, false
	}
	var st promoteState
	if json.Unmarshal(data, &st) != nil || !releaseIDPattern.MatchString(st.RunID) {
		return nil, false
	}
	switch st.Phase {
	case phaseSwitching, phaseCommitted, phaseDone:
		return &st, true
	}
	return nil, false
}

func writePromoteState(path string, st *promoteState) error {
	if err := writeFile(path, append(mustJSON(st), '\n'), 0o600, 0, 0); err != nil {
		return err
	}
	return syncDir(filepath.Dir(path))
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
