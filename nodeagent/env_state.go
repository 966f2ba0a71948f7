package nodeagent

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/pressluft/pressluft/agent/protocol"
)

// optionsTable is the table whose checksum leaves out the rows that change
// by themselves; every WordPress this product installs has the prefix wp_.
const optionsTable = "wp_options"

// volatileOptions are wp_options rows that change without anyone changing
// the site: on page views, in WP-Cron, when content is published (which a
// promotion protects), or as caches rebuilt from code. They are no drift.
//   - transients: caches with an expiry, including doing_cron, update
//     checks, theme file patterns;
//   - cron (the schedule, rewritten at each run), rewrite_rules (rebuilt
//     from code when flushed);
//   - fresh_site, wp_calendar_block_has_published_posts, category_children:
//     follow the posts and terms, which are content;
//   - the upgrader's and recovery mode's bookkeeping: auto_updater.lock,
//     core_updater.lock, auto_core_update_failed, auto_core_update_notified,
//     recovery_keys, recovery_mode_email_last_sent, db_upgraded,
//     finished_updating_comment_type, https_detection_errors;
//   - can_compress_scripts (a wp-admin page view's probe), admin_email_lifespan
//     (the administrator's periodic e-mail check at login);
//   - action_scheduler_lock_* (WooCommerce's queue runner).
var volatileOptions = []string{
	"cron", "doing_cron", "rewrite_rules",
	"fresh_site", "wp_calendar_block_has_published_posts", "category_children",
	"auto_updater.lock", "core_updater.lock", "auto_core_update_failed", "auto_core_update_notified",
	"recovery_keys", "recovery_mode_email_last_sent", "db_upgraded", "finished_updating_comment_type",
	"https_detection_errors", "can_compress_scripts", "admin_email_lifespan",
}

// volatileOptionPrefixes are LIKE patterns of volatile option names.
var volatileOptionPrefixes = []string{`\_transient\_%`, `\_site\_transient\_%`, `action\_scheduler\_lock\_%`}

// envState reads what a drift check compares: table checksums, component
// versions and wp-content hashes, the three at once. It changes nothing.
func (a *agent) envState(ctx context.Context, env *protocol.Env) (*protocol.EnvStateResult, error) {
	start := time.Now()
	p, u, err := a.installedEnv(env.Name, "")
	if err != nil {
		return nil, err
	}
	res := &protocol.EnvStateResult{}
	err = parallel(ctx,
		func(ctx context.Context) (err error) {
			res.Tables, err = a.tableChecksums(ctx, env.DBName)
			return err
		},
		func(ctx context.Context) (err error) {
			res.Components, err = a.components(ctx, u, p)
			return err
		},
		func(ctx context.Context) (err error) {
			res.Paths, res.ContentHash, err = hashContent(ctx, p.Current+"/wp-content")
			return err
		},
	)
	if err != nil {
		return nil, err
	}
	a.event("state", fmt.Sprintf("read %d tables, %d components and %d paths of %s in %.2f s",
		len(res.Tables), len(res.Components), len(res.Paths), env.Name, time.Since(start).Seconds()))
	return res, nil
}

// tableChecksums answers CHECKSUM TABLE for every base table of db, in one
// statement, and for wp_options a checksum of its rows without the
// volatile ones: per row an MD5 of name, value and autoload (lengths
// first, so no two rows read alike), XORed together, with the row count.
func (a *agent) tableChecksums(ctx context.Context, db string) (map[string]string, error) {
	tables, found, err := a.baseTables(ctx, db)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, errorf(protocol.ErrNotFound, "database %s does not exist", db)
	}
	out := map[string]string{}
	var plain []string
	hasOptions := false
	for _, t := range tables {
		if t == optionsTable {
			hasOptions = true
		} else {
			plain = append(plain, t)
		}
	}
	var sql strings.Builder
	if len(plain) > 0 {
		names := make([]string, len(plain))
		for i, t := range plain {
			names[i] = ident(db) + "." + ident(t)
		}
		sql.WriteString("CHECKSUM TABLE " + strings.Join(names, ", ") + ";\n")
	}
	if hasOptions {
		sql.WriteString(optionsChecksumSQL(db))
	}
	if sql.Len() == 0 {
		return out, nil
	}
	raw, err := a.run(ctx, command{argv: mariadbArgv, stdin: strings.NewReader(sql.String())})
	if err != nil {
		return nil, err
	}
	lines := strings.Split(strings.TrimRight(string(raw), "\n"), "\n")
	want := len(plain)
	if hasOptions {
		want++
	}
	if len(lines) != want {
		return nil, errorf(protocol.ErrCommandFailed, "checksums of %s: %d lines for %d tables", db, len(lines), want)
	}
	// CHECKSUM TABLE answers in the order it was asked; the name column is
	// not parsed (a table name may hold a tab).
	for i, t := range plain {
		line := lines[i]
		out[t] = line[strings.LastIndexByte(line, '\t')+1:]
	}
	if hasOptions {
		out[optionsTable] = strings.ReplaceAll(lines[len(lines)-1], "\t", ":")
	}
	return out, nil
}

// optionsChecksumSQL is the query of wp_options' checksum: count, then two
// 64-bit halves of the XOR of the rows' MD5s.
func optionsChecksumSQL(db string) string {
	var skip []string
	for _, p := range volatileOptionPrefixes {
		skip = append(skip, "option_name NOT LIKE "+sqlString(p))
	}
	names := make([]string, len(volatileOptions))
	for i, n := range volatileOptions {
		names[i] = sqlString(n)
	}
	skip = append(skip, "option_name NOT IN ("+strings.Join(names, ", ")+")")
	return "SELECT COUNT(*), " +
		"LPAD(HEX(BIT_XOR(CAST(CONV(LEFT(h, 16), 16, 10) AS UNSIGNED))), 16, '0'), " +
		"LPAD(HEX(BIT_XOR(CAST(CONV(RIGHT(h, 16), 16, 10) AS UNSIGNED))), 16, '0') " +
		"FROM (SELECT MD5(CONCAT(LENGTH(option_name), ':', option_name, ':', LENGTH(option_value), ':', option_value, ':', autoload)) AS h " +
		"FROM " + ident(db) + "." + ident(optionsTable) + " WHERE " + strings.Join(skip, " AND ") + ") AS rows_;\n"
}

// components maps core, plugins and themes to their versions, as the
// helper lists them for updates (without asking wordpress.org).
func (a *agent) components(ctx context.Context, u envUser, p envPaths) (map[string]string, error) {
	var res protocol.UpdatesResult
	if err := a.runHelper(ctx, u, p.Root, "updates", nil, nil, &res); err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, it := range res.Items {
		switch it.Type {
		case "core":
			out["core"] = it.Version
		case "plugin", "theme":
			out[it.Type+"/"+it.Slug] = it.Version
		}
	}
	return out, nil
}
