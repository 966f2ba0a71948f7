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
	assets := rlFiles{"wp-content/mu-plugins/rl-marker.php": rlMarker("rl-release", "archive-1"), "wp-content/plugins/rl-hello/rl-hello.php": rlHello("1.0")}
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
	}
	base := rlServe(t, web.HostIP, bad)
	t.Logf("archive: %.1f MB", float64(len(archive))/1e6)

	t.Run("archive: build, switch, serve; figures beside the raw work", func(t *testing.T) {
		src := pressluft.DeploySource{Type: pressluft.ReleaseArchive, ArchiveURL: base + "/site.tar.gz", AllowPrivate: true}
		start := time.Now()
		f, err := client.BuildRelease(ctx, n, spec("r2"), src, p)
		if err != nil {
			t.Fatalf("build: %v", err)
		}
		built := time.Since(start)
		switchTo(t, "r2")
		body := page(t)
		total := time.Since(start)
		if !strings.Contains(body, `content="archive-1"`) {
			t.Fatalf("the deployed marker is not served: %.500s", body)
		}
		t.Logf("FIGURE archive deploy: build %s, build+switch+page %s; release %d bytes at %s", built.Round(time.Millisecond), total.Round(time.Millisecond), f.SizeBytes, f.Path)
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
		// Raw: download, extract, copy the core, switch, reload.
		raw := `set -e; cd /srv/pressluft/rl-production; s=$(date +%s%N); rm -rf /root/raw; mkdir -p /root/raw/new
curl -sf -o /root/raw/site.tar.gz ` + base + `/site.tar.gz
rsync -a --exclude=/wp-content --exclude=/wp-config.php current/ /root/raw/new/
tar -xzf /root/raw/site.tar.gz -C /root/raw/new
rm -rf releases/raw; mv /root/raw/new releases/raw; ln -sfn releases/raw current.raw; mv -T current.raw current.rawtest
service php8.2-fpm reload >/dev/null; e=$(date +%s%N); echo $(( (e-s)/1000000 )); rm -f current.rawtest; rm -rf releases/raw /root/raw`
		out := inNode(t, web, "sh", "-c", raw)
		t.Logf("FIGURE raw extract+copy+switch: %s ms", strings.TrimSpace(out))
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
			"wp-content/plugins/rl-hello/rl-hello.php": rlHello("1.0"), "README.md": []byte("# site")})
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
	})

	t.Run("switch again is a no-op; prune keeps exactly N", func(t *testing.T) {
		switchTo(t, "r4")
		if _, err := client.SwitchRelease(ctx, n, env, "nope", p); pressluft.ErrorCode(err) != pressluft.ENotFound {
			t.Fatalf("switch to a missing release: %v", err)
		}
		removed, err := client.PruneReleases(ctx, n, env.Name, []string{"r4", "r3"})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("pruned %v", removed)
		out := strings.Fields(inNode(t, web, "ls", "/srv/pressluft/rl-production/releases"))
		if strings.Join(out, " ") != "r3 r4" {
			t.Fatalf("releases left: %v", out)
		}
		switchTo(t, "r3")
		page(t)
		switchTo(t, "r4")
	})
}
