package nodeagent

import (
	"errors"
	"strings"
	"testing"

	"github.com/pressluft/pressluft/agent/protocol"
)

const testKey = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----\n"

func validBuildGit() map[string]any {
	return map[string]any{
		"op": "release_build", "version": testVersion,
		"env":    map[string]any{"name": "shop", "release_id": "r2"},
		"deploy": map[string]any{"type": "git", "repository": "git@github.com:acme/shop.git", "ref": "main", "deploy_key": testKey},
	}
}

func validBuildArchive() map[string]any {
	return map[string]any{
		"op": "release_build", "version": testVersion,
		"env":    map[string]any{"name": "shop", "release_id": "r2"},
		"deploy": map[string]any{"type": "archive", "archive_url": "https://ci.example.com/builds/42/site.tar.gz?sig=abc", "max_bytes": 1 << 20},
	}
}

func validUpdate() map[string]any {
	return map[string]any{
		"op": "release_update", "version": testVersion,
		"env": map[string]any{"name": "shop", "release_id": "r3"},
		"update": map[string]any{"scope": "plugins", "items": []string{"hello-dolly"},
			"package_urls": map[string]any{"hello-dolly": "http://10.77.1.1:8080/hello-dolly.1.7.2.zip"}, "allow_private": true},
	}
}

func TestParseReleaseRequest(t *testing.T) {
	t.Parallel()
	switchReq := map[string]any{"op": "release_switch", "version": testVersion, "env": map[string]any{"name": "shop", "release_id": "r2", "url": "https://shop.example.com"}}
	prune := map[string]any{"op": "release_prune", "version": testVersion, "env": map[string]any{"name": "shop"}, "prune": map[string]any{"keep": []string{"r1", "r2"}}}
	updates := map[string]any{"op": "env_updates", "version": testVersion, "env": map[string]any{"name": "shop"}}
	sha := strings.Repeat("ab", 20)
	cases := []struct {
		name  string
		req   map[string]any
		code  string
		field string
	}{
		{"git", validBuildGit(), "", ""},
		{"git https", with(with(validBuildGit(), "deploy.repository", "https://github.com/acme/shop.git"), "deploy.deploy_key", nil), "", ""},
		{"git ssh url", with(validBuildGit(), "deploy.repository", "ssh://git@git.example.com:2222/acme/shop.git"), "", ""},
		{"git daemon", with(validBuildGit(), "deploy.repository", "git://10.77.1.1/site.git"), "", ""},
		{"git ipv6", with(validBuildGit(), "deploy.repository", "https://[2001:db8::1]:8443/site.git"), "", ""},
		{"git tag", with(validBuildGit(), "deploy.ref", "release/v1.2.3"), "", ""},
		{"git commit", with(validBuildGit(), "deploy.ref", sha), "", ""},
		{"archive url", validBuildArchive(), "", ""},
		{"archive path", with(with(validBuildArchive(), "deploy.archive_url", nil), "deploy.archive_path", "tmp/upload-1.zip"), "", ""},
		{"update", validUpdate(), "", ""},
		{"update all from wordpress.org", with(with(validUpdate(), "update.package_urls", nil), "update.scope", "all"), "", ""},
		{"update core package", with(with(validUpdate(), "update.scope", "core"), "update.package_urls", map[string]any{"core": "https://example.com/wordpress-6.2.zip"}), "", ""},
		{"switch", switchReq, "", ""},
		{"prune", prune, "", ""},
		{"prune keep none", with(prune, "prune.keep", []string{}), "", ""},
		{"updates", updates, "", ""},

		{"no deploy", with(validBuildGit(), "deploy", nil), protocol.ErrBadRequest, "deploy"},
		{"no release id", with(validBuildGit(), "env.release_id", nil), protocol.ErrBadRequest, "env.release_id"},
		{"release id path", with(validBuildGit(), "env.release_id", "../x"), protocol.ErrBadRequest, "env.release_id"},
		{"deploy type", with(validBuildGit(), "deploy.type", "svn"), protocol.ErrBadRequest, "deploy.type"},
		{"file repo", with(validBuildGit(), "deploy.repository", "file:///etc"), protocol.ErrBadRequest, "deploy.repository"},
		{"local path repo", with(validBuildGit(), "deploy.repository", "/srv/pressluft/other/repo"), protocol.ErrBadRequest, "deploy.repository"},
		{"ext repo", with(validBuildGit(), "deploy.repository", "ext::sh -c touch% /tmp/pwned"), protocol.ErrBadRequest, "deploy.repository"},
		{"option repo", with(validBuildGit(), "deploy.repository", "--upload-pack=touch /tmp/x"), protocol.ErrBadRequest, "deploy.repository"},
		{"repo with token", with(validBuildGit(), "deploy.repository", "https://user:token@github.com/acme/shop.git"), protocol.ErrBadRequest, "deploy.repository"},
		{"repo with password", with(validBuildGit(), "deploy.repository", "ssh://git:pw@github.com/acme/shop.git"), protocol.ErrBadRequest, "deploy.repository"},
		{"repo scp option path", with(validBuildGit(), "deploy.repository", "git@github.com:-oProxyCommand=x"), protocol.ErrBadRequest, "deploy.repository"},
		{"repo space", with(validBuildGit(), "deploy.repository", "https://github.com/acme/shop .git"), protocol.ErrBadRequest, "deploy.repository"},
		{"repo query", with(validBuildGit(), "deploy.repository", "https://github.com/acme/shop.git?x=1"), protocol.ErrBadRequest, "deploy.repository"},
		{"repo no path", with(validBuildGit(), "deploy.repository", "https://github.com/"), protocol.ErrBadRequest, "deploy.repository"},
		{"repo dotdot", with(validBuildGit(), "deploy.repository", "https://github.com/acme/../../shop.git"), protocol.ErrBadRequest, "deploy.repository"},
		{"no ref", with(validBuildGit(), "deploy.ref", nil), protocol.ErrBadRequest, "deploy.ref"},
		{"ref option", with(validBuildGit(), "deploy.ref", "--upload-pack=x"), protocol.ErrBadRequest, "deploy.ref"},
		{"ref refspec", with(validBuildGit(), "deploy.ref", "main:refs/heads/evil"), protocol.ErrBadRequest, "deploy.ref"},
		{"ref force", with(validBuildGit(), "deploy.ref", "+main"), protocol.ErrBadRequest, "deploy.ref"},
		{"ref dotdot", with(validBuildGit(), "deploy.ref", "a..b"), protocol.ErrBadRequest, "deploy.ref"},
		{"ref lock", with(validBuildGit(), "deploy.ref", "main.lock"), protocol.ErrBadRequest, "deploy.ref"},
		{"ref reflog", with(validBuildGit(), "deploy.ref", "main@{1}"), protocol.ErrBadRequest, "deploy.ref"},
		{"key garbage", with(validBuildGit(), "deploy.deploy_key", "ssh-ed25519 AAAA public"), protocol.ErrBadRequest, "deploy.deploy_key"},
		{"key control", with(validBuildGit(), "deploy.deploy_key", strings.Replace(testKey, "b3Bl", "b3\x00Bl", 1)), protocol.ErrBadRequest, "deploy.deploy_key"},
		{"git with archive", with(validBuildGit(), "deploy.archive_url", "https://example.com/a.zip"), protocol.ErrBadRequest, "deploy.archive_url"},
		{"archive with repo", with(validBuildArchive(), "deploy.repository", "https://github.com/a/b.git"), protocol.ErrBadRequest, "deploy.repository"},
		{"archive neither", with(validBuildArchive(), "deploy.archive_url", nil), protocol.ErrBadRequest, "deploy.archive_url"},
		{"archive both", with(validBuildArchive(), "deploy.archive_path", "tmp/a.zip"), protocol.ErrBadRequest, "deploy.archive_path"},
		{"archive ftp", with(validBuildArchive(), "deploy.archive_url", "ftp://example.com/a.zip"), protocol.ErrBadRequest, "deploy.archive_url"},
		{"archive creds", with(validBuildArchive(), "deploy.archive_url", "https://u:p@example.com/a.zip"), protocol.ErrBadRequest, "deploy.archive_url"},
		{"archive path abs", with(with(validBuildArchive(), "deploy.archive_url", nil), "deploy.archive_path", "/etc/shadow"), protocol.ErrBadRequest, "deploy.archive_path"},
		{"archive path out", with(with(validBuildArchive(), "deploy.archive_url", nil), "deploy.archive_path", "tmp/../shared/wp-config.php"), protocol.ErrBadRequest, "deploy.archive_path"},
		{"archive path not tmp", with(with(validBuildArchive(), "deploy.archive_url", nil), "deploy.archive_path", "shared/a.zip"), protocol.ErrBadRequest, "deploy.archive_path"},
		{"max bytes negative", with(validBuildArchive(), "deploy.max_bytes", -1), protocol.ErrBadRequest, "deploy.max_bytes"},
		{"deploy on switch", with(switchReq, "deploy", validBuildGit()["deploy"]), protocol.ErrBadRequest, "deploy"},
		{"update on build", with(validBuildGit(), "update", validUpdate()["update"]), protocol.ErrBadRequest, "update"},
		{"prune on create", with(validCreate(), "prune", map[string]any{"keep": []string{}}), protocol.ErrBadRequest, "prune"},
		{"backup on build", with(validBuildGit(), "backup", map[string]any{"id": "b1"}), protocol.ErrBadRequest, "backup"},
		{"no update", with(validUpdate(), "update", nil), protocol.ErrBadRequest, "update"},
		{"update scope", with(validUpdate(), "update.scope", "everything"), protocol.ErrBadRequest, "update.scope"},
		{"update item path", with(validUpdate(), "update.items", []string{"../wp-config"}), protocol.ErrBadRequest, "update.items[0]"},
		{"update slug path", with(validUpdate(), "update.package_urls", map[string]any{"a/b": "https://example.com/x.zip"}), protocol.ErrBadRequest, "update.package_urls"},
		{"update package file url", with(validUpdate(), "update.package_urls", map[string]any{"hello-dolly": "file:///etc/passwd"}), protocol.ErrBadRequest, "update.package_urls.hello-dolly"},
		{"update core in plugins", with(validUpdate(), "update.package_urls", map[string]any{"core": "https://example.com/wp.zip"}), protocol.ErrBadRequest, "update.package_urls"},
		{"switch without release", with(switchReq, "env.release_id", nil), protocol.ErrBadRequest, "env.release_id"},
		{"prune without keep", with(prune, "prune", nil), protocol.ErrBadRequest, "prune"},
		{"prune bad id", with(prune, "prune.keep", []string{"r1", "../../etc"}), protocol.ErrBadRequest, "prune.keep[1]"},
		{"updates bad name", with(updates, "env.name", "a b"), protocol.ErrBadRequest, "env.name"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			req, err := ParseRequest(mustJSON(c.req), testVersion)
			if c.code == "" {
				if err != nil {
					t.Fatalf("ParseRequest: %v", err)
				}
				if req.Op != c.req["op"] {
					t.Fatalf("op %q", req.Op)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want code %s", err, c.code)
			}
			if e.Code != c.code || !strings.Contains(e.Message, c.field) {
				t.Fatalf("err = %s %q, want code %s naming %q", e.Code, e.Message, c.code, c.field)
			}
		})
	}
}

func TestDeployKeyIsRedacted(t *testing.T) {
	t.Parallel()
	req, err := ParseRequest(mustJSON(validBuildGit()), testVersion)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	w := NewWriter(&out)
	addSecrets(w, req)
	w.Event("git", "info", "key: "+req.Deploy.DeployKey)
	w.Output("trimmed: " + strings.TrimSpace(req.Deploy.DeployKey))
	if strings.Contains(out.String(), "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ") {
		t.Fatalf("the key reached the output: %s", out.String())
	}
}
