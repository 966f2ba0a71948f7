//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pressluft/pressluft"
	"github.com/pressluft/pressluft/agent"
	"github.com/pressluft/pressluft/ansible"
	"github.com/pressluft/pressluft/e2e/testnode"
	"github.com/pressluft/pressluft/s3"
	"github.com/pressluft/pressluft/ssh"
)

// bkProgress logs a job's events and lets a test act on one.
type bkProgress struct {
	t      *testing.T
	mu     sync.Mutex
	events []string
	on     func(step, msg string)
}

func (p *bkProgress) Event(step, level, msg string) {
	p.mu.Lock()
	p.events = append(p.events, step+": "+msg)
	on := p.on
	p.mu.Unlock()
	p.t.Logf("  [%s] %s: %s", level, step, msg)
	if on != nil {
		on(step, msg)
	}
}
func (p *bkProgress) Output(text string) { p.t.Logf("  | %s", strings.TrimSpace(text)) }

func TestBackupAgentScratch(t *testing.T) {
	ctx := ctxFor(t, 90*time.Minute)
	lab, err := testnode.NewLab(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lab.Close() })
	keyPEM, err := ssh.NewKeyPair()
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := ssh.PublicKeyLine(keyPEM)
	web, err := lab.Up(ctx, "bk-web", testnode.WithAuthorizedKey(pub))
	if err != nil {
		t.Fatal(err)
	}
	pool, err := ssh.NewPool(keyPEM, func(context.Context, string, string, string) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	n := &pressluft.Node{ID: "bk", Host: web.IP, SSHPort: 22, SSHUser: "root"}
	if err := pool.Probe(ctx, n, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	p := &bkProgress{t: t}

	// Provision with the shipped playbook, without a control plane.
	start := time.Now()
	dir, err := ansible.Extract(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cpDir, _ := os.MkdirTemp("", "bkcp")
	defer os.RemoveAll(cpDir)
	known, _ := ssh.KnownHostsLine(n.Host, 22, n.HostKey)
	runner := &ansible.Runner{Dir: dir, Binary: "ansible-playbook", ControlPathDir: cpDir, TempDir: t.TempDir()}
	if _, err := runner.Run(ctx, ansible.Run{Playbook: "node_provision", Target: ansible.Target{Host: n.Host, Port: 22, User: "root", PrivateKey: keyPEM, KnownHosts: known},
		Progress: discard{}}); err != nil {
		t.Fatalf("provision: %v", err)
	}
	t.Logf("provisioned in %s", time.Since(start).Round(time.Second))

	client := agent.New(pool)
	host := "bk-production." + strings.ReplaceAll(web.IP, ".", "-") + ".sslip.io"
	prod := pressluft.EnvSpec{Name: "bk-production", Type: "production", ReleaseID: "r1", URL: "http://" + host, ServerNames: []string{host},
		DBName: "bk_production", DBUser: "bk_production", DBPassword: "bk-production-password-1"}
	if _, err := client.CreateEnv(ctx, n, prod, pressluft.WordPressInstall{Title: "Backup Roastery", AdminUser: "admin", AdminEmail: "ops@example.com",
		AdminPassword: "admin-password-1"}, p); err != nil {
		t.Fatalf("create env: %v", err)
	}
	env := prod.Name
	c := previewClient(web.IP)
	mustServe := func(t *testing.T, url, title string) {
		t.Helper()
		if code, body, _ := fetch(t, c, url+"/"); code != 200 || !strings.Contains(body, title) {
			t.Fatalf("%s answers %d", url, code)
		}
	}
	backup := func(t *testing.T, id, scope string) *pressluft.BackupFacts {
		t.Helper()
		start := time.Now()
		f, err := client.CreateBackup(ctx, n, prod, pressluft.BackupSpec{ID: id, Scope: scope, CreatedAt: time.Now()}, p)
		if err != nil {
			t.Fatalf("backup %s: %v", id, err)
		}
		t.Logf("backup %s (%s): %d bytes in %s", id, scope, f.Size, time.Since(start).Round(10*time.Millisecond))
		return f
	}
	release := 0
	restoreInto := func(target pressluft.EnvSpec, src pressluft.BackupSource, pr pressluft.Progress) (*pressluft.EnvFacts, error) {
		release++
		target.ReleaseID = fmt.Sprintf("restore-%d", release)
		return client.RestoreBackup(ctx, n, target, src, pr)
	}

	if os.Getenv("BK_ONLY") == "figures" {
		fake := startFakeS3(t, web.HostIP, "pl-backups")
		target := pressluft.OffsiteTarget{Endpoint: fake.addr, Region: "us-east-1", Bucket: "pl-backups", AccessKey: fake.accessKey, SecretKey: "scratch-secret-12345"}
		bkFigures(t, ctx, client, n, web, prod, &target, p)
		return
	}
	var b1 *pressluft.BackupFacts
	if !t.Run("backup, change, restore: every table and file as backed up", func(t *testing.T) {
		for round := 1; round <= 2; round++ {
			changeContent(t, web, env)
			want := envState(t, web, env)
			id := fmt.Sprintf("bk-round-%d", round)
			f := backup(t, id, "full")
			if again := backup(t, id, "full"); again.ManifestSHA256 != f.ManifestSHA256 {
				t.Fatal("a re-run of a complete backup changed it")
			}
			if f.Manifest.Tables["wp_posts"] == 0 || f.Manifest.FileCount == 0 || f.Manifest.WPVersion == "" || f.Manifest.MariaDBVersion == "" {
				t.Fatalf("manifest %+v", f.Manifest)
			}
			b1 = f
			changeContent(t, web, env)
			facts, err := restoreInto(prod, pressluft.BackupSource{ID: id, EnvName: env, ManifestSHA256: f.ManifestSHA256}, p)
			if err != nil {
				t.Fatalf("restore: %v", err)
			}
			if facts.ReleaseID != fmt.Sprintf("restore-%d", release) || facts.Home != prod.URL {
				t.Fatalf("restore facts %+v", facts)
			}
			if d := diffState(want, envState(t, web, env)); len(d) > 0 {
				t.Fatalf("round %d differs after the restore: %v", round, d)
			}
			mustServe(t, prod.URL, "Backup Roastery")
			if out := inNode(t, web, "mariadb", "-N", "-e", "SHOW DATABASES LIKE 'pl%'"); strings.TrimSpace(out) != "" {
				t.Fatalf("databases left: %s", out)
			}
			if out := inNode(t, web, "ls", "-A", "/srv/pressluft/"+env, "/srv/pressluft/"+env+"/shared"); strings.Contains(out, ".pressluft-restore") || strings.Contains(out, ".uploads-") {
				t.Fatalf("left over: %s", out)
			}
		}
	}) {
		return
	}

	fake := startFakeS3(t, web.HostIP, "pl-backups")
	target := pressluft.OffsiteTarget{Endpoint: fake.addr, Region: "us-east-1", Bucket: "pl-backups", AccessKey: fake.accessKey, SecretKey: "scratch-secret-12345"}
	key := "agency/bk/bk-production/" + b1.Manifest.BackupID
	t.Run("offsite: upload, refusals, restore from offsite after the node copy is gone", func(t *testing.T) {
		wrong := target
		wrong.AccessKey = "WRONGKEY"
		if err := client.UploadBackup(ctx, n, env, b1.Manifest.BackupID, wrong, key, p); pressluft.ErrorCode(err) != pressluft.EOffsiteAuth ||
			strings.Contains(pressluft.ErrorMessage(err), target.SecretKey) {
			t.Fatalf("wrong key: %v", err)
		}
		gone := target
		gone.Endpoint = web.HostIP + ":1"
		if err := client.UploadBackup(ctx, n, env, b1.Manifest.BackupID, gone, key, p); pressluft.ErrorCode(err) != pressluft.EOffsiteUnreachable {
			t.Fatalf("closed port: %v", err)
		}
		start := time.Now()
		if err := client.UploadBackup(ctx, n, env, b1.Manifest.BackupID, target, key, p); err != nil {
			t.Fatalf("upload: %v", err)
		}
		t.Logf("upload of %d bytes: %s", b1.Size, time.Since(start).Round(10*time.Millisecond))
		st := s3.Target{Endpoint: fake.addr, Region: "us-east-1", Bucket: "pl-backups", AccessKey: fake.accessKey, SecretKey: "x"}
		var buf bytes.Buffer
		if _, err := s3.Download(ctx, st, key+"/manifest.json", &buf); err != nil || sha(buf.Bytes()) != b1.ManifestSHA256 {
			t.Fatalf("offsite manifest: %v", err)
		}
		want := envState(t, web, env)
		changeContent(t, web, env)
		inNode(t, web, "rm", "-rf", "/srv/pressluft/"+env+"/backups/"+b1.Manifest.BackupID)
		src := pressluft.BackupSource{ID: b1.Manifest.BackupID, EnvName: env, ManifestSHA256: b1.ManifestSHA256}
		if _, err := restoreInto(prod, src, p); pressluft.ErrorCode(err) != pressluft.EBackupUnavailable {
			t.Fatalf("restore of a backup that is nowhere: %v", err)
		}
		src.Offsite, src.OffsiteKey = &target, key
		if _, err := restoreInto(prod, src, p); err != nil {
			t.Fatalf("restore from offsite: %v", err)
		}
		if d := diffState(want, envState(t, web, env)); len(d) > 0 {
			t.Fatalf("differs after the restore from offsite: %v", d)
		}
		if out := inNode(t, web, "ls", "-A", "/srv/pressluft/"+env+"/backups"); strings.Contains(out, ".restore-") {
			t.Fatalf("download left: %s", out)
		}
		// Delete: local (gone already) and offsite; again is fine.
		for i := 0; i < 2; i++ {
			if err := client.DeleteBackup(ctx, n, env, b1.Manifest.BackupID, &target, key); err != nil {
				t.Fatalf("delete: %v", err)
			}
		}
		if _, err := s3.Download(ctx, st, key+"/manifest.json", io.Discard); !s3.IsNotFound(errUnwrap(err)) {
			t.Fatalf("offsite copy after the delete: %v", err)
		}
	})

	t.Run("a corrupted part is refused and nothing changes", func(t *testing.T) {
		f := backup(t, "bk-corrupt", "db")
		before := envState(t, web, env)
		path := "/srv/pressluft/" + env + "/backups/bk-corrupt/db.sql.zst"
		inNode(t, web, "python3", "-c", "import sys\nf=open(sys.argv[1],'r+b'); f.seek(40); c=f.read(1); f.seek(40); f.write(bytes([c[0]^1]))", path)
		_, err := restoreInto(prod, pressluft.BackupSource{ID: "bk-corrupt", EnvName: env, ManifestSHA256: f.ManifestSHA256}, p)
		if pressluft.ErrorCode(err) != pressluft.EChecksumMismatch {
			t.Fatalf("corrupted: %v", err)
		}
		if d := diffState(before, envState(t, web, env)); len(d) > 0 {
			t.Fatalf("a refused restore changed %v", d)
		}
		_, err = restoreInto(prod, pressluft.BackupSource{ID: "bk-corrupt", EnvName: env, ManifestSHA256: strings.Repeat("0", 64)}, p)
		if pressluft.ErrorCode(err) != pressluft.EChecksumMismatch {
			t.Fatalf("another manifest: %v", err)
		}
	})

	t.Run("reads: ranges of a part hash to the manifest", func(t *testing.T) {
		f := backup(t, "bk-read", "full")
		for _, part := range f.Manifest.Parts {
			half := part.Size / 2
			var all []byte
			for _, r := range [][2]int64{{0, half}, {half, -1}} {
				rc, size, err := client.ReadBackup(ctx, n, env, "bk-read", part.Name, r[0], r[1])
				if err != nil {
					t.Fatal(err)
				}
				b, err := io.ReadAll(rc)
				rc.Close()
				if err != nil || size != part.Size {
					t.Fatalf("%s %v: %v size %d", part.Name, r, err, size)
				}
				all = append(all, b...)
			}
			if sha(all) != part.SHA256 {
				t.Fatalf("%s read back hashes differently", part.Name)
			}
		}
		rc, _, err := client.ReadBackup(ctx, n, env, "bk-read", "manifest.json", 0, -1)
		if err != nil {
			t.Fatal(err)
		}
		m, _ := io.ReadAll(rc)
		rc.Close()
		if sha(m) != f.ManifestSHA256 {
			t.Fatal("manifest read back differs")
		}
		if _, _, err := client.ReadBackup(ctx, n, env, "bk-missing", "db.sql.zst", 0, -1); pressluft.ErrorCode(err) != pressluft.EBackupUnavailable {
			t.Fatalf("missing backup: %v", err)
		}
	})

	t.Run("killed in the middle of a restore, run again, converges", func(t *testing.T) {
		changeContent(t, web, env)
		want := envState(t, web, env)
		f := backup(t, "bk-kill", "full")
		src := pressluft.BackupSource{ID: "bk-kill", EnvName: env, ManifestSHA256: f.ManifestSHA256}
		for _, at := range []string{"import", "switch"} {
			changeContent(t, web, env)
			var once sync.Once
			kp := &bkProgress{t: t, on: func(step, msg string) {
				if step == at {
					once.Do(func() { inNode(t, web, "sh", "-c", "kill -KILL $(cat /var/lib/pressluft/locks/"+env+".lock)") })
				}
			}}
			target := prod
			target.ReleaseID = "restore-kill-" + at
			_, err := client.RestoreBackup(ctx, n, target, src, kp)
			if pressluft.ErrorCode(err) != pressluft.EAgentLost {
				t.Fatalf("killed at %s: %v", at, err)
			}
			if _, err := client.RestoreBackup(ctx, n, target, src, p); err != nil {
				t.Fatalf("run again after a kill at %s: %v", at, err)
			}
			if d := diffState(want, envState(t, web, env)); len(d) > 0 {
				t.Fatalf("after a kill at %s and a re-run: %v", at, d)
			}
			if out := inNode(t, web, "mariadb", "-N", "-e", "SHOW DATABASES LIKE 'pl%'"); strings.TrimSpace(out) != "" {
				t.Fatalf("databases left: %s", out)
			}
			mustServe(t, prod.URL, "Backup Roastery")
		}
	})

	t.Run("a backup of production restored into staging gets staging's URLs", func(t *testing.T) {
		shost := "bk-staging." + strings.ReplaceAll(web.IP, ".", "-") + ".sslip.io"
		staging := pressluft.EnvSpec{Name: "bk-staging", Type: "staging", ReleaseID: "s1", URL: "http://" + shost, ServerNames: []string{shost},
			DBName: "bk_staging", DBUser: "bk_staging", DBPassword: "bk-staging-password-1"}
		if _, err := client.CopyEnv(ctx, n, staging, prod, p); err != nil {
			t.Fatalf("copy: %v", err)
		}
		changeContent(t, web, env)
		f := backup(t, "bk-cross", "full")
		facts, err := restoreInto(staging, pressluft.BackupSource{ID: "bk-cross", EnvName: env, ManifestSHA256: f.ManifestSHA256}, p)
		if err != nil {
			t.Fatalf("cross restore: %v", err)
		}
		if facts.Home != staging.URL || facts.SearchReplace == nil || facts.SearchReplace.Cells == 0 {
			t.Fatalf("cross restore facts %+v %+v", facts, facts.SearchReplace)
		}
		left := inNode(t, web, "mariadb", "-N", "-e", "SELECT COUNT(*) FROM bk_staging.wp_posts WHERE post_content LIKE '%bk-production.%'")
		if strings.TrimSpace(left) != "0" {
			t.Fatalf("%s posts still link to production", left)
		}
		if got := inNode(t, web, "mariadb", "-N", "-e", "SELECT COUNT(*) FROM bk_staging.wp_posts"); strings.TrimSpace(got) != fmt.Sprint(f.Manifest.Tables["wp_posts"]) {
			t.Fatalf("staging has %s posts, the backup %d", got, f.Manifest.Tables["wp_posts"])
		}
		mustServe(t, staging.URL, "Backup Roastery")
	})

	t.Run("figures beside the raw work", func(t *testing.T) { bkFigures(t, ctx, client, n, web, prod, &target, p) })
}

func bkFigures(t *testing.T, ctx context.Context, client *agent.Client, n *pressluft.Node, web *testnode.Node, prod pressluft.EnvSpec, off *pressluft.OffsiteTarget, p pressluft.Progress) {
	env := prod.Name
	root := "/srv/pressluft/" + env
	// ~200 MB of rows (part random, part text) and 200 MB of incompressible uploads.
	inNode(t, web, "mariadb", prod.DBName, "-e", "CREATE TABLE IF NOT EXISTS wp_bench (id INT AUTO_INCREMENT PRIMARY KEY, body LONGTEXT) ENGINE=InnoDB;"+
		"INSERT INTO wp_bench (body) SELECT CONCAT(HEX(RANDOM_BYTES(256)), REPEAT(CONCAT('lorem ipsum dolor sit amet ', seq, ' '), 40)) FROM seq_1_to_100000;")
	inNode(t, web, "sh", "-c", "mkdir -p "+root+"/shared/uploads/bench && for i in $(seq 1 200); do head -c 1048576 /dev/urandom > "+root+"/shared/uploads/bench/f$i.jpg; done && chown -R "+env+": "+root+"/shared/uploads/bench && sync")
	t.Logf("data: %s", inNode(t, web, "sh", "-c", "mariadb -N -e \"SELECT ROUND(SUM(data_length+index_length)/1e6) FROM information_schema.tables WHERE table_schema='"+prod.DBName+"'\"; du -sm "+root+"/shared/uploads"))
	timed := func(script string) time.Duration {
		start := time.Now()
		inNode(t, web, "sh", "-c", script)
		return time.Since(start)
	}
	rawDump := `mysqldump --single-transaction --quick --hex-blob --routines --triggers --default-character-set=utf8mb4 ` + prod.DBName + ` | zstd -q -3 > /root/raw.sql.zst`
	rawTar := `tar -C ` + root + `/current -cf - --exclude=wp-content/uploads --exclude=wp-content/cache wp-content -C ` + root + `/shared uploads wp-config.php wp-config.d | zstd -q -3 > /root/raw.tar.zst`
	var backups, rawSeq, rawPar, restores, rawRestores, uploads, rawUploads []time.Duration
	for i := 0; i < 3; i++ {
		rawDB := timed("rm -f /root/raw.*; " + rawDump)
		rawFiles := timed(rawTar)
		rawSeq = append(rawSeq, rawDB+rawFiles)
		rawPar = append(rawPar, timed("rm -f /root/raw.*; ("+rawDump+") & ("+rawTar+"); wait"))
		id := fmt.Sprintf("bk-figure-%d", i)
		start := time.Now()
		f, err := client.CreateBackup(ctx, n, prod, pressluft.BackupSpec{ID: id, Scope: "full", CreatedAt: time.Now()}, p)
		if err != nil {
			t.Fatal(err)
		}
		backups = append(backups, time.Since(start))
		t.Logf("round %d: backup %s (%.0f MB unpacked, %.0f MB packed); raw db %s + files %s, parallel %s", i, backups[i].Round(10*time.Millisecond),
			float64(f.Manifest.Parts[0].Unpacked+f.Manifest.Parts[1].Unpacked)/1e6, float64(f.Size)/1e6,
			rawDB.Round(10*time.Millisecond), rawFiles.Round(10*time.Millisecond), rawPar[i].Round(10*time.Millisecond))

		rawRestores = append(rawRestores, timed(`mariadb -e 'DROP DATABASE IF EXISTS rawimport; CREATE DATABASE rawimport' && zstd -dc /root/raw.sql.zst | mariadb rawimport && rm -rf /root/rawx && mkdir /root/rawx && zstd -dc /root/raw.tar.zst | tar -C /root/rawx -xf - && mariadb -e 'DROP DATABASE rawimport' && rm -rf /root/rawx`))
		start = time.Now()
		target := prod
		target.ReleaseID = fmt.Sprintf("restore-figure-%d", i)
		if _, err := client.RestoreBackup(ctx, n, target, pressluft.BackupSource{ID: id, EnvName: env, ManifestSHA256: f.ManifestSHA256}, p); err != nil {
			t.Fatal(err)
		}
		restores = append(restores, time.Since(start))
		t.Logf("round %d: restore %s, raw import + extract %s", i, restores[i].Round(10*time.Millisecond), rawRestores[i].Round(10*time.Millisecond))

		var curl []string
		for _, part := range []string{"db.sql.zst", "files.tar.zst", "manifest.json"} {
			curl = append(curl, fmt.Sprintf(`curl -sS -f --aws-sigv4 'aws:amz:us-east-1:s3' --user '%s:%s' -T %s http://%s/%s/raw-%d/%s`,
				off.AccessKey, off.SecretKey, "/srv/pressluft/"+env+"/backups/"+id+"/"+part, off.Endpoint, off.Bucket, i, part))
		}
		rawUploads = append(rawUploads, timed(strings.Join(curl, " && ")))
		start = time.Now()
		if err := client.UploadBackup(ctx, n, env, id, *off, fmt.Sprintf("figure/%d", i), p); err != nil {
			t.Fatal(err)
		}
		uploads = append(uploads, time.Since(start))
		t.Logf("round %d: upload %s, curl PUTs %s", i, uploads[i].Round(10*time.Millisecond), rawUploads[i].Round(10*time.Millisecond))
		if err := client.DeleteBackup(ctx, n, env, id, off, fmt.Sprintf("figure/%d", i)); err != nil {
			t.Fatal(err)
		}
		inNode(t, web, "rm", "-rf", "/srv/pressluft/"+env+"/backups/"+id)
	}
	m := func(d []time.Duration) time.Duration { return median(d).Round(10 * time.Millisecond) }
	t.Logf("FIGURE full backup of ~400 MB (184 MB dump + 213 MB files), median of 3: %s; raw mysqldump|zstd + tar|zstd %s sequential, %s in parallel; throughput %.2f of sequential raw, %.2f of parallel raw (goal ≥ 0.8)",
		m(backups), m(rawSeq), m(rawPar), float64(median(rawSeq))/float64(median(backups)), float64(median(rawPar))/float64(median(backups)))
	t.Logf("FIGURE restore of the same, median of 3: %s; raw import + extract %s; ratio %.2f (goal ≤ 1.5)",
		m(restores), m(rawRestores), float64(median(restores))/float64(median(rawRestores)))
	t.Logf("FIGURE offsite upload of the same (243 MB), median of 3: %s; curl PUTs of the same files %s; throughput %.2f (goal ≥ 0.8)",
		m(uploads), m(rawUploads), float64(median(rawUploads))/float64(median(uploads)))
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func errUnwrap(err error) error {
	var e *s3.Error
	if err != nil && errors.As(err, &e) {
		return e.Err
	}
	return err
}
