package nodeagent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/pressluft/pressluft/agent/protocol"
)

// backupPaths are where one backup of an environment lives on the node.
type backupPaths struct {
	Dir     string // backups/<id>: complete backups only
	Partial string // backups/.<id>.partial: built here, renamed when complete
}

func backupPathsFor(env, id string) backupPaths {
	dir := filepath.Join(protocol.Root, env, "backups")
	return backupPaths{Dir: filepath.Join(dir, id), Partial: filepath.Join(dir, "."+id+".partial")}
}

// backupCreate writes a backup of env into its backups directory: the
// database dump and the files archive at the same time, then manifest.json,
// then one rename makes it complete. A complete backup of the same id is
// returned as it is; a partial one left by an interrupted run is removed.
func (a *agent) backupCreate(ctx context.Context, env *protocol.Env, b *protocol.Backup) (*protocol.BackupResult, error) {
	bp := backupPathsFor(env.Name, b.ID)
	if res, ok, err := a.completeBackup(bp.Dir, b.ID); err != nil || ok {
		if ok {
			a.event("backup", "backup "+b.ID+" is complete: left as it is")
		}
		return res, err
	}
	p := pathsFor(env.Name, "")
	u, found, err := lookupEnvUser(p)
	if err != nil {
		return nil, err
	}
	if !found || !exists(p.Root) {
		return nil, errorf(protocol.ErrNotFound, "environment %s does not exist on this node", env.Name)
	}
	withDB := b.Scope != "files"
	withFiles := b.Scope != "db"
	if withFiles && !exists(p.Current+"/wp-content") {
		return nil, errorf(protocol.ErrNotFound, "%s/current has no wp-content", p.Root)
	}
	if err := removeAll(bp.Partial); err != nil {
		return nil, err
	}

	// What goes in, and whether it fits, before anything is written.
	start := time.Now()
	var db dbFacts
	if withDB {
		if db, err = a.databaseFacts(ctx, env.DBName); err != nil {
			return nil, err
		}
	} else if db.Version, err = a.mariadbVersion(ctx); err != nil {
		return nil, err
	}
	set := &fileSet{}
	if withFiles {
		if set, err = collectFiles(ctx, p); err != nil {
			if ctx.Err() != nil {
				return nil, errorf(protocol.ErrCancelled, "cancelled while listing the files")
			}
			return nil, err
		}
	}
	estimate := db.Bytes + set.bytes
	need := []spaceNeed{{path: protocol.Root, bytes: estimate + estimate/10, what: "the backup's estimate ×1.1"}}
	if err := checkSpace(need, freeSpace); err != nil {
		return nil, err
	}
	a.event("space", fmt.Sprintf("room for the backup: database %s, files %s (%d files) in %.2f s",
		mb(db.Bytes), mb(set.bytes), set.files, time.Since(start).Seconds()))
	if len(set.skipped) > 0 {
		a.warn("archive", fmt.Sprintf("left out %d entries that a restore could not write safely: %s",
			len(set.skipped), truncate(strings.Join(set.skipped, ", "), 600)))
	}

	backupsDir := filepath.Dir(bp.Dir)
	if err := os.MkdirAll(backupsDir, 0o700); err != nil {
		return nil, err
	}
	if err := os.Mkdir(bp.Partial, 0o700); err != nil {
		return nil, err
	}
	complete := false
	defer func() {
		// A failed or cancelled backup leaves nothing behind (a killed one
		// is removed by the next run or by backup_delete).
		if !complete {
			_ = removeAll(bp.Partial)
		}
	}()
	if err := a.installHelper(); err != nil {
		return nil, err
	}
	m := &protocol.Manifest{
		Format: manifestFormat, BackupID: b.ID, Scope: b.Scope, Environment: env.Name,
		URL: cleanURL(env.URL), SiteURL: cleanURL(env.URL), TablePrefix: "wp_", CreatedAt: b.CreatedAt.UTC(),
		MariaDBVersion: db.Version,
	}
	var dbPart, filesPart protocol.ManifestPart
	var health protocol.Health
	var healthErr error
	steps := []func(context.Context) error{
		func(ctx context.Context) error {
			// WordPress's view is informational: a broken site is still backed up.
			health, healthErr = a.health(ctx, u, p)
			return nil
		},
	}
	if withDB {
		steps = append(steps, func(ctx context.Context) (err error) {
			dbPart, m.Tables, err = a.dumpDatabase(ctx, env.DBName, filepath.Join(bp.Partial, protocol.PartDB), db.Tables)
			return err
		})
	}
	if withFiles {
		steps = append(steps, func(ctx context.Context) (err error) {
			filesPart, err = a.archiveFiles(ctx, set, filepath.Join(bp.Partial, protocol.PartFiles))
			return err
		})
	}
	if err := parallel(ctx, steps...); err != nil {
		if ctx.Err() != nil {
			return nil, errorf(protocol.ErrCancelled, "cancelled while writing backup %s", b.ID)
		}
		return nil, err
	}
	if code, msg := errorCode(healthErr); healthErr != nil && code != protocol.ErrCancelled {
		a.warn("health", "WordPress did not report its versions: "+msg)
	} else if healthErr == nil {
		m.WPVersion, m.PHPVersion = health.WPVersion, health.PHPVersion
		if h := cleanURL(health.Home); h != "" && validateURL("home", h) == nil {
			m.SiteURL = h
		}
	}
	if withDB {
		m.Parts = append(m.Parts, dbPart)
	}
	if withFiles {
		m.Parts = append(m.Parts, filesPart)
		m.FileCount = set.files
	}

	data := encodeManifest(m)
	if err := writeFile(filepath.Join(bp.Partial, protocol.PartManifest), data, 0o600, 0, 0); err != nil {
		return nil, err
	}
	if err := syncDir(bp.Partial); err != nil {
		return nil, err
	}
	if err := os.Rename(bp.Partial, bp.Dir); err != nil {
		return nil, err
	}
	complete = true
	if err := syncDir(backupsDir); err != nil {
		return nil, err
	}
	res := &protocol.BackupResult{Path: bp.Dir, Manifest: *m, ManifestSHA256: sha256Hex(data), Size: backupSize(m, len(data))}
	a.event("manifest", fmt.Sprintf("backup %s is complete: %s in %.1f s", b.ID, mb(res.Size), time.Since(start).Seconds()))
	return res, nil
}

// completeBackup returns the facts of a complete backup at dir. A
// directory without a manifest was never complete (it cannot be made by
// this agent): it is reported, not trusted.
func (a *agent) completeBackup(dir, id string) (*protocol.BackupResult, bool, error) {
	data, err := readManifest(dir)
	if errors.Is(err, os.ErrNotExist) {
		if exists(dir) {
			return nil, false, errorf(protocol.ErrInternal, "%s exists without a manifest.json; remove it to back up again", dir)
		}
		return nil, false, nil
	} else if err != nil {
		return nil, false, err
	}
	sum := sha256Hex(data)
	m, err := parseManifest(data, id, sum)
	if err != nil {
		return nil, false, err
	}
	for _, p := range m.Parts {
		if fi, err := os.Stat(filepath.Join(dir, p.Name)); err != nil || fi.Size() != p.Size {
			return nil, false, errorf(protocol.ErrChecksumMismatch, "%s of the complete backup %s is missing or has another size than its manifest says", p.Name, id)
		}
	}
	return &protocol.BackupResult{Path: dir, Manifest: *m, ManifestSHA256: sum, Size: backupSize(m, len(data)), Reused: true}, true, nil
}

// dbFacts is what the space check and the manifest need of a database.
type dbFacts struct {
	Version string
	Bytes   int64    // data and index length
	Tables  []string // base tables
}

// databaseFacts asks MariaDB for its version, the database's size and its
// base tables in one round trip.
func (a *agent) databaseFacts(ctx context.Context, dbName string) (dbFacts, error) {
	sql := fmt.Sprintf(`SELECT VERSION();
SELECT COALESCE(SUM(data_length + index_length), 0) FROM information_schema.TABLES WHERE table_schema = %[1]s;
SELECT HEX(table_name) FROM information_schema.TABLES WHERE table_schema = %[1]s AND table_type = 'BASE TABLE' ORDER BY table_name;
`, sqlString(dbName))
	out, err := a.run(ctx, command{argv: mariadbArgv, stdin: strings.NewReader(sql)})
	if err != nil {
		return dbFacts{}, err
	}
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(lines) < 2 {
		return dbFacts{}, errorf(protocol.ErrCommandFailed, "mariadb answered %q to the size query", truncate(string(out), 200))
	}
	f := dbFacts{Version: strings.TrimSpace(lines[0])}
	if f.Bytes, err = strconv.ParseInt(strings.TrimSpace(lines[1]), 10, 64); err != nil {
		return dbFacts{}, errorf(protocol.ErrCommandFailed, "mariadb answered %q as the database size", truncate(lines[1], 80))
	}
	for _, l := range lines[2:] {
		name, err := decodeHexName(l)
		if err != nil {
			return dbFacts{}, err
		}
		f.Tables = append(f.Tables, name)
	}
	return f, nil
}

func (a *agent) mariadbVersion(ctx context.Context) (string, error) {
	out, err := a.run(ctx, command{argv: mariadbArgv, stdin: strings.NewReader("SELECT VERSION();\n")})
	return strings.TrimSpace(string(out)), err
}

// dumpDatabase writes mysqldump's output of db through zstd into path,
// counting each table's rows as they pass.
func (a *agent) dumpDatabase(ctx context.Context, db, path string, tables []string) (protocol.ManifestPart, map[string]int64, error) {
	start := time.Now()
	out, err := createPart(path)
	if err != nil {
		return protocol.ManifestPart{}, nil, err
	}
	defer out.abort()
	counter := newRowCounter()
	dump := prepare(ctx, command{argv: []string{"mysqldump", "--single-transaction", "--quick", "--hex-blob",
		"--routines", "--triggers", "--no-tablespaces", "--default-character-set=utf8mb4", "--", db}})
	var stderr bytes.Buffer
	dump.Stderr = &limitedBuffer{buf: &stderr, max: 1 << 20}
	stdout, err := dump.StdoutPipe()
	if err != nil {
		return protocol.ManifestPart{}, nil, err
	}
	if err := dump.Start(); err != nil {
		return protocol.ManifestPart{}, nil, err
	}
	_, copyErr := io.CopyBuffer(io.MultiWriter(counter, out), stdout, make([]byte, 1<<20))
	if copyErr != nil {
		// Unblock mysqldump before waiting for it.
		_, _ = io.Copy(io.Discard, stdout)
	}
	waitErr := dump.Wait()
	if ctx.Err() != nil {
		return protocol.ManifestPart{}, nil, errorf(protocol.ErrCancelled, "cancelled while dumping the database")
	}
	if waitErr != nil {
		return protocol.ManifestPart{}, nil, a.commandError(dump.Args, waitErr, stderr.String(), "")
	}
	if copyErr != nil {
		return protocol.ManifestPart{}, nil, copyErr
	}
	part, err := out.finish(protocol.PartDB)
	if err != nil {
		return part, nil, err
	}
	counts := counter.counts
	for _, t := range tables {
		if _, ok := counts[t]; !ok {
			counts[t] = 0
		}
	}
	var rows int64
	for _, n := range counts {
		rows += n
	}
	took := time.Since(start).Seconds()
	a.event("dump", fmt.Sprintf("dumped database %s: %d tables, %d rows, %s → %s in %.1f s (%.0f MB/s; %.2f s of it to sync)",
		db, len(counts), rows, mb(part.Unpacked), mb(part.Size), took, float64(part.Unpacked)/1e6/max(took, 0.001), out.synced.Seconds()))
	return part, counts, nil
}

// archiveFiles writes the file set as a tar through zstd into path.
func (a *agent) archiveFiles(ctx context.Context, set *fileSet, path string) (protocol.ManifestPart, error) {
	start := time.Now()
	out, err := createPart(path)
	if err != nil {
		return protocol.ManifestPart{}, err
	}
	defer out.abort()
	changed, err := writeArchive(ctx, out, set)
	if err != nil {
		if ctx.Err() != nil {
			return protocol.ManifestPart{}, errorf(protocol.ErrCancelled, "cancelled while archiving the files")
		}
		return protocol.ManifestPart{}, errorf(protocol.ErrCommandFailed, "archiving the files: %v", err)
	}
	if len(changed) > 0 {
		a.warn("archive", fmt.Sprintf("%d files changed while they were archived: %s", len(changed), truncate(strings.Join(changed, ", "), 600)))
	}
	part, err := out.finish(protocol.PartFiles)
	if err != nil {
		return part, err
	}
	took := time.Since(start).Seconds()
	a.event("archive", fmt.Sprintf("archived %d files: %s → %s in %.1f s (%.0f MB/s; %.2f s of it to sync)",
		set.files, mb(part.Unpacked), mb(part.Size), took, float64(part.Unpacked)/1e6/max(took, 0.001), out.synced.Seconds()))
	return part, nil
}

// decodeHexName reads a name MariaDB printed with HEX(): table names may
// hold any character, and --batch output would escape some of them.
func decodeHexName(s string) (string, error) {
	s = strings.TrimSpace(s)
	b := make([]byte, len(s)/2)
	for i := range b {
		v, err := strconv.ParseUint(s[2*i:2*i+2], 16, 8)
		if err != nil {
			return "", errorf(protocol.ErrCommandFailed, "mariadb answered %q as a table name", truncate(s, 80))
		}
		b[i] = byte(v)
	}
	return string(b), nil
}

// syncDir makes a rename or a new entry in dir durable.
func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
