package nodeagent

import (
	"errors"
	"strings"
	"testing"

	"github.com/pressluft/pressluft/agent/protocol"
)

func validOffsite() map[string]any {
	return map[string]any{"endpoint": "s3.eu-central-1.amazonaws.com", "use_tls": true, "region": "eu-central-1", "bucket": "acme-backups",
		"access_key": "AKIAEXAMPLE", "secret_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCY", "key": "pressluft/acme/production/b1"}
}

func validBackupCreate() map[string]any {
	return map[string]any{"op": "backup_create", "version": testVersion,
		"env":    map[string]any{"name": "acme-production", "url": "https://acme.example.com", "db_name": "acme_production", "db_user": "acme_production"},
		"backup": map[string]any{"id": "b-20260101-1", "scope": "full", "created_at": "2026-01-01T10:00:00Z"}}
}

func validBackupRestore() map[string]any {
	return map[string]any{"op": "backup_restore", "version": testVersion,
		"env": map[string]any{"name": "acme-staging", "type": "staging", "release_id": "r-restore-1", "url": "http://acme-staging.10-77-1-2.sslip.io",
			"db_name": "acme_staging", "db_user": "acme_staging", "db_password": "another-long-secret"},
		"backup":  map[string]any{"id": "b1", "env": "acme-production", "manifest_sha256": strings.Repeat("ab", 32)},
		"offsite": validOffsite()}
}

func validBackupRead() map[string]any {
	return map[string]any{"op": "backup_read", "version": testVersion, "env": map[string]any{"name": "acme-production"},
		"backup": map[string]any{"id": "b1", "part": "files.tar.zst", "offset": 100, "length": -1}}
}

func TestParseBackupRequests(t *testing.T) {
	t.Parallel()
	upload := map[string]any{"op": "backup_upload", "version": testVersion, "env": map[string]any{"name": "acme-production"},
		"backup": map[string]any{"id": "b1"}, "offsite": validOffsite()}
	del := map[string]any{"op": "backup_delete", "version": testVersion, "env": map[string]any{"name": "acme-production"},
		"backup": map[string]any{"id": "b1"}}
	cases := []struct {
		name  string
		req   any
		code  string
		field string
	}{
		{"create", validBackupCreate(), "", ""},
		{"create db", with(validBackupCreate(), "backup.scope", "db"), "", ""},
		{"upload", upload, "", ""},
		{"upload to ip and port", with(upload, "offsite.endpoint", "10.77.1.1:9000"), "", ""},
		{"upload without region", with(upload, "offsite.region", ""), "", ""},
		{"restore", validBackupRestore(), "", ""},
		{"restore without offsite", with(validBackupRestore(), "offsite", nil), "", ""},
		{"delete", del, "", ""},
		{"delete offsite", with(del, "offsite", validOffsite()), "", ""},
		{"read", validBackupRead(), "", ""},
		{"read manifest", with(validBackupRead(), "backup.part", "manifest.json"), "", ""},

		{"no backup", with(validBackupCreate(), "backup", nil), protocol.ErrBadRequest, "backup"},
		{"backup on env op", with(validCreate(), "backup", map[string]any{"id": "b1"}), protocol.ErrBadRequest, "backup"},
		{"offsite on env op", with(validCreate(), "offsite", validOffsite()), protocol.ErrBadRequest, "offsite"},
		{"id path", with(validBackupCreate(), "backup.id", "../x"), protocol.ErrBadRequest, "backup.id"},
		{"id dot", with(validBackupCreate(), "backup.id", ".x"), protocol.ErrBadRequest, "backup.id"},
		{"scope", with(validBackupCreate(), "backup.scope", "all"), protocol.ErrBadRequest, "backup.scope"},
		{"no created_at", with(validBackupCreate(), "backup.created_at", nil), protocol.ErrBadRequest, "backup.created_at"},
		{"create without db", with(validBackupCreate(), "env.db_name", nil), protocol.ErrBadRequest, "env.db_name"},
		{"create without url", with(validBackupCreate(), "env.url", nil), protocol.ErrBadRequest, "env.url"},
		{"create with part", with(validBackupCreate(), "backup.part", "db.sql.zst"), protocol.ErrBadRequest, "backup.part"},
		{"create with offsite", with(validBackupCreate(), "offsite", validOffsite()), protocol.ErrBadRequest, "offsite"},
		{"upload without offsite", with(upload, "offsite", nil), protocol.ErrBadRequest, "offsite"},
		{"upload with scope", with(upload, "backup.scope", "db"), protocol.ErrBadRequest, "backup.scope"},
		{"endpoint scheme", with(upload, "offsite.endpoint", "https://s3.example.com"), protocol.ErrBadRequest, "offsite.endpoint"},
		{"endpoint path", with(upload, "offsite.endpoint", "s3.example.com/x"), protocol.ErrBadRequest, "offsite.endpoint"},
		{"endpoint user", with(upload, "offsite.endpoint", "u@s3.example.com"), protocol.ErrBadRequest, "offsite.endpoint"},
		{"endpoint port", with(upload, "offsite.endpoint", "s3.example.com:0"), protocol.ErrBadRequest, "offsite.endpoint"},
		{"endpoint big port", with(upload, "offsite.endpoint", "s3.example.com:65536"), protocol.ErrBadRequest, "offsite.endpoint"},
		{"endpoint bad ip", with(upload, "offsite.endpoint", "10.77.1.300"), protocol.ErrBadRequest, "offsite.endpoint"},
		{"endpoint empty", with(upload, "offsite.endpoint", ""), protocol.ErrBadRequest, "offsite.endpoint"},
		{"bucket upper", with(upload, "offsite.bucket", "Acme"), protocol.ErrBadRequest, "offsite.bucket"},
		{"bucket short", with(upload, "offsite.bucket", "ab"), protocol.ErrBadRequest, "offsite.bucket"},
		{"bucket dots", with(upload, "offsite.bucket", "a..b"), protocol.ErrBadRequest, "offsite.bucket"},
		{"bucket ip", with(upload, "offsite.bucket", "10.0.0.1"), protocol.ErrBadRequest, "offsite.bucket"},
		{"bucket slash", with(upload, "offsite.bucket", "a/b"), protocol.ErrBadRequest, "offsite.bucket"},
		{"region", with(upload, "offsite.region", "eu central"), protocol.ErrBadRequest, "offsite.region"},
		{"access key space", with(upload, "offsite.access_key", "AKIA X"), protocol.ErrBadRequest, "offsite.access_key"},
		{"secret newline", with(upload, "offsite.secret_key", "0123456789\n"), protocol.ErrBadRequest, "offsite.secret_key"},
		{"secret short", with(upload, "offsite.secret_key", "short"), protocol.ErrBadRequest, "offsite.secret_key"},
		{"key dotdot", with(upload, "offsite.key", "a/../b"), protocol.ErrBadRequest, "offsite.key"},
		{"key dotdot inside", with(upload, "offsite.key", "a/b..c"), protocol.ErrBadRequest, "offsite.key"},
		{"key absolute", with(upload, "offsite.key", "/a/b"), protocol.ErrBadRequest, "offsite.key"},
		{"key trailing slash", with(upload, "offsite.key", "a/b/"), protocol.ErrBadRequest, "offsite.key"},
		{"key empty", with(upload, "offsite.key", ""), protocol.ErrBadRequest, "offsite.key"},
		{"key space", with(upload, "offsite.key", "a b"), protocol.ErrBadRequest, "offsite.key"},
		{"key long", with(upload, "offsite.key", strings.Repeat("a/", 300)+"a"), protocol.ErrBadRequest, "offsite.key"},
		{"restore without type", with(validBackupRestore(), "env.type", nil), protocol.ErrBadRequest, "env.type"},
		{"restore without release", with(validBackupRestore(), "env.release_id", nil), protocol.ErrBadRequest, "env.release_id"},
		{"restore without url", with(validBackupRestore(), "env.url", nil), protocol.ErrBadRequest, "env.url"},
		{"restore without db", with(validBackupRestore(), "env.db_user", nil), protocol.ErrBadRequest, "env.db_user"},
		{"restore source env", with(validBackupRestore(), "backup.env", "../x"), protocol.ErrBadRequest, "backup.env"},
		{"restore no source env", with(validBackupRestore(), "backup.env", nil), protocol.ErrBadRequest, "backup.env"},
		{"restore sha upper", with(validBackupRestore(), "backup.manifest_sha256", strings.Repeat("AB", 32)), protocol.ErrBadRequest, "backup.manifest_sha256"},
		{"restore sha short", with(validBackupRestore(), "backup.manifest_sha256", "abc"), protocol.ErrBadRequest, "backup.manifest_sha256"},
		{"env on delete", with(del, "backup.env", "x"), protocol.ErrBadRequest, "backup.env"},
		{"read part", with(validBackupRead(), "backup.part", "../../etc/shadow"), protocol.ErrBadRequest, "backup.part"},
		{"read part other", with(validBackupRead(), "backup.part", "wp-config.php"), protocol.ErrBadRequest, "backup.part"},
		{"read offset", with(validBackupRead(), "backup.offset", -1), protocol.ErrBadRequest, "backup.offset"},
		{"read length", with(validBackupRead(), "backup.length", -2), protocol.ErrBadRequest, "backup.length"},
		{"read with offsite", with(validBackupRead(), "offsite", validOffsite()), protocol.ErrBadRequest, "offsite"},
		{"read env", with(validBackupRead(), "env.name", "Acme"), protocol.ErrBadRequest, "env.name"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			req, err := ParseRequest(mustJSON(c.req), testVersion)
			if c.code == "" {
				if err != nil {
					t.Fatalf("ParseRequest: %v", err)
				}
				if req.Backup == nil {
					t.Fatalf("no backup in %+v", req)
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
			if strings.Contains(e.Message, "wJalrXUtnFEMI") {
				t.Fatalf("the secret key is in the message: %s", e.Message)
			}
		})
	}
}

func TestOffsiteSecretIsRedacted(t *testing.T) {
	t.Parallel()
	req, err := ParseRequest(mustJSON(validBackupRestore()), testVersion)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	w := NewWriter(&out)
	addSecrets(w, req)
	w.Event("upload", "info", "signing with wJalrXUtnFEMI/K7MDENG/bPxRfiCY and another-long-secret")
	if strings.Contains(out.String(), "wJalrXUtnFEMI") || strings.Contains(out.String(), "another-long-secret") {
		t.Fatalf("a secret was written: %s", out.String())
	}
}
