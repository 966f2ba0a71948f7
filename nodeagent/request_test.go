package nodeagent

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/pressluft/pressluft/agent/protocol"
)

const testVersion = "1.2.3"

func validCreate() map[string]any {
	return map[string]any{
		"op": "env_create", "version": testVersion,
		"env": map[string]any{
			"name": "shop", "type": "production", "release_id": "20260101-1", "url": "https://shop.example.com",
			"server_names": []string{"shop.example.com", "www.shop.example.com"},
			"db_name":      "shop", "db_user": "shop", "db_password": "correct-horse-battery",
		},
		"install": map[string]any{"title": "Shop", "admin_user": "admin", "admin_email": "a@b.co", "admin_password": "admin-pass"},
	}
}

func validCopy() map[string]any {
	return map[string]any{
		"op": "env_copy", "version": testVersion,
		"env": map[string]any{
			"name": "shop-staging", "type": "staging", "release_id": "r2", "url": "http://shop-staging.10-77-1-2.sslip.io",
			"server_names": []string{"shop-staging.10-77-1-2.sslip.io"},
			"db_name":      "shop_staging", "db_user": "shop_staging", "db_password": "another-long-secret",
		},
		"source": map[string]any{"name": "shop", "db_name": "shop", "url": "https://shop.example.com"},
	}
}

// with returns a copy of req with the value at the dotted path set (nil removes it).
func with(req map[string]any, path string, value any) map[string]any {
	var clone map[string]any
	_ = json.Unmarshal(mustJSON(req), &clone)
	m := clone
	keys := strings.Split(path, ".")
	for _, k := range keys[:len(keys)-1] {
		m = m[k].(map[string]any)
	}
	if value == nil {
		delete(m, keys[len(keys)-1])
	} else {
		m[keys[len(keys)-1]] = value
	}
	return clone
}

func TestParseRequest(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		req   any
		code  string // "" = valid
		field string // named in the message
	}{
		{"create", validCreate(), "", ""},
		{"copy", validCopy(), "", ""},
		{"version", map[string]any{"op": "version", "version": testVersion}, "", ""},
		{"delete", map[string]any{"op": "env_delete", "version": testVersion, "env": map[string]any{"name": "shop", "db_name": "shop", "db_user": "shop"}}, "", ""},
		{"health", map[string]any{"op": "env_health", "version": testVersion, "env": map[string]any{"name": "shop", "url": "https://shop.example.com"}}, "", ""},
		{"url with slash", with(validCreate(), "env.url", "https://shop.example.com/"), "", ""},
		{"url with port", with(validCreate(), "env.url", "https://shop.example.com:8443"), "", ""},
		{"password of 16", with(validCreate(), "env.db_password", "0123456789abcdef"), "", ""},
		{"password with quotes", with(validCreate(), "env.db_password", `'"\\ $x; DROP TABLE`), "", ""},

		{"unknown op", map[string]any{"op": "rm_rf", "version": testVersion}, protocol.ErrUnknownOp, ""},
		{"no op", map[string]any{"version": testVersion}, protocol.ErrBadRequest, "op"},
		{"wrong version", with(validCreate(), "version", "0.0.1"), protocol.ErrVersionMismatch, ""},
		{"unknown field", with(validCreate(), "env.shell", "rm -rf /"), protocol.ErrBadRequest, "shell"},
		{"wrong type", with(validCreate(), "env.server_names", "shop.example.com"), protocol.ErrBadRequest, "server_names"},
		{"no env", with(validCreate(), "env", nil), protocol.ErrBadRequest, "env"},
		{"name upper", with(validCreate(), "env.name", "Shop"), protocol.ErrBadRequest, "env.name"},
		{"name path", with(validCreate(), "env.name", "../etc"), protocol.ErrBadRequest, "env.name"},
		{"name too long", with(validCreate(), "env.name", "a"+strings.Repeat("b", 32)), protocol.ErrBadRequest, "env.name"},
		{"type", with(validCreate(), "env.type", "dev"), protocol.ErrBadRequest, "env.type"},
		{"create staging", with(validCreate(), "env.type", "staging"), protocol.ErrBadRequest, "env.type"},
		{"release slash", with(validCreate(), "env.release_id", "a/b"), protocol.ErrBadRequest, "env.release_id"},
		{"release dot first", with(validCreate(), "env.release_id", ".hidden"), protocol.ErrBadRequest, "env.release_id"},
		{"url path", with(validCreate(), "env.url", "https://shop.example.com/wp"), protocol.ErrBadRequest, "env.url"},
		{"url scheme", with(validCreate(), "env.url", "ftp://shop.example.com"), protocol.ErrBadRequest, "env.url"},
		{"url upper", with(validCreate(), "env.url", "https://Shop.example.com"), protocol.ErrBadRequest, "env.url"},
		{"url bad label", with(validCreate(), "env.url", "https://-shop.example.com"), protocol.ErrBadRequest, "env.url"},
		{"url port zero", with(validCreate(), "env.url", "https://shop.example.com:0"), protocol.ErrBadRequest, "env.url"},
		{"url port big", with(validCreate(), "env.url", "https://shop.example.com:70000"), protocol.ErrBadRequest, "env.url"},
		{"no server names", with(validCreate(), "env.server_names", []string{}), protocol.ErrBadRequest, "env.server_names"},
		{"server name injection", with(validCreate(), "env.server_names", []string{"shop.example.com", "a; include /etc/passwd"}), protocol.ErrBadRequest, "env.server_names[1]"},
		{"url host not served", with(validCreate(), "env.server_names", []string{"other.example.com"}), protocol.ErrBadRequest, "env.server_names"},
		{"db name", with(validCreate(), "env.db_name", "shop`; DROP"), protocol.ErrBadRequest, "env.db_name"},
		{"db user", with(validCreate(), "env.db_user", "x"), protocol.ErrBadRequest, "env.db_user"},
		{"short password", with(validCreate(), "env.db_password", "short"), protocol.ErrBadRequest, "env.db_password"},
		{"password newline", with(validCreate(), "env.db_password", "0123456789abcdef\n"), protocol.ErrBadRequest, "env.db_password"},
		{"password unicode", with(validCreate(), "env.db_password", "0123456789abcdefü"), protocol.ErrBadRequest, "env.db_password"},
		{"no install", with(validCreate(), "install", nil), protocol.ErrBadRequest, "install"},
		{"blank title", with(validCreate(), "install.title", "  "), protocol.ErrBadRequest, "install.title"},
		{"title control", with(validCreate(), "install.title", "a\x00b"), protocol.ErrBadRequest, "install.title"},
		{"admin user", with(validCreate(), "install.admin_user", "ad min"), protocol.ErrBadRequest, "install.admin_user"},
		{"admin email", with(validCreate(), "install.admin_email", "nobody"), protocol.ErrBadRequest, "install.admin_email"},
		{"admin password", with(validCreate(), "install.admin_password", "short"), protocol.ErrBadRequest, "install.admin_password"},
		{"install on copy", with(validCopy(), "install", map[string]any{"title": "x"}), protocol.ErrBadRequest, "install"},
		{"source on create", with(validCreate(), "source", map[string]any{"name": "x"}), protocol.ErrBadRequest, "source"},
		{"copy production", with(validCopy(), "env.type", "production"), protocol.ErrBadRequest, "env.type"},
		{"no source", with(validCopy(), "source", nil), protocol.ErrBadRequest, "source"},
		{"source is target", with(validCopy(), "source.name", "shop-staging"), protocol.ErrBadRequest, "source.name"},
		{"source same db", with(validCopy(), "source.db_name", "shop_staging"), protocol.ErrBadRequest, "source.db_name"},
		{"source url", with(validCopy(), "source.url", "https://shop.example.com/path"), protocol.ErrBadRequest, "source.url"},
		{"delete without db", map[string]any{"op": "env_delete", "version": testVersion, "env": map[string]any{"name": "shop"}}, protocol.ErrBadRequest, "env.db_name"},
		{"health bad name", map[string]any{"op": "env_health", "version": testVersion, "env": map[string]any{"name": "root/.."}}, protocol.ErrBadRequest, "env.name"},
		{"version with env", map[string]any{"op": "version", "version": testVersion, "env": map[string]any{"name": "x"}}, protocol.ErrBadRequest, "env"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			line := mustJSON(c.req)
			req, err := ParseRequest(line, testVersion)
			if c.code == "" {
				if err != nil {
					t.Fatalf("ParseRequest: %v", err)
				}
				if req.Op == "" {
					t.Fatalf("no op in %+v", req)
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

func TestParseRequestRejectsMalformedInput(t *testing.T) {
	t.Parallel()
	for _, line := range []string{``, `{`, `[]`, `null x`, `{"op":"version","version":"1.2.3"} {"op":"env_delete"}`, `{"op":1}`, strings.Repeat(" ", MaxRequestBytes+1)} {
		_, err := ParseRequest([]byte(line), testVersion)
		var e *Error
		if !errors.As(err, &e) || (e.Code != protocol.ErrBadRequest && e.Code != protocol.ErrUnknownOp) {
			t.Errorf("ParseRequest(%.40q) = %v, want bad_request", line, err)
		}
	}
}

// FuzzParseRequest: whatever arrives, the parser answers a request that
// passed validation or an *Error with a protocol code, and never panics.
func FuzzParseRequest(f *testing.F) {
	f.Add(mustJSON(validCreate()))
	f.Add(mustJSON(validCopy()))
	f.Add([]byte(`{"op":"version","version":"1.2.3"}`))
	f.Add([]byte(`{"op":"env_delete","version":"1.2.3","env":{"name":"a-b","db_name":"a_b","db_user":"a_b"}}`))
	f.Add(mustJSON(validBackupCreate()))
	f.Add(mustJSON(validBackupRestore()))
	f.Add(mustJSON(validBackupRead()))
	f.Add(mustJSON(validBuildGit()))
	f.Add(mustJSON(validBuildArchive()))
	f.Add(mustJSON(validUpdate()))
	f.Fuzz(func(t *testing.T, line []byte) {
		req, err := ParseRequest(line, testVersion)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error without a code: %v", err)
			}
			switch e.Code {
			case protocol.ErrBadRequest, protocol.ErrUnknownOp, protocol.ErrVersionMismatch:
			default:
				t.Fatalf("unexpected code %s", e.Code)
			}
			return
		}
		if req.Version != testVersion {
			t.Fatalf("accepted version %q", req.Version)
		}
		for _, env := range []*protocol.Env{req.Env, req.Source} {
			if env == nil {
				continue
			}
			if !envNamePattern.MatchString(env.Name) {
				t.Fatalf("accepted name %q", env.Name)
			}
			for _, s := range append([]string{env.ReleaseID, env.URL, env.DBName, env.DBUser}, env.ServerNames...) {
				if strings.ContainsAny(s, " ;'\"`\\\n/$") && !strings.HasPrefix(s, "http") {
					t.Fatalf("accepted %q", s)
				}
			}
		}
		if b := req.Backup; b != nil {
			for _, s := range []string{b.ID, b.Env, b.Part} {
				if strings.ContainsAny(s, "/\\\x00 ") || strings.HasPrefix(s, ".") {
					t.Fatalf("accepted backup name %q", s)
				}
			}
			if b.Offset < 0 || b.Length < -1 {
				t.Fatalf("accepted range %d+%d", b.Offset, b.Length)
			}
		}
		if d := req.Deploy; d != nil {
			for _, s := range []string{d.Repository, d.Ref, d.ArchiveURL, d.ArchivePath} {
				if strings.HasPrefix(s, "-") || strings.ContainsAny(s, " \n\x00") {
					t.Fatalf("accepted deploy field %q", s)
				}
			}
			if strings.HasPrefix(d.Repository, "file:") || strings.HasPrefix(d.Repository, "ext:") || strings.ContainsAny(d.Ref, ":^~ ") ||
				d.ArchivePath != "" && (!strings.HasPrefix(d.ArchivePath, "tmp/") || strings.Contains(d.ArchivePath, "..")) {
				t.Fatalf("accepted deploy %+v", d)
			}
		}
		if u := req.Update; u != nil {
			for _, s := range u.Items {
				if strings.ContainsAny(s, "/\\\x00 ") || strings.HasPrefix(s, ".") {
					t.Fatalf("accepted update item %q", s)
				}
			}
			for slug := range u.PackageURLs {
				if strings.ContainsAny(slug, "/\\\x00 ") || strings.HasPrefix(slug, ".") {
					t.Fatalf("accepted package slug %q", slug)
				}
			}
		}
		if pr := req.Prune; pr != nil {
			for _, id := range pr.Keep {
				if !releaseIDPattern.MatchString(id) {
					t.Fatalf("accepted keep %q", id)
				}
			}
		}
		if o := req.Offsite; o != nil {
			if strings.Contains(o.Key, "..") || strings.HasPrefix(o.Key, "/") || strings.HasSuffix(o.Key, "/") ||
				strings.ContainsAny(o.Endpoint, "/@?# ") || strings.ContainsAny(o.Bucket, "/ ") {
				t.Fatalf("accepted offsite %+v", o)
			}
		}
	})
}
