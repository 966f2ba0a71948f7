package nodeagent

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/pressluft/pressluft/agent/protocol"
)

// restoreStageDatabase imports the backup's dump into the temporary
// database and, for a backup of another environment, rewrites its URLs
// there. The live database is not touched.
func (a *agent) restoreStageDatabase(ctx context.Context, r *restore, dir string, m *protocol.Manifest) (*protocol.SearchReplace, error) {
	start := time.Now()
	create := fmt.Sprintf("DROP DATABASE IF EXISTS %[1]s;\nCREATE DATABASE %[1]s CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;\n", ident(r.tmpDB))
	if _, err := a.run(ctx, command{argv: mariadbArgv, stdin: strings.NewReader(create)}); err != nil {
		return nil, err
	}
	in, err := openPart(filepath.Join(dir, protocol.PartDB))
	if err != nil {
		return nil, err
	}
	_, err = a.run(ctx, command{argv: []string{"mariadb", "--default-character-set=utf8mb4", "--", r.tmpDB}, stdin: in})
	in.Close()
	if err != nil {
		return nil, err
	}
	part, _ := partOf(m, protocol.PartDB)
	took := time.Since(start).Seconds()
	a.event("import", fmt.Sprintf("imported the backup's database (%s) beside %s in %.1f s (%.0f MB/s)",
		mb(part.Unpacked), r.env.DBName, took, float64(part.Unpacked)/1e6/max(took, 0.001)))
	// The dump is the one the manifest hashed, and mariadb stops at the
	// first statement that fails: the tables hold what was backed up.
	return a.restoreRewrite(ctx, r, m)
}

// restoreRewrite rewrites the backup's URLs to the target's in the
// temporary database, as env_copy does: every host the backup was reached
// at to the target's host, then the other scheme of that host, then home
// and siteurl (and blog_public off for staging and clones). A backup of
// this same environment at this same URL is left row for row as it was.
func (a *agent) restoreRewrite(ctx context.Context, r *restore, m *protocol.Manifest) (*protocol.SearchReplace, error) {
	host := urlHost(r.env.URL)
	if m.Environment == r.env.Name && urlHost(m.URL) == host {
		a.event("search_replace", "the backup is of this environment at this URL: nothing to rewrite")
		return nil, nil
	}
	hosts := otherHosts(r.env.URL, m.SiteURL, m.URL)
	if len(hosts) == 0 {
		a.event("search_replace", "the backup's URLs are already "+cleanURL(r.env.URL))
		return nil, nil
	}
	// The helper runs as the environment's user: for the rewrite, that user
	// may use the temporary database too.
	if err := a.grantTemp(ctx, r.tmpDB, r.env.DBUser); err != nil {
		return nil, err
	}
	sr, err := a.rewriteHosts(ctx, r.user, r.p.Root, r.env.URL, hosts, r.tmpDB)
	if rerr := a.revokeTemp(ctx, r); err == nil {
		err = rerr
	}
	if err != nil {
		return nil, err
	}
	sql, err := render("copy-options.sql.tmpl", map[string]any{"DBName": r.tmpDB, "URL": cleanURL(r.env.URL), "Noindex": r.env.Type != "production"})
	if err != nil {
		return nil, err
	}
	if _, err := a.run(ctx, command{argv: mariadbArgv, stdin: bytes.NewReader(sql)}); err != nil {
		return nil, err
	}
	return sr, nil
}

// revokeTemp takes back the user's rights on the temporary database.
func (a *agent) revokeTemp(ctx context.Context, r *restore) error {
	return a.revokeGrant(ctx, r.tmpDB, r.env.DBUser)
}

// grantTemp lets user work on the temporary database tmp (the helper runs
// as the environment's user and rewrites URLs there).
func (a *agent) grantTemp(ctx context.Context, tmp, user string) error {
	grant := fmt.Sprintf("GRANT ALL PRIVILEGES ON %s.* TO %s@'localhost';\n", ident(tmp), sqlString(user))
	_, err := a.run(ctx, command{argv: mariadbArgv, stdin: strings.NewReader(grant)})
	return err
}

// revokeGrant takes back user's rights on db when it has any.
func (a *agent) revokeGrant(ctx context.Context, db, user string) error {
	q := fmt.Sprintf("SELECT COUNT(*) FROM mysql.db WHERE Db = %s AND User = %s AND Host = 'localhost';\n", sqlString(db), sqlString(user))
	out, err := a.run(ctx, command{argv: mariadbArgv, stdin: strings.NewReader(q)})
	if err != nil || strings.TrimSpace(string(out)) == "0" {
		return err
	}
	revoke := fmt.Sprintf("REVOKE ALL PRIVILEGES ON %s.* FROM %s@'localhost';\n", ident(db), sqlString(user))
	_, err = a.run(ctx, command{argv: mariadbArgv, stdin: strings.NewReader(revoke)})
	return err
}

// swapTables moves the tables of db named in only (every table when only
// is nil) into old and every table of tmp into db with one RENAME TABLE,
// which MariaDB carries out all or nothing.
func (a *agent) swapTables(ctx context.Context, db, tmp, old string, only []string) error {
	live, _, err := a.baseTables(ctx, db)
	if err != nil {
		return err
	}
	live = onlyTables(live, only)
	staged, _, err := a.baseTables(ctx, tmp)
	if err != nil {
		return err
	}
	var renames []string
	for _, t := range live {
		renames = append(renames, ident(db)+"."+ident(t)+" TO "+ident(old)+"."+ident(t))
	}
	for _, t := range staged {
		renames = append(renames, ident(tmp)+"."+ident(t)+" TO "+ident(db)+"."+ident(t))
	}
	sql := fmt.Sprintf("CREATE DATABASE IF NOT EXISTS %s CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;\n", ident(old))
	if len(renames) > 0 {
		sql += "RENAME TABLE " + strings.Join(renames, ", ") + ";\n"
	}
	start := time.Now()
	if _, err := a.run(ctx, command{argv: mariadbArgv, stdin: strings.NewReader(sql)}); err != nil {
		return err
	}
	a.event("switch", fmt.Sprintf("swapped the database in one RENAME TABLE: %d tables in, %d out, in %.2f s",
		len(staged), len(live), time.Since(start).Seconds()))
	return nil
}

// unswapTables undoes swapTables(db, tmp, old, only) when it happened: the
// swap empties tmp, so a tmp that still holds tables means there is
// nothing to undo.
func (a *agent) unswapTables(ctx context.Context, db, tmp, old string, only []string) error {
	staged, _, err := a.baseTables(ctx, tmp)
	if err != nil {
		return err
	}
	if len(staged) > 0 {
		return nil
	}
	saved, oldExists, err := a.baseTables(ctx, old)
	if err != nil || !oldExists {
		return err
	}
	live, _, err := a.baseTables(ctx, db)
	if err != nil {
		return err
	}
	live = onlyTables(live, only)
	var renames []string
	for _, t := range live {
		renames = append(renames, ident(db)+"."+ident(t)+" TO "+ident(tmp)+"."+ident(t))
	}
	for _, t := range saved {
		renames = append(renames, ident(old)+"."+ident(t)+" TO "+ident(db)+"."+ident(t))
	}
	sql := fmt.Sprintf("CREATE DATABASE IF NOT EXISTS %s CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;\n", ident(tmp))
	if len(renames) > 0 {
		sql += "RENAME TABLE " + strings.Join(renames, ", ") + ";\n"
	}
	if _, err := a.run(ctx, command{argv: mariadbArgv, stdin: strings.NewReader(sql)}); err != nil {
		return err
	}
	a.event("restore", fmt.Sprintf("the database's %d tables are back", len(saved)))
	return nil
}

// dropRestoreDatabases removes the temporary and the old database of a
// restore, and the user's rights on the temporary one.
func (a *agent) dropRestoreDatabases(ctx context.Context, r *restore) error {
	if err := a.revokeTemp(ctx, r); err != nil {
		return err
	}
	sql := fmt.Sprintf("DROP DATABASE IF EXISTS %s;\nDROP DATABASE IF EXISTS %s;\n", ident(r.tmpDB), ident(r.oldDB))
	_, err := a.run(ctx, command{argv: mariadbArgv, stdin: strings.NewReader(sql)})
	return err
}

// baseTables lists db's base tables (views stay where they are) and
// reports whether db exists.
func (a *agent) baseTables(ctx context.Context, db string) ([]string, bool, error) {
	q := fmt.Sprintf("SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %[1]s;\n"+
		"SELECT HEX(table_name) FROM information_schema.TABLES WHERE table_schema = %[1]s AND table_type = 'BASE TABLE' ORDER BY table_name;\n", sqlString(db))
	out, err := a.run(ctx, command{argv: mariadbArgv, stdin: strings.NewReader(q)})
	if err != nil {
		return nil, false, err
	}
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	var tables []string
	for _, l := range lines[1:] {
		name, err := decodeHexName(l)
		if err != nil {
			return nil, false, err
		}
		tables = append(tables, name)
	}
	return tables, strings.TrimSpace(lines[0]) == "1", nil
}

// onlyTables is tables without those not in only; all of them when only
// is nil.
func onlyTables(tables, only []string) []string {
	if only == nil {
		return tables
	}
	var out []string
	for _, t := range tables {
		if contains(only, t) {
			out = append(out, t)
		}
	}
	return out
}

// ident quotes a MariaDB identifier.
func ident(name string) string { return "`" + strings.ReplaceAll(name, "`", "``") + "`" }
