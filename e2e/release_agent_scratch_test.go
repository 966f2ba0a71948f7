//go:build e2e

package e2e

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pressluft/pressluft"
	"github.com/pressluft/pressluft/agent"
	"github.com/pressluft/pressluft/ansible"
	"github.com/pressluft/pressluft/e2e/testnode"
	"github.com/pressluft/pressluft/ssh"
)

// rlFiles is a tree of files by slash path.
type rlFiles map[string][]byte

// rlWPContent reads the wp-content of the environment's current release
// from the node's root (without uploads) and adds extra.
func rlWPContent(t *testing.T, web *testnode.Node, env string, extra rlFiles) rlFiles {
	t.Helper()
	root := filepath.Join(web.Root, "srv/pressluft", env, "current/wp-content")
	files := rlFiles{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if rel == "uploads" {
			return filepath.SkipDir
		}
		if d.Type().IsRegular() {
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			files["wp-content/"+filepath.ToSlash(rel)] = data
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range extra {
		files[k] = v
	}
	return files
}

func rlTarGz(t *testing.T, files rlFiles) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for name, data := range files {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), ModTime: time.Now(), Typeflag: tar.TypeReg})
		tw.Write(data)
	}
	tw.Close()
	gz.Close()
	return buf.Bytes()
}

func rlZip(t *testing.T, files rlFiles) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, data := range files {
		w, _ := zw.Create(name)
		w.Write(data)
	}
	zw.Close()
	return buf.Bytes()
}

func rlMarker(name, value string) []byte {
	return []byte(fmt.Sprintf("<?php\nadd_action('wp_head', function () { echo '<meta name=\"%s\" content=\"%s\">'; });\n", name, value))
}

func rlTheme(version string) []byte {
	return []byte("/*\nTheme Name: RL Theme\nVersion: " + version + "\n*/\n")
}

// rlCoreZip is the node's WordPress as a wordpress.org package of version
// 6.1.99 whose database version is one ahead.
func rlCoreZip(t *testing.T, web *testnode.Node) []byte {
	t.Helper()
	root := filepath.Join(web.Root, "usr/share/wordpress")
	files := rlFiles{}
	filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if rel == "wp-content" || rel == "wp-config.php" {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() {
			data, _ := os.ReadFile(path)
			if rel == "wp-includes/version.php" {
				data = []byte(strings.Replace(strings.Replace(string(data), "'6.1.9'", "'6.1.99'", 1), "53496", "53497", 1))
			}
			files["wordpress/"+filepath.ToSlash(rel)] = data
		}
		return nil
	})
	return rlZip(t, files)
}

func rlHello(version string) []byte {
	return []byte(fmt.Sprintf("<?php\n/*\n * Plugin Name: RL Hello\n * Version: %s\n */\nadd_action('wp_head', function () { echo '<meta name=\"rl-hello\" content=\"%s\">'; });\n", version, version))
}

// rlServe serves files over HTTP on the node's host-side address.
func rlServe(t *testing.T, hostIP string, files map[string][]byte) string {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(hostIP, "0"))
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data, ok := files[strings.TrimPrefix(r.URL.Path, "/")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write(data)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String()
}

func rlGit(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@t")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v %s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

type rlProgress struct{ t *testing.T }

func (p rlProgress) Event(step, level, msg string) { p.t.Logf("  [%s] %s: %s", level, step, msg) }
func (p rlProgress) Output(text string)            { p.t.Logf("  | %s", strings.TrimSpace(text)) }

func TestReleaseAgentScratch(t *testing.T) {
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
	web, err := lab.Up(ctx, "rl-web", testnode.WithAuthorizedKey(pub))
	if err != nil {
		t.Fatal(err)
	}
	pool, err := ssh.NewPool(keyPEM, func(context.Context, string, string, string) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	n := &pressluft.Node{ID: "rl", Host: web.IP, SSHPort: 22, SSHUser: "root"}
	if err := pool.Probe(ctx, n, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	p := rlProgress{t}

	start := time.Now()
	dir, err := ansible.Extract(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cpDir, _ := os.MkdirTemp("", "rlcp")
	defer os.RemoveAll(cpDir)
	known, _ := ssh.KnownHostsLine(n.Host, 22, n.HostKey)
	runner := &ansible.Runner{Dir: dir, Binary: "ansible-playbook", ControlPathDir: cpDir, TempDir: t.TempDir()}
	if _, err := runner.Run(ctx, ansible.Run{Playbook: "node_provision", Target: ansible.Target{Host: n.Host, Port: 22, User: "root", PrivateKey: keyPEM, KnownHosts: known},
		Progress: discard{}}); err != nil {
		t.Fatalf("provision: %v", err)
	}
	t.Logf("provisioned in %s", time.Since(start).Round(time.Second))

	client := agent.New(pool)
	host := "rl-production." + strings.ReplaceAll(web.IP, ".", "-") + ".sslip.io"
	env := pressluft.EnvSpec{Name: "rl-production", Type: "production", ReleaseID: "r1", URL: "http://" + host, ServerNames: []string{host},
		DBName: "rl_production", DBUser: "rl_production", DBPassword: "rl-production-password-1"}
	if _, err := client.CreateEnv(ctx, n, env, pressluft.WordPressInstall{Title: "Release Roastery", AdminUser: "admin", AdminEmail: "ops@example.com",
		AdminPassword: "admin-password-1"}, p); err != nil {
		t.Fatalf("create env: %v", err)
	}
	c := previewClient(web.IP)
	page := func(t *testing.T) string {
		t.Helper()
		code, body, _ := fetch(t, c, env.URL+"/")
		if code != 200 || !strings.Contains(body, "Release Roastery") {
			t.Fatalf("home answers %d: %.300s", code, body)
		}
		return body
	}
	current := func(t *testing.T) string {
		return strings.TrimSpace(inNode(t, web, "readlink", "/srv/pressluft/"+env.Name+"/current"))
	}
	spec := func(id string) pressluft.EnvSpec { e := env; e.ReleaseID = id; return e }
	switchTo := func(t *testing.T, id string) *pressluft.EnvFacts {
		t.Helper()
		f, err := client.SwitchRelease(ctx, n, env, id, p)
		if err != nil {
			t.Fatalf("switch %s: %v", id, err)
		}
		if !f.Installed || !f.DBOK || f.ReleaseID != id {
			t.Fatalf("switch facts %+v", f)
		}
		return f
	}
	page(t)

	// A 20 MB wp-content: the current one, a marker, a plugin, 20 MB of incompressible assets.
	assets := rlFiles{"wp-content/mu-plugins/rl-marker.php": rlMarker("rl-release", "archive-1"), "wp-content/plugins/rl-hello/rl-hello.php": rlHello("1.0"),
		"wp-content/themes/rl-theme/style.css": rlTheme("1.0"), "wp-content/themes/rl-theme/index.php": []byte("<?php echo 'rl-theme';")}
	for i := range 200 {
		b := make([]byte, 100<<10)
		rand.Read(b)
		assets[fmt.Sprintf("wp-content/themes/rl-assets/a%03d.bin", i)] = b
	}
	archive := rlTarGz(t, rlWPContent(t, web, env.Name, assets))
	bad := map[string][]byte{
		"site.tar.gz":      archive,
		"traversal.tar.gz": rlTarGz(t, rlFiles{"wp-content/index.php": []byte("<?php"), "wp-content/../../../../etc/cron.d/evil": []byte("x")}),
		"flat.zip":         rlZip(t, rlFiles{"plugins/a/a.php": []byte("<?php"), "themes/t/style.css": []byte("x")}),
		"rl-hello-1.1.zip": rlZip(t, rlFiles{"rl-hello/rl-hello.php": rlHello("1.1")}),
		"rl-theme-2.0.zip": rlZip(t, rlFiles{"rl-theme/style.css": rlTheme("2.0"), "rl-theme/index.php": []byte("<?php echo 'rl-theme 2';")}),
		"wordpress.zip":    rlCoreZip(t, web),
	}
	base := rlServe(t, web.HostIP, bad)
	t.Logf("archive: %.1f MB", float64(len(archive))/1e6)

	t.Run("archive: build, switch, serve; figures beside the raw work", func(t *testing.T) {
		// Raw first, three rounds: download, extract, copy the core, switch current, reload PHP-FPM; then the first page.
		raw := `set -e; cd /srv/pressluft/rl-production; prev=$(readlink current); rm -rf /root/raw releases/raw-$1; mkdir -p /root/raw/new
s=$(date +%s%N)
curl -sf -o /root/raw/site.tar.gz ` + base + `/site.tar.gz
rsync -a --exclude=/wp-content --exclude=/wp-config.php current/ /root/raw/new/
tar -xzf /root/raw/site.tar.gz -C /root/raw/new
ln -s ../../../shared/uploads /root/raw/new/wp-content/uploads; cp -a current/wp-config.php /root/raw/new/
chown -R rl-production: /root/raw/new; mv /root/raw/new releases/raw-$1; ln -sfn releases/raw-$1 current.raw; mv -T current.raw current
service php8.2-fpm reload >/dev/null; e=$(date +%s%N); echo $(( (e-s)/1000000 ))`
		var raws, rawPages []time.Duration
		for i := range 3 {
			out := inNode(t, web, "sh", "-c", raw, "raw", fmt.Sprint(i))
			ms, _ := time.ParseDuration(strings.TrimSpace(out) + "ms")
			ps := time.Now()
			page(t)
			raws, rawPages = append(raws, ms), append(rawPages, ms+time.Since(ps))
		}
		switchTo(t, "r1")
		inNode(t, web, "sh", "-c", "rm -rf /srv/pressluft/rl-production/releases/raw-* /root/raw")

		src := pressluft.DeploySource{Type: pressluft.ReleaseArchive, ArchiveURL: base + "/site.tar.gz", AllowPrivate: true}
		var builds, totals []time.Duration
		var f *pressluft.ReleaseFacts
		for i := range 3 {
			id := fmt.Sprintf("r2-%d", i)
			if i == 2 {
				id = "r2"
			}
			start := time.Now()
			var err error
			f, err = client.BuildRelease(ctx, n, spec(id), src, p)
			if err != nil {
				t.Fatalf("build: %v", err)
			}
			built := time.Since(start)
			switchTo(t, id)
			body := page(t)
			builds, totals = append(builds, built), append(totals, time.Since(start))
			if !strings.Contains(body, `content="archive-1"`) {
				t.Fatalf("the deployed marker is not served: %.500s", body)
			}
			if i < 2 {
				switchTo(t, "r1")
			}
		}
		t.Logf("FIGURE archive deploy (%.1f MB): agent build %v, build+switch+first page %v (median %v); raw download+extract+copy+switch %v, with first page %v (median %v)",
			float64(len(archive))/1e6, roundAll(builds), roundAll(totals), median(totals), roundAll(raws), roundAll(rawPages), median(rawPages))
		client.PruneReleases(ctx, n, env.Name, []string{"r1", "r2"})
		if again, err := client.BuildRelease(ctx, n, spec("r2"), src, p); err != nil || again.SizeBytes != f.SizeBytes {
			t.Fatalf("a re-run of a built release: %+v %v", again, err)
		}
		if out := inNode(t, web, "stat", "-c", "%U %a", "/srv/pressluft/rl-production/current/wp-content/themes/rl-assets/a000.bin",
			"/srv/pressluft/rl-production/current/wp-content/mu-plugins"); out != "rl-production 644\nrl-production 755\n" {
			t.Fatalf("owners and modes: %q", out)
		}
		if out := inNode(t, web, "readlink", "/srv/pressluft/rl-production/current/wp-content/uploads"); strings.TrimSpace(out) != "../../../shared/uploads" {
			t.Fatalf("uploads link: %q", out)
		}
	})

	t.Run("refusals leave the site as it is", func(t *testing.T) {
		before := current(t)
		cases := []struct {
			src  pressluft.DeploySource
			code string
		}{
			{pressluft.DeploySource{Type: "archive", ArchiveURL: base + "/site.tar.gz"}, pressluft.EAddressNotAllowed},
			{pressluft.DeploySource{Type: "archive", ArchiveURL: base + "/site.tar.gz", AllowPrivate: true, MaxBytes: 1 << 20}, pressluft.EArchiveTooLarge},
			{pressluft.DeploySource{Type: "archive", ArchiveURL: base + "/traversal.tar.gz", AllowPrivate: true}, pressluft.EUnsafeArchive},
			{pressluft.DeploySource{Type: "archive", ArchiveURL: base + "/flat.zip", AllowPrivate: true}, pressluft.EWPContentMissing},
			{pressluft.DeploySource{Type: "archive", ArchiveURL: base + "/missing.zip", AllowPrivate: true}, pressluft.EDownloadFailed},
			{pressluft.DeploySource{Type: "archive", ArchiveURL: "http://169.254.169.254/latest/meta-data"}, pressluft.EAddressNotAllowed},
		}
		for i, cs := range cases {
			_, err := client.BuildRelease(ctx, n, spec(fmt.Sprintf("bad-%d", i)), cs.src, p)
			if pressluft.ErrorCode(err) != cs.code {
				t.Errorf("case %d: %v, want %s", i, err, cs.code)
			}
			t.Logf("case %d: %s: %s", i, pressluft.ErrorCode(err), pressluft.ErrorMessage(err))
		}
		if current(t) != before {
			t.Fatal("current moved")
		}
		if out := inNode(t, web, "ls", "-A", "/srv/pressluft/rl-production/releases", "/srv/pressluft/rl-production/tmp", "/etc/cron.d"); strings.Contains(out, "bad-") || strings.Contains(out, "evil") || strings.Contains(out, ".pl-release") {
			t.Fatalf("left over: %s", out)
		}
		page(t)
	})

	var commit string
	t.Run("git: a repository served from the host", func(t *testing.T) {
		gitBase := t.TempDir()
		repo := filepath.Join(gitBase, "site")
		os.MkdirAll(repo, 0o755)
		rlGit(t, repo, "init", "--quiet", "--initial-branch=main")
		files := rlWPContent(t, web, env.Name, rlFiles{"wp-content/mu-plugins/rl-marker.php": rlMarker("rl-release", "git-1"),
			"wp-content/plugins/rl-hello/rl-hello.php": rlHello("1.0"), "README.md": []byte("# site"),
			"wp-content/themes/rl-theme/style.css": rlTheme("1.0"), "wp-content/themes/rl-theme/index.php": []byte("<?php echo 'rl-theme';")})
		for name, data := range files {
			os.MkdirAll(filepath.Dir(filepath.Join(repo, name)), 0o755)
			os.WriteFile(filepath.Join(repo, name), data, 0o644)
		}
		rlGit(t, repo, "add", "-A")
		rlGit(t, repo, "commit", "--quiet", "-m", "site")
		commit = rlGit(t, repo, "rev-parse", "HEAD")
		ln, _ := net.Listen("tcp", net.JoinHostPort(web.HostIP, "0"))
		addr := ln.Addr().String()
		ln.Close()
		_, port, _ := net.SplitHostPort(addr)
		dctx, cancel := context.WithCancel(ctx)
		daemon := exec.CommandContext(dctx, "git", "daemon", "--reuseaddr", "--export-all", "--base-path="+gitBase, "--listen="+web.HostIP, "--port="+port, gitBase)
		if err := daemon.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { cancel(); daemon.Wait() }()
		time.Sleep(500 * time.Millisecond)
		src := pressluft.DeploySource{Type: pressluft.ReleaseGit, Repository: "git://" + addr + "/site", Ref: "main", AllowPrivate: true}
		start := time.Now()
		f, err := client.BuildRelease(ctx, n, spec("r3"), src, p)
		if err != nil {
			t.Fatalf("build: %v", err)
		}
		if f.Ref != commit {
			t.Fatalf("ref %q, want %s", f.Ref, commit)
		}
		switchTo(t, "r3")
		if body := page(t); !strings.Contains(body, `content="git-1"`) {
			t.Fatalf("the git marker is not served")
		}
		t.Logf("FIGURE git deploy: %s", time.Since(start).Round(time.Millisecond))
		for _, cs := range []struct {
			src  pressluft.DeploySource
			code string
		}{
			{pressluft.DeploySource{Type: "git", Repository: src.Repository, Ref: "no-such-branch", AllowPrivate: true}, pressluft.EGitRefNotFound},
			{pressluft.DeploySource{Type: "git", Repository: "git://" + addr + "/nope", Ref: "main", AllowPrivate: true}, pressluft.EGitUnreachable},
			{pressluft.DeploySource{Type: "git", Repository: "git://" + web.HostIP + ":1/site", Ref: "main", AllowPrivate: true}, pressluft.EGitUnreachable},
			{pressluft.DeploySource{Type: "git", Repository: src.Repository, Ref: "main"}, pressluft.EAddressNotAllowed},
			{pressluft.DeploySource{Type: "git", Repository: "git@" + web.HostIP + ":site.git", Ref: "main", AllowPrivate: true}, pressluft.EGitUnreachable},
		} {
			_, err := client.BuildRelease(ctx, n, spec("bad-git"), cs.src, p)
			t.Logf("%s@%s: %s: %s", cs.src.Repository, cs.src.Ref, pressluft.ErrorCode(err), pressluft.ErrorMessage(err))
			if pressluft.ErrorCode(err) != cs.code {
				t.Errorf("%s@%s: %v, want %s", cs.src.Repository, cs.src.Ref, err, cs.code)
			}
		}
		if current(t) != "releases/r3" {
			t.Fatal("current moved")
		}
	})

	t.Run("update a plugin from a local zip", func(t *testing.T) {
		helper(t, web, env.Name, "option-set", `{"value":["rl-hello/rl-hello.php"]}`, "--name=active_plugins")
		if body := page(t); !strings.Contains(body, `name="rl-hello" content="1.0"`) {
			t.Fatal("rl-hello 1.0 is not active")
		}
		info, err := client.Updates(ctx, n, env)
		if err != nil {
			t.Fatalf("updates: %v", err)
		}
		t.Logf("updates: checked=%t problem=%q items=%+v", info.Checked, info.Problem, info.Items)
		start := time.Now()
		f, err := client.UpdateRelease(ctx, n, spec("r4"), pressluft.UpdateSpec{Scope: pressluft.UpdatePlugins,
			PackageURLs: map[string]string{"rl-hello": base + "/rl-hello-1.1.zip"}, AllowPrivate: true}, p)
		if err != nil {
			t.Fatalf("update: %v", err)
		}
		if strings.Join(f.Changed, ";") != "plugin rl-hello 1.0 → 1.1" {
			t.Fatalf("changed %q", f.Changed)
		}
		switchTo(t, "r4")
		if body := page(t); !strings.Contains(body, `name="rl-hello" content="1.1"`) {
			t.Fatal("rl-hello 1.1 is not served")
		}
		t.Logf("FIGURE plugin update from a local zip, build+switch+page: %s", time.Since(start).Round(time.Millisecond))
		ustart := time.Now()
		_, err = client.UpdateRelease(ctx, n, spec("r5"), pressluft.UpdateSpec{Scope: pressluft.UpdatePlugins, Items: []string{"akismet"}}, p)
		if pressluft.ErrorCode(err) != pressluft.EUpdateUnavailable {
			t.Fatalf("wordpress.org on an offline node: %v", err)
		}
		t.Logf("update_unavailable after %s: %s", time.Since(ustart).Round(time.Millisecond), pressluft.ErrorMessage(err))

		f, err = client.UpdateRelease(ctx, n, spec("r5"), pressluft.UpdateSpec{Scope: pressluft.UpdateThemes,
			PackageURLs: map[string]string{"rl-theme": base + "/rl-theme-2.0.zip"}, AllowPrivate: true}, p)
		if err != nil || strings.Join(f.Changed, ";") != "theme rl-theme 1.0 → 2.0" {
			t.Fatalf("theme update: %+v %v", f, err)
		}
		switchTo(t, "r5")
		if out := inNode(t, web, "grep", "Version", "/srv/pressluft/rl-production/current/wp-content/themes/rl-theme/style.css"); !strings.Contains(out, "2.0") {
			t.Fatalf("theme: %s", out)
		}
		start = time.Now()
		f, err = client.UpdateRelease(ctx, n, spec("r6"), pressluft.UpdateSpec{Scope: pressluft.UpdateCore,
			PackageURLs: map[string]string{"core": base + "/wordpress.zip"}, AllowPrivate: true}, p)
		if err != nil || strings.Join(f.Changed, ";") != "core core 6.1.9 → 6.1.99" {
			t.Fatalf("core update: %+v %v", f, err)
		}
		if h := switchTo(t, "r6"); h.WPVersion != "6.1.99" {
			t.Fatalf("after the core update: %+v", h)
		}
		if out := helper(t, web, env.Name, "option-get", "", "--name=db_version"); fmt.Sprint(out["value"]) != "53497" {
			t.Fatalf("db_version after the switch: %v", out)
		}
		page(t)
		t.Logf("FIGURE core update from a local zip, build+switch+page: %s", time.Since(start).Round(time.Millisecond))
		if out := inNode(t, web, "ls", "-A", "/srv/pressluft/rl-production/current/"); strings.Contains(out, ".maintenance") {
			t.Fatalf("maintenance flag left: %s", out)
		}
	})

	t.Run("an uploaded archive; a build killed half way is rebuilt", func(t *testing.T) {
		upload := filepath.Join(web.Root, "srv/pressluft/rl-production/tmp/upload-1.tar.gz")
		if err := os.WriteFile(upload, archive, 0o600); err != nil {
			t.Fatal(err)
		}
		v, err := client.Version(ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		req := fmt.Sprintf(`{"op":"release_build","version":%q,"env":{"name":"rl-production","release_id":"r7"},"deploy":{"type":"archive","archive_path":"tmp/upload-1.tar.gz"}}`, v.Version)
		os.WriteFile(filepath.Join(web.Root, "root/req.json"), []byte(req+"\n"), 0o600)
		out, _ := web.Exec(ctx, "sh", "-c", "timeout -s KILL 0.3 sh -c 'exec /usr/local/lib/pressluft/agent/*/pressluft-agent < /root/req.json'; ls -A /srv/pressluft/rl-production/releases /srv/pressluft/rl-production/tmp")
		t.Logf("after kill -9: %s", out)
		if !strings.Contains(out, ".r7.") && !strings.Contains(out, ".pl-release-r7") {
			t.Fatalf("the kill came too late or too early: %s", out)
		}
		f, err := client.BuildRelease(ctx, n, spec("r7"), pressluft.DeploySource{Type: "archive", ArchivePath: "tmp/upload-1.tar.gz"}, p)
		if err != nil {
			t.Fatalf("build after the kill: %v", err)
		}
		switchTo(t, "r7")
		if body := page(t); !strings.Contains(body, `content="archive-1"`) {
			t.Fatal("the uploaded archive is not served")
		}
		left := inNode(t, web, "ls", "-A", "/srv/pressluft/rl-production/releases", "/srv/pressluft/rl-production/tmp")
		if strings.Contains(left, "partial") || strings.Contains(left, ".r7.wp-content") || strings.Contains(left, ".pl-release") || strings.Contains(left, "upload-1") {
			t.Fatalf("left over: %s", left)
		}
		t.Logf("r7: %d bytes", f.SizeBytes)
	})

	t.Run("git over ssh with a deploy key", func(t *testing.T) {
		deployKey, _ := ssh.NewKeyPair()
		deployPub, _ := ssh.PublicKeyLine(deployKey)
		inNode(t, web, "sh", "-c", "id gitsrv >/dev/null 2>&1 || useradd -m -s /usr/bin/git-shell gitsrv; install -d -m 700 -o gitsrv -g gitsrv /home/gitsrv/.ssh")
		os.WriteFile(filepath.Join(web.Root, "home/gitsrv/.ssh/authorized_keys"), []byte(deployPub+"\n"), 0o600)
		repo := filepath.Join(t.TempDir(), "site")
		os.MkdirAll(repo, 0o755)
		rlGit(t, repo, "init", "--quiet", "--initial-branch=main")
		for name, data := range rlWPContent(t, web, env.Name, rlFiles{"wp-content/mu-plugins/rl-marker.php": rlMarker("rl-release", "ssh-1")}) {
			os.MkdirAll(filepath.Dir(filepath.Join(repo, name)), 0o755)
			os.WriteFile(filepath.Join(repo, name), data, 0o644)
		}
		rlGit(t, repo, "add", "-A")
		rlGit(t, repo, "commit", "--quiet", "-m", "site")
		rlGit(t, repo, "tag", "v2")
		bare := filepath.Join(web.Root, "home/gitsrv/site.git")
		if out, err := exec.Command("git", "clone", "--quiet", "--bare", repo, bare).CombinedOutput(); err != nil {
			t.Fatalf("clone: %v %s", err, out)
		}
		inNode(t, web, "chown", "-R", "gitsrv:gitsrv", "/home/gitsrv")
		src := pressluft.DeploySource{Type: "git", Repository: "gitsrv@" + web.IP + ":site.git", Ref: "v2", DeployKey: string(deployKey), AllowPrivate: true}
		if _, err := client.BuildRelease(ctx, n, spec("r8"), src, p); err != nil {
			t.Fatalf("ssh build: %v", err)
		}
		switchTo(t, "r8")
		if body := page(t); !strings.Contains(body, `content="ssh-1"`) {
			t.Fatal("the ssh deploy is not served")
		}
		if out := inNode(t, web, "cat", "/srv/pressluft/rl-production/.ssh/known_hosts"); !strings.Contains(out, web.IP) && !strings.Contains(out, "|1|") {
			t.Fatalf("known_hosts: %s", out)
		}
		other, _ := ssh.NewKeyPair()
		src.DeployKey = string(other)
		if _, err := client.BuildRelease(ctx, n, spec("bad-ssh"), src, p); pressluft.ErrorCode(err) != pressluft.EGitAuthFailed {
			t.Fatalf("a key the repository does not know: %v", err)
		} else {
			t.Logf("wrong key: %s", pressluft.ErrorMessage(err))
		}
		src.DeployKey = ""
		if _, err := client.BuildRelease(ctx, n, spec("bad-ssh"), src, p); pressluft.ErrorCode(err) != pressluft.EGitAuthFailed {
			t.Fatalf("no key: %v", err)
		}
		if out := inNode(t, web, "sh", "-c", "find /srv/pressluft/rl-production -name deploy-key; grep -rl 'OPENSSH PRIVATE' /srv/pressluft/rl-production /tmp 2>/dev/null; true"); strings.TrimSpace(out) != "" {
			t.Fatalf("the deploy key is left on disk: %s", out)
		}
	})

	t.Run("switch again is a no-op; prune keeps exactly N", func(t *testing.T) {
		switchTo(t, "r8")
		if _, err := client.SwitchRelease(ctx, n, env, "nope", p); pressluft.ErrorCode(err) != pressluft.ENotFound {
			t.Fatalf("switch to a missing release: %v", err)
		}
		removed, err := client.PruneReleases(ctx, n, env.Name, []string{"r7", "r6", "r5"})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("pruned %v", removed)
		out := strings.Fields(inNode(t, web, "ls", "/srv/pressluft/rl-production/releases"))
		if strings.Join(out, " ") != "r5 r6 r7 r8" {
			t.Fatalf("releases left: %v", out)
		}
		switchTo(t, "r7")
		page(t)
		switchTo(t, "r8")
	})
}
