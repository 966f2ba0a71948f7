package nodeagent

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pressluft/pressluft/agent/protocol"
)

func TestParseRemote(t *testing.T) {
	t.Parallel()
	cases := map[string]gitRemote{
		"git@github.com:acme/shop.git":            {scheme: "ssh", host: "github.com", port: "22"},
		"deploy@[2001:db8::1]:site.git":           {scheme: "ssh", host: "2001:db8::1", port: "22"},
		"ssh://git@git.example.com:2222/shop.git": {scheme: "ssh", host: "git.example.com", port: "2222"},
		"https://github.com/acme/shop.git":        {scheme: "https", host: "github.com", port: "443"},
		"http://10.77.1.1:8080/site.git":          {scheme: "http", host: "10.77.1.1", port: "8080"},
		"git://10.77.1.1/site.git":                {scheme: "git", host: "10.77.1.1", port: "9418"},
	}
	for raw, want := range cases {
		if err := validateRepository(raw); err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		got, err := parseRemote(raw)
		want.url = raw
		if err != nil || got != want {
			t.Errorf("parseRemote(%s) = %+v, %v; want %+v", raw, got, err, want)
		}
	}
}

func TestResolveRemote(t *testing.T) {
	t.Parallel()
	lookup := func(answers map[string][]string) func(context.Context, string) ([]netip.Addr, error) {
		return func(_ context.Context, host string) ([]netip.Addr, error) {
			a, ok := answers[host]
			if !ok {
				return nil, errors.New("no such host")
			}
			var out []netip.Addr
			for _, s := range a {
				out = append(out, netip.MustParseAddr(s))
			}
			return out, nil
		}
	}(map[string][]string{
		"public.example":   {"93.184.216.34"},
		"rebind.example":   {"127.0.0.1"},
		"metadata.example": {"169.254.169.254"},
		"mixed.example":    {"10.0.0.5", "93.184.216.34"},
	})
	remote := func(host string) gitRemote { return gitRemote{scheme: "https", host: host, port: "443"} }
	cases := []struct {
		host         string
		allowPrivate bool
		want         string
		code         string
	}{
		{"public.example", false, "93.184.216.34", ""},
		{"mixed.example", false, "93.184.216.34", ""},
		{"mixed.example", true, "10.0.0.5", ""},
		{"rebind.example", false, "", protocol.ErrAddressNotAllowed},
		{"metadata.example", false, "", protocol.ErrAddressNotAllowed},
		{"rebind.example", true, "127.0.0.1", ""},
		{"10.77.1.1", false, "", protocol.ErrAddressNotAllowed},
		{"10.77.1.1", true, "10.77.1.1", ""},
		{"::ffff:127.0.0.1", false, "", protocol.ErrAddressNotAllowed},
		{"nowhere.example", true, "", protocol.ErrGitUnreachable},
	}
	for _, c := range cases {
		addr, err := resolveRemote(context.Background(), remote(c.host), c.allowPrivate, lookup)
		if codeOf(err) != c.code || (c.code == "" && addr.String() != c.want) {
			t.Errorf("%s (private %t) = %v, %v; want %s %s", c.host, c.allowPrivate, addr, err, c.want, c.code)
		}
	}
}

func TestGitSetupArgv(t *testing.T) {
	t.Parallel()
	u := envUser{Name: "shop", UID: 999, GID: 999}
	ssh := gitSetup{home: "/srv/pressluft/shop", keyFile: "/srv/pressluft/shop/tmp/.pl-release-r2/deploy-key",
		knownHosts: "/srv/pressluft/shop/.ssh/known_hosts", remote: gitRemote{url: "git@github.com:acme/shop.git", scheme: "ssh", host: "github.com", port: "22"},
		addr: netip.MustParseAddr("140.82.121.4")}
	env := strings.Join(ssh.env(u), "\n")
	for _, want := range []string{
		"GIT_TERMINAL_PROMPT=0", "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_ALLOW_PROTOCOL=https:http:ssh:git", "HOME=/srv/pressluft/shop",
		"GIT_SSH_COMMAND='ssh' '-F' '/dev/null' '-o' 'BatchMode=yes'", "'StrictHostKeyChecking=accept-new'",
		"'UserKnownHostsFile=/srv/pressluft/shop/.ssh/known_hosts'", "'-i' '/srv/pressluft/shop/tmp/.pl-release-r2/deploy-key'",
		"'HostKeyAlias=github.com' '-o' 'HostName=140.82.121.4'",
	} {
		if !strings.Contains(env, want) {
			t.Errorf("env lacks %q:\n%s", want, env)
		}
	}
	argv := ssh.fetchArgv("/w/repo.git", "main")
	if got := strings.Join(argv, " "); strings.Contains(got, "curloptResolve") || !strings.HasSuffix(got, "fetch --quiet --no-tags --depth=1 -- git@github.com:acme/shop.git main") {
		t.Errorf("ssh fetch argv: %s", got)
	}
	https := gitSetup{remote: gitRemote{url: "https://[2001:4860::1]:8443/a.git", scheme: "https", host: "git.example.com", port: "8443"}, addr: netip.MustParseAddr("2001:4860::1")}
	if got := strings.Join(https.fetchArgv("/w/repo.git", "v1"), " "); !strings.Contains(got, "-c http.curloptResolve=git.example.com:8443:[2001:4860::1]") ||
		!strings.Contains(got, "-c http.followRedirects=false") {
		t.Errorf("https fetch argv: %s", got)
	}
	if env := strings.Join(https.env(u), "\n"); strings.Contains(env, "HostName=") || strings.Contains(env, "'-i'") {
		t.Errorf("https env pins ssh or names a key: %s", env)
	}
}

func TestGitFailure(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"fatal: couldn't find remote ref refs/heads/nope":                                                   protocol.ErrGitRefNotFound,
		"fatal: remote error: upload-pack: not our ref 0123456789abcdef0123456789abcdef01234567":            protocol.ErrGitRefNotFound,
		"error: Server does not allow request for unadvertised object 0123":                                 protocol.ErrGitRefNotFound,
		"git@github.com: Permission denied (publickey).\nfatal: Could not read from remote repository.":     protocol.ErrGitAuthFailed,
		"fatal: could not read Username for 'https://github.com': terminal prompts disabled":                protocol.ErrGitAuthFailed,
		"remote: HTTP Basic: Access denied\nfatal: Authentication failed for 'https://gitlab.com/a/b.git/'": protocol.ErrGitAuthFailed,
		"fatal: unable to access 'https://x/': The requested URL returned error: 403":                       protocol.ErrGitAuthFailed,
		"@@@ WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED! @@@\nHost key verification failed.":           protocol.ErrGitAuthFailed,
		"ssh: Could not resolve hostname nowhere.example: Name or service not known":                        protocol.ErrGitUnreachable,
		"fatal: unable to access 'https://nowhere.example/a.git/': Could not resolve host: nowhere.example": protocol.ErrGitUnreachable,
		"ssh: connect to host 10.0.0.1 port 22: Connection timed out":                                       protocol.ErrGitUnreachable,
		"fatal: unable to connect to 127.0.0.1:\n127.0.0.1[0: 127.0.0.1]: errno=Connection refused":         protocol.ErrGitUnreachable,
		"fatal: remote error: access denied or repository not exported: /nope":                              protocol.ErrGitUnreachable,
		"ERROR: Repository not found.\nfatal: Could not read from remote repository.":                       protocol.ErrGitUnreachable,
		"fatal: repository 'http://10.77.1.1/nope.git/' not found":                                          protocol.ErrGitUnreachable,
		"fatal: write error: No space left on device":                                                       "",
	}
	for stderr, want := range cases {
		if got := gitFailure(stderr); got != want {
			t.Errorf("gitFailure(%q) = %q, want %q", stderr, got, want)
		}
	}
}

// gitServer is a git daemon on loopback serving the repositories under
// its base directory.
func gitServer(t *testing.T) (base, addr string) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatal("git is needed: " + err.Error())
	}
	base = t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr = l.Addr().String()
	l.Close()
	_, port, _ := net.SplitHostPort(addr)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, "git", "daemon", "--reuseaddr", "--export-all", "--base-path="+base, "--listen=127.0.0.1", "--port="+port, base)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); cmd.Wait() })
	for i := 0; ; i++ {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		if i == 100 {
			t.Fatal("git daemon did not start")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return base, addr
}

// gitRepo creates a repository under base with files and returns its
// commit id.
func gitRepo(t *testing.T, base, name string, files map[string]string) string {
	t.Helper()
	dir := filepath.Join(base, name)
	git := func(args ...string) string {
		cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
		cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@t")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v %s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	os.MkdirAll(dir, 0o755)
	git("init", "--quiet", "--initial-branch=main")
	for name, body := range files {
		os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755)
		os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644)
	}
	git("add", "-A")
	git("commit", "--quiet", "-m", "site")
	git("tag", "-a", "v1", "-m", "v1")
	return git("rev-parse", "HEAD")
}

func TestGitFetchFromDaemon(t *testing.T) {
	t.Parallel()
	base, addr := gitServer(t)
	commit := gitRepo(t, base, "site", map[string]string{"README.md": "x", "wp-content/plugins/shop/shop.php": "<?php // shop", "wp-content/uploads/x.png": "png"})
	gitRepo(t, base, "flat", map[string]string{"plugins/shop/shop.php": "<?php", "themes/a/style.css": "a"})
	u := envUser{Name: "test", UID: os.Geteuid(), GID: os.Getegid()}

	fetch := func(repo, ref string, allowPrivate bool) (string, string, error) {
		home := t.TempDir()
		work := filepath.Join(home, "work")
		os.Mkdir(work, 0o700)
		a := &agent{w: NewWriter(io.Discard)}
		d := &protocol.Deploy{Type: "git", Repository: "git://" + addr + "/" + repo, Ref: ref, AllowPrivate: allowPrivate}
		if err := validateDeploy(d); err != nil {
			t.Fatal(err)
		}
		gitRepoDir, got, err := a.gitFetch(context.Background(), u, envPaths{Root: home}, work, d)
		if err != nil {
			return "", "", err
		}
		tops, ok, err := a.gitTops(context.Background(), u, work, gitRepoDir, got)
		if err != nil {
			return "", "", err
		}
		if !ok {
			return got, "", (&deployFilter{tops: tops}).missing()
		}
		dst := filepath.Join(home, "wp-content.staging")
		err = a.runStream(context.Background(), localGit(u, work, "-C", gitRepoDir, "archive", "--format=tar", got, "--", archWPContent),
			func(out io.Reader) error {
				_, err := unpackEntries(context.Background(), &tarSource{tr: tar.NewReader(out)}, dst, u.UID, u.GID, 1<<20)
				return err
			})
		return got, dst, err
	}

	for _, ref := range []string{"main", "v1", commit} {
		got, dst, err := fetch("site", ref, true)
		if err != nil {
			t.Fatalf("%s: %v", ref, err)
		}
		if got != commit {
			t.Fatalf("%s: commit %s, want %s", ref, got, commit)
		}
		if data, _ := os.ReadFile(filepath.Join(dst, "plugins/shop/shop.php")); string(data) != "<?php // shop" {
			t.Fatalf("%s: plugin %q", ref, data)
		}
		if exists(filepath.Join(dst, "uploads")) || exists(filepath.Join(dst, "../README.md")) {
			t.Fatalf("%s: uploads or README were written", ref)
		}
	}
	closed := fmt.Sprintf("127.0.0.1:%d", func() int {
		l, _ := net.Listen("tcp", "127.0.0.1:0")
		defer l.Close()
		return l.Addr().(*net.TCPAddr).Port
	}())
	failures := []struct {
		repo, ref string
		private   bool
		code      string
	}{
		{"site", "nope", true, protocol.ErrGitRefNotFound},
		{"site", strings.Repeat("0", 40), true, protocol.ErrGitRefNotFound},
		{"missing", "main", true, protocol.ErrGitUnreachable},
		{"site", "main", false, protocol.ErrAddressNotAllowed},
		{"flat", "main", true, protocol.ErrWPContentMissing},
	}
	for _, f := range failures {
		if _, _, err := fetch(f.repo, f.ref, f.private); codeOf(err) != f.code {
			t.Errorf("%s@%s: err = %v, want %s", f.repo, f.ref, err, f.code)
		}
	}
	a := &agent{w: NewWriter(io.Discard)}
	d := &protocol.Deploy{Type: "git", Repository: "git://" + closed + "/site", Ref: "main", AllowPrivate: true}
	home := t.TempDir()
	if _, _, err := a.gitFetch(context.Background(), u, envPaths{Root: home}, home, d); codeOf(err) != protocol.ErrGitUnreachable {
		t.Errorf("closed port: err = %v, want git_unreachable", err)
	}
}
