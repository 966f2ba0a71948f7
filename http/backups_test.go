package http_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/pressluft/pressluft"
	"github.com/pressluft/pressluft/sqlite"
)

// fakeBackupOps serves backup parts from memory: parts[part] is the content.
type fakeBackupOps struct{ parts map[string][]byte }

func (f *fakeBackupOps) CreateBackup(context.Context, *pressluft.Node, pressluft.EnvSpec, pressluft.BackupSpec, pressluft.Progress) (*pressluft.BackupFacts, error) {
	panic("not used by the API")
}
func (f *fakeBackupOps) UploadBackup(context.Context, *pressluft.Node, string, string, pressluft.OffsiteTarget, string, pressluft.Progress) error {
	panic("not used by the API")
}
func (f *fakeBackupOps) RestoreBackup(context.Context, *pressluft.Node, pressluft.EnvSpec, pressluft.BackupSource, pressluft.Progress) (*pressluft.EnvFacts, error) {
	panic("not used by the API")
}
func (f *fakeBackupOps) DeleteBackup(context.Context, *pressluft.Node, string, string, *pressluft.OffsiteTarget, string) error {
	panic("not used by the API")
}
func (f *fakeBackupOps) ReadBackup(_ context.Context, _ *pressluft.Node, _, _, part string, offset, length int64) (io.ReadCloser, int64, error) {
	b, ok := f.parts[part]
	if !ok {
		return nil, 0, pressluft.Errorf(pressluft.EBackupUnavailable, "no such part")
	}
	end := int64(len(b))
	if length >= 0 {
		end = offset + length
	}
	return io.NopCloser(bytes.NewReader(b[offset:end])), int64(len(b)), nil
}

// fakeOffsite answers the connection test with err.
type fakeOffsite struct{ err error }

func (f *fakeOffsite) Test(context.Context, pressluft.OffsiteTarget) error { return f.err }
func (f *fakeOffsite) Open(context.Context, pressluft.OffsiteTarget, string, int64, int64) (io.ReadCloser, int64, error) {
	return nil, 0, pressluft.Errorf(pressluft.EOffsiteUnreachable, "not reachable in tests")
}

// activeSite creates a site whose production environment is active.
func activeSite(t *testing.T, ts *testServer, c *client, slug string) (siteID, envID string) {
	t.Helper()
	ctx := context.Background()
	nodeID := c.expect("POST", "/api/nodes", `{"name":"`+slug+`","host":"10.77.9.`+slug[len(slug)-1:]+`"}`, 201, "")["id"].(string)
	if err := ts.Nodes.SetNodeStatus(ctx, nodeID, pressluft.NodeActive, ""); err != nil {
		t.Fatal(err)
	}
	created := c.expect("POST", "/api/sites", `{"name":"S","slug":"`+slug+`","node_id":"`+nodeID+`","admin_email":"a@example.com"}`, 202, "")
	finishJob(t, ts, created["job_id"].(string), &pressluft.JobDone{EnvironmentStatus: pressluft.StatusActive,
		Release: &pressluft.Release{ID: uuid.NewString(), Source: pressluft.ReleaseInitial, Path: "/srv/pressluft/" + slug + "-production/releases/r1", Health: pressluft.HealthHealthy}})
	return created["site"].(map[string]any)["id"].(string), created["environment_id"].(string)
}

// finishJob claims the queued job id and completes it with done.
func finishJob(t *testing.T, ts *testServer, id string, done *pressluft.JobDone) {
	t.Helper()
	js := sqlite.NewJobService(ts.db)
	j, err := js.Claim(context.Background(), "w", time.Minute)
	if err != nil || j == nil || j.ID != id {
		t.Fatalf("claim %s: %+v %v", id, j, err)
	}
	if err := js.Complete(context.Background(), id, "w", done); err != nil {
		t.Fatal(err)
	}
}

func TestAPI_Backups(t *testing.T) {
	t.Parallel()
	ts := mustServer(t)
	c := ts.loggedIn(t)
	ctx := context.Background()
	siteID, envID := activeSite(t, ts, c, "acme1")
	_, otherEnv := activeSite(t, ts, c, "other2")

	c.expect("POST", "/api/environments/"+envID+"/backups", `{"scope":"everything"}`, 400, pressluft.EValidation)
	acc := c.expect("POST", "/api/environments/"+envID+"/backups", `{"scope":"full"}`, 202, "")
	backupID := acc["backup_id"].(string)
	if b := acc["backup"].(map[string]any); b["status"] != "pending" || b["site_id"] != siteID || b["trigger"] != "manual" {
		t.Fatalf("backup = %v", b)
	}
	// Not completed yet: neither restored, downloaded nor deleted.
	c.expect("POST", "/api/environments/"+envID+"/restore", `{"backup_id":"`+backupID+`"}`, 409, pressluft.EConflict)
	c.expect("GET", "/api/backups/"+backupID+"/download?part=db.sql.zst", "", 409, pressluft.EConflict)
	c.expect("DELETE", "/api/backups/"+backupID, "", 409, pressluft.EResourceBusy)

	// The node reports the backup done.
	db := []byte(strings.Repeat("INSERT INTO wp_posts VALUES (1);\n", 100))
	sum := sha256.Sum256(db)
	ts.BackupOps.(*fakeBackupOps).parts = map[string][]byte{pressluft.PartDB: db, pressluft.PartManifest: []byte(`{"format":1}`)}
	bs := sqlite.NewBackupService(ts.db, sqlite.NewJobService(ts.db))
	if err := bs.StartBackup(ctx, backupID); err != nil {
		t.Fatal(err)
	}
	facts := &pressluft.BackupFacts{Path: "/srv/pressluft/acme1-production/backups/" + backupID, ManifestSHA256: "abc", Size: int64(len(db)),
		Manifest: pressluft.BackupManifest{Format: 1, Scope: "db", Parts: []pressluft.BackupPart{{Name: pressluft.PartDB, Size: int64(len(db)), SHA256: hex.EncodeToString(sum[:])}}}}
	if err := bs.CompleteBackup(ctx, backupID, facts); err != nil {
		t.Fatal(err)
	}
	finishJob(t, ts, acc["job_id"].(string), &pressluft.JobDone{})
	got := c.expect("GET", "/api/backups/"+backupID, "", 200, "")
	if got["status"] != "completed" || got["location"] != "node" {
		t.Fatalf("backup = %v", got)
	}
	if items := c.expect("GET", "/api/environments/"+envID+"/backups", "", 200, "")["items"].([]any); len(items) != 1 {
		t.Fatalf("list = %v", items)
	}

	// Download: whole, a range, a suffix; bad ranges and parts refused.
	res := c.do("GET", "/api/backups/"+backupID+"/download?part=db.sql.zst", "")
	if res.status != 200 || res.body != string(db) || res.header.Get("ETag") != `"`+hex.EncodeToString(sum[:])+`"` || res.header.Get("Accept-Ranges") != "bytes" {
		t.Fatalf("download = %d %v", res.status, res.header)
	}
	c.header.Set("Range", "bytes=10-19")
	if res := c.do("GET", "/api/backups/"+backupID+"/download?part=db.sql.zst", ""); res.status != 206 || res.body != string(db[10:20]) ||
		res.header.Get("Content-Range") != "bytes 10-19/3300" {
		t.Fatalf("range = %d %q %v", res.status, res.body, res.header)
	}
	c.header.Set("Range", "bytes=-5")
	if res := c.do("GET", "/api/backups/"+backupID+"/download?part=db.sql.zst", ""); res.status != 206 || res.body != string(db[len(db)-5:]) {
		t.Fatalf("suffix range = %d %q", res.status, res.body)
	}
	c.header.Set("Range", "bytes=0-1,5-6")
	c.expect("GET", "/api/backups/"+backupID+"/download?part=db.sql.zst", "", 416, pressluft.ERangeNotSatisfiable)
	c.header.Set("Range", "bytes=99999-")
	c.expect("GET", "/api/backups/"+backupID+"/download?part=db.sql.zst", "", 416, pressluft.ERangeNotSatisfiable)
	c.header.Set("If-Range", `"another"`)
	if res := c.do("GET", "/api/backups/"+backupID+"/download?part=db.sql.zst", ""); res.status != 200 {
		t.Fatalf("If-Range with another ETag: %d, want the whole part", res.status)
	}
	c.header.Del("Range")
	c.header.Del("If-Range")
	c.expect("GET", "/api/backups/"+backupID+"/download?part=../../etc/passwd", "", 400, pressluft.EValidation)
	c.expect("GET", "/api/backups/"+backupID+"/download?part=files.tar.zst", "", 404, pressluft.ENotFound)

	// Another site's environment does not see the backup.
	c.expect("POST", "/api/environments/"+otherEnv+"/restore", `{"backup_id":"`+backupID+`"}`, 404, pressluft.ENotFound)
	c.expect("POST", "/api/environments/"+envID+"/restore", `{"backup_id":"nope"}`, 400, pressluft.EValidation)

	// A restore holds the environment and the backup.
	r := c.expect("POST", "/api/environments/"+envID+"/restore", `{"backup_id":"`+backupID+`"}`, 202, "")
	if env := c.expect("GET", "/api/environments/"+envID, "", 200, ""); env["status"] != pressluft.StatusRestoring {
		t.Fatalf("environment = %v", env)
	}
	c.expect("DELETE", "/api/backups/"+backupID, "", 409, pressluft.EBackupInUse)
	c.expect("POST", "/api/environments/"+envID+"/backups", `{"scope":"db"}`, 409, pressluft.EConflict)
	items := c.expect("GET", "/api/environments/"+envID+"/backups", "", 200, "")["items"].([]any)
	if pre := items[0].(map[string]any); len(items) != 2 || pre["trigger"] != "pre_restore" || pre["retention_until"] == nil {
		t.Fatalf("the restore's own backup = %v", items)
	}
	// Cancelled before it started: the environment is as it was, the
	// backup it would have taken first is failed, and the backup is free.
	c.expect("POST", "/api/jobs/"+r["job_id"].(string)+"/cancel", "", 200, "")
	if env := c.expect("GET", "/api/environments/"+envID, "", 200, ""); env["status"] != pressluft.StatusActive {
		t.Fatalf("environment after cancel = %v", env)
	}
	if pre := c.expect("GET", "/api/backups/"+items[0].(map[string]any)["id"].(string), "", 200, ""); pre["status"] != "failed" {
		t.Fatalf("pre-restore backup after cancel = %v", pre)
	}
	del := c.expect("DELETE", "/api/backups/"+backupID, "", 202, "")
	if again := c.expect("DELETE", "/api/backups/"+backupID, "", 202, ""); again["job_id"] != del["job_id"] {
		t.Fatalf("a second delete queued another job: %v %v", del, again)
	}
	c.expect("POST", "/api/environments/"+envID+"/restore", `{"backup_id":"`+backupID+`"}`, 409, pressluft.EConflict)
}

func TestAPI_BackupScheduleAndOffsite(t *testing.T) {
	t.Parallel()
	ts := mustServer(t)
	c := ts.loggedIn(t)
	_, envID := activeSite(t, ts, c, "sched3")
	path := "/api/environments/" + envID + "/backup-schedule"
	c.expect("GET", path, "", 404, pressluft.ENotFound)
	for _, bad := range []string{`{"frequency":"monthly","keep_last":3}`, `{"frequency":"daily","hour":24,"keep_last":3}`,
		`{"frequency":"daily","timezone":"Mars/Olympus","keep_last":3}`, `{"frequency":"daily"}`, `{"frequency":"weekly","weekday":7,"keep_days":3}`} {
		c.expect("PUT", path, bad, 400, pressluft.EValidation)
	}
	sch := c.expect("PUT", path, `{"frequency":"daily","hour":3,"minute":30,"timezone":"Europe/Berlin","keep_last":7}`, 200, "")
	next, _ := time.Parse(time.RFC3339, sch["next_run_at"].(string))
	if b := next.In(mustLoc(t, "Europe/Berlin")); b.Hour() != 3 || b.Minute() != 30 || !next.After(time.Now()) || sch["scope"] != "full" {
		t.Fatalf("schedule = %v", sch)
	}
	c.expect("DELETE", path, "", 204, "")
	c.expect("DELETE", path, "", 404, pressluft.ENotFound)

	off := "/api/settings/offsite"
	c.expect("GET", off, "", 404, pressluft.ENotFound)
	c.expect("POST", off+"/test", "", 409, pressluft.EConflict)
	c.expect("PUT", off, `{"endpoint":"http://s3.example.com","bucket":"b1","access_key":"AK"}`, 400, pressluft.EValidation)
	c.expect("PUT", off, `{"endpoint":"s3.example.com","bucket":"b1","access_key":"AK"}`, 400, pressluft.EValidation) // no secret yet
	got := c.expect("PUT", off, `{"endpoint":"s3.example.com:9000","bucket":"backups","prefix":"/agency/","access_key":"AK","secret_key":"TOPSECRETKEY","keep_local":2}`, 200, "")
	if got["secret_key_set"] != true || got["prefix"] != "agency" || got["keep_local"] != float64(2) {
		t.Fatalf("offsite = %v", got)
	}
	for _, p := range []string{off, "/api/settings"} {
		if body := c.do("GET", p, "").body; strings.Contains(body, "TOPSECRETKEY") || !strings.Contains(body, "backups") {
			t.Fatalf("%s: %s", p, body)
		}
	}
	c.expect("PUT", off, `{"endpoint":"s3.example.com:9000","bucket":"backups","access_key":"AK2"}`, 200, "") // keeps the secret
	c.expect("POST", off+"/test", "", 200, "")
	ts.Offsite.(*fakeOffsite).err = pressluft.Errorf(pressluft.EOffsiteAuth, "The target refused the access key.")
	c.expect("POST", off+"/test", "", 502, pressluft.EOffsiteAuth)
	c.expect("DELETE", off, "", 204, "")
	c.expect("GET", off, "", 404, pressluft.ENotFound)
}

func mustLoc(t *testing.T, name string) *time.Location {
	t.Helper()
	l, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return l
}
