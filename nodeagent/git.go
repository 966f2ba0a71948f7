package nodeagent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/pressluft/pressluft/agent/protocol"
)

// Time limits of a git deploy.
const (
	gitFetchTimeout   = 10 * time.Minute
	gitResolveTimeout = 10 * time.Second
)

// gitRemote is a repository URL taken apart for the address check, the
// pin and ssh.
type gitRemote struct {
	url    string // as given, passed to git after "--"
	scheme string // https | http | ssh | git (scp-like is ssh)
	host   string // without brackets
	port   string // the URL's port or the scheme's default
}

var defaultGitPorts = map[string]string{"https": "443", "http": "80", "ssh": "22", "git": "9418"}

// parseRemote takes apart a repository that passed validateRepository.
func parseRemote(raw string) (gitRemote, error) {
	if m := scpLikePattern.FindStringSubmatch(raw); m != nil {
		return gitRemote{url: raw, scheme: "ssh", host: strings.Trim(m[2], "[]"), port: "22"}, nil
	}
	u, err := url.Parse(raw)
	if err != nil || defaultGitPorts[u.Scheme] == "" {
		return gitRemote{}, errorf(protocol.ErrBadRequest, "deploy.repository: unsupported URL")
	}
	port := u.Port()
	if port == "" {
		port = defaultGitPorts[u.Scheme]
	}
	return gitRemote{url: raw, scheme: u.Scheme, host: u.Hostname(), port: port}, nil
}

// resolveRemote returns the address git is to reach: the first public one
// unless private addresses are allowed. A name that resolves only to
// refused addresses fails address_not_allowed.
func resolveRemote(ctx context.Context, r gitRemote, allowPrivate bool, lookup func(context.Context, string) ([]netip.Addr, error)) (netip.Addr, error) {
	var addrs []netip.Addr
	if addr, err := netip.ParseAddr(r.host); err == nil {
		addrs = []netip.Addr{addr}
	} else {
		ctx, cancel := context.WithTimeout(ctx, gitResolveTimeout)
		defer cancel()
		addrs, err = lookup(ctx, r.host)
		if err != nil || len(addrs) == 0 {
			if ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return netip.Addr{}, errorf(protocol.ErrCancelled, "cancelled while resolving %s", r.host)
			}
			return netip.Addr{}, errorf(protocol.ErrGitUnreachable, "the repository's host %s does not resolve: %v", r.host, err)
		}
	}
	if allowPrivate {
		return addrs[0].Unmap(), nil
	}
	for _, addr := range addrs {
		if addressClass(addr) == "" {
			return addr.Unmap(), nil
		}
	}
	return netip.Addr{}, checkAddress(addrs[0], "the repository "+r.host)
}

func lookupHost(ctx context.Context, host string) ([]netip.Addr, error) {
	return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
}

// gitSetup is how git runs for one fetch: as the environment's user, with
// no configuration but ours, no prompt, only network transports, no
// redirects, and the repository's host pinned to the checked address
// (over ssh and http; git:// has no way to pin, its name is checked
// once).
type gitSetup struct {
	home       string // the environment's root: the user's home
	keyFile    string // "" without a deploy key
	knownHosts string
	remote     gitRemote
	addr       netip.Addr
}

func (g gitSetup) env(u envUser) []string {
	ssh := []string{"ssh", "-F", "/dev/null", "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none",
		"-o", "StrictHostKeyChecking=accept-new", "-o", "UserKnownHostsFile=" + g.knownHosts, "-o", "ConnectTimeout=20",
		"-o", "ServerAliveInterval=15", "-o", "ServerAliveCountMax=4"}
	if g.keyFile != "" {
		ssh = append(ssh, "-i", g.keyFile)
	}
	if g.remote.scheme == "ssh" && g.addr.IsValid() {
		// Connect to the checked address; the host key stays filed under the name.
		ssh = append(ssh, "-o", "HostKeyAlias="+g.remote.host, "-o", "HostName="+g.addr.String())
	}
	for i, arg := range ssh {
		ssh[i] = shellQuote(arg)
	}
	return []string{
		"PATH=" + systemPath, "HOME=" + g.home, "USER=" + u.Name, "LOGNAME=" + u.Name, "LANG=C", "LC_ALL=C",
		"GIT_TERMINAL_PROMPT=0", "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_ALLOW_PROTOCOL=https:http:ssh:git",
		// git runs it through the shell: every word is quoted, and none comes from the request but the checked host.
		"GIT_SSH_COMMAND=" + strings.Join(ssh, " "),
	}
}

// fetchArgv fetches ref (a branch, tag or commit id) from the remote into
// the bare repository at repo: one commit, no tags.
func (g gitSetup) fetchArgv(repo, ref string) []string {
	argv := []string{"git", "-c", "http.followRedirects=false", "-c", "http.lowSpeedLimit=1000", "-c", "http.lowSpeedTime=60"}
	if (g.remote.scheme == "https" || g.remote.scheme == "http") && g.addr.IsValid() {
		ip := g.addr.String()
		if g.addr.Is6() {
			ip = "[" + ip + "]"
		}
		argv = append(argv, "-c", "http.curloptResolve="+g.remote.host+":"+g.remote.port+":"+ip)
	}
	return append(argv, "-C", repo, "fetch", "--quiet", "--no-tags", "--depth=1", "--", g.remote.url, ref)
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// gitFetch fetches d.Ref of d.Repository as u into a new bare repository
// under work and returns the repository and the commit id. The deploy key
// is on disk (0600, u's) only while git runs.
func (a *agent) gitFetch(ctx context.Context, u envUser, p envPaths, work string, d *protocol.Deploy) (string, string, error) {
	remote, err := parseRemote(d.Repository)
	if err != nil {
		return "", "", err
	}
	addr, err := resolveRemote(ctx, remote, d.AllowPrivate, lookupHost)
	if err != nil {
		return "", "", err
	}
	g := gitSetup{home: p.Root, knownHosts: p.Root + "/.ssh/known_hosts", remote: remote, addr: addr}
	if err := ensureUserDir(p.Root+"/.ssh", u); err != nil {
		return "", "", err
	}
	if d.DeployKey != "" {
		g.keyFile = work + "/deploy-key"
		key := strings.TrimSpace(strings.ReplaceAll(d.DeployKey, "\r\n", "\n")) + "\n"
		if err := writeFile(g.keyFile, []byte(key), 0o600, u.UID, u.GID); err != nil {
			return "", "", err
		}
		defer os.Remove(g.keyFile)
	}
	repo := work + "/repo.git"
	asUser := func(argv ...string) command {
		return command{argv: argv, cred: credFor(u), env: g.env(u), dir: work}
	}
	if _, err := a.run(ctx, asUser("git", "init", "--quiet", "--bare", "--", repo)); err != nil {
		return "", "", err
	}
	a.event("git", fmt.Sprintf("fetching %s of %s (%s)", d.Ref, remote.host, addr))
	start := time.Now()
	fetchCtx, cancel := context.WithTimeout(ctx, gitFetchTimeout)
	defer cancel()
	if _, err := a.run(fetchCtx, asUser(g.fetchArgv(repo, d.Ref)...)); err != nil {
		if ctx.Err() == nil && fetchCtx.Err() != nil {
			return "", "", errorf(protocol.ErrGitUnreachable, "fetching from %s did not finish within %s", remote.host, gitFetchTimeout)
		}
		return "", "", gitError(err, d.Ref)
	}
	out, err := a.run(ctx, localGit(u, work, "-C", repo, "rev-parse", "--verify", "--quiet", "FETCH_HEAD^{commit}"))
	if err != nil {
		return "", "", errorf(protocol.ErrGitRefNotFound, "%s does not name a commit", d.Ref)
	}
	commit := strings.TrimSpace(string(out))
	if !commitPattern.MatchString(commit) {
		return "", "", errorf(protocol.ErrCommandFailed, "git rev-parse answered %q", truncate(commit, 80))
	}
	a.event("git", fmt.Sprintf("fetched %s (commit %s) in %.1f s", d.Ref, commit[:12], time.Since(start).Seconds()))
	return repo, commit, nil
}

// gitTops lists the names at the root of commit's tree and whether
// wp-content is a directory there.
func (a *agent) gitTops(ctx context.Context, u envUser, work, repo, commit string) (map[string]bool, bool, error) {
	out, err := a.run(ctx, localGit(u, work, "-C", repo, "ls-tree", "-z", commit))
	if err != nil {
		return nil, false, err
	}
	tops := map[string]bool{}
	wpContent := false
	for _, rec := range bytes.Split(out, []byte{0}) {
		meta, name, ok := bytes.Cut(rec, []byte{'\t'})
		if !ok {
			continue
		}
		tops[string(name)] = true
		if string(name) == archWPContent && bytes.Contains(meta, []byte(" tree ")) {
			wpContent = true
		}
	}
	return tops, wpContent, nil
}

// localGit is a git command on the local repository, as u, without the
// user's configuration.
func localGit(u envUser, work string, args ...string) command {
	return command{argv: append([]string{"git"}, args...), cred: credFor(u), dir: work, env: []string{
		"PATH=" + systemPath, "HOME=" + work, "USER=" + u.Name, "LOGNAME=" + u.Name, "LANG=C", "LC_ALL=C",
		"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null"}}
}

// credFor switches to u unless the agent runs as u already (the unit
// tests, which run git as themselves; the agent itself is root and an
// environment's user never is).
func credFor(u envUser) *syscall.Credential {
	if u.UID == os.Geteuid() {
		return nil
	}
	return u.credential()
}

// gitError turns a failed fetch into git_ref_not_found, git_auth_failed
// or git_unreachable by what git and ssh printed (in the C locale).
func gitError(err error, ref string) error {
	code, msg := errorCode(err)
	if code != protocol.ErrCommandFailed {
		return err
	}
	switch gitFailure(msg) {
	case protocol.ErrGitRefNotFound:
		return errorf(protocol.ErrGitRefNotFound, "the repository has no branch, tag or commit %q (a commit is fetched by its full id, where the server allows it): %s", ref, gitDetail(msg))
	case protocol.ErrGitAuthFailed:
		return errorf(protocol.ErrGitAuthFailed, "the repository refused access (add the site's deploy key to it, or check the host key in known_hosts): %s", gitDetail(msg))
	case protocol.ErrGitUnreachable:
		return errorf(protocol.ErrGitUnreachable, "the repository could not be reached: %s", gitDetail(msg))
	}
	return err
}

// gitFailure classifies git's and ssh's error text.
func gitFailure(stderr string) string {
	s := strings.ToLower(stderr)
	has := func(parts ...string) bool {
		for _, p := range parts {
			if strings.Contains(s, p) {
				return true
			}
		}
		return false
	}
	switch {
	case has("couldn't find remote ref", "not our ref", "unadvertised object", "no such remote ref", "no matching remote head"):
		return protocol.ErrGitRefNotFound
	case has("host key verification failed", "remote host identification has changed"):
		return protocol.ErrGitAuthFailed
	case has("repository not exported", "repository not found", "does not appear to be a git repository", "not found"):
		return protocol.ErrGitUnreachable
	case has("permission denied", "authentication failed", "could not read username", "could not read password",
		"terminal prompts disabled", "access denied", "returned error: 401", "returned error: 403", "invalid credentials"):
		return protocol.ErrGitAuthFailed
	case has("could not resolve", "connection refused", "connection timed out", "timed out", "no route to host",
		"network is unreachable", "unable to access", "could not read from remote repository", "connection reset",
		"connection closed", "hung up", "unable to connect", "couldn't connect"):
		return protocol.ErrGitUnreachable
	}
	return ""
}

// gitDetail is the useful end of git's message.
func gitDetail(msg string) string {
	if i := strings.Index(msg, "): "); i >= 0 {
		msg = msg[i+3:]
	}
	return tail(strings.Join(strings.Fields(msg), " "), 400)
}

// ensureUserDir makes dir (0700, u's) unless it is there; a symlink or
// file in its place is refused.
func ensureUserDir(dir string, u envUser) error {
	if err := os.Mkdir(dir, 0o700); err != nil && !os.IsExist(err) {
		return err
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return errorf(protocol.ErrInternal, "%s is not a directory", dir)
	}
	return os.Lchown(dir, u.UID, u.GID)
}

// runStream runs c and hands its stdout to consume while it runs; the
// program is killed when consume stops early.
func (a *agent) runStream(ctx context.Context, c command, consume func(io.Reader) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cmd := prepare(ctx, c)
	var stderr bytes.Buffer
	cmd.Stderr = &limitedBuffer{buf: &stderr, max: 1 << 20}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return errorf(protocol.ErrCommandFailed, "%s: %v", c.argv[0], err)
	}
	cerr := consume(stdout)
	if cerr != nil {
		cancel()
	}
	// Whatever consume left unread must not block the program's exit.
	_, _ = io.Copy(io.Discard, stdout)
	werr := cmd.Wait()
	if cerr != nil {
		return cerr
	}
	if ctx.Err() != nil {
		return errorf(protocol.ErrCancelled, "cancelled while running %s", c.argv[0])
	}
	if werr != nil {
		return a.commandError(c.argv, werr, stderr.String(), "")
	}
	return nil
}
