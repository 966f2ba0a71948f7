package nodeagent

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/pressluft/pressluft/agent/protocol"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// hostile is everything PHP and SQL string literals must survive.
const hostile = `q'uote"d \back\\slash $dollar {{ 7*7 }} <?php ?> /* */`

func testEnv(envType string) *protocol.Env {
	return &protocol.Env{
		Name: "acme-staging", Type: envType, ReleaseID: "r1", URL: "https://acme-staging.10-77-1-2.sslip.io",
		ServerNames: []string{"acme-staging.10-77-1-2.sslip.io", "www.acme.test"},
		DBName:      "acme_staging", DBUser: "acme_staging", DBPassword: hostile,
	}
}

func TestTemplatesGolden(t *testing.T) {
	t.Parallel()
	staging := newConfigData(testEnv("staging"), &nodeFacts{PHPVersion: "8.2", AcmeSnippet: true, Offline: true})
	production := newConfigData(testEnv("production"), &nodeFacts{PHPVersion: "8.2", IPv6: true})
	staging.Salts = []salt{{"AUTH_KEY", "a-fixed-salt"}, {"NONCE_SALT", "another-fixed-salt"}}
	cases := []struct {
		golden, template string
		data             any
	}{
		{"nginx-vhost-staging.conf", "nginx-vhost.conf.tmpl", staging},
		{"nginx-vhost-production.conf", "nginx-vhost.conf.tmpl", production},
		{"php-fpm-pool-staging.conf", "php-fpm-pool.conf.tmpl", staging},
		{"php-fpm-pool-production.conf", "php-fpm-pool.conf.tmpl", production},
		{"cron-staging", "cron.tmpl", staging},
		{"cron-production", "cron.tmpl", production},
		{"wp-config-staging.php", "wp-config.php.tmpl", staging},
		{"wp-config-production.php", "wp-config.php.tmpl", production},
		{"release-wp-config.php", "release-wp-config.php.tmpl", staging},
		{"wp-salts.php", "wp-salts.php.tmpl", staging},
		{"database.sql", "database.sql.tmpl", testEnv("staging")},
		{"database-drop.sql", "database-drop.sql.tmpl", testEnv("staging")},
		{"copy-options.sql", "copy-options.sql.tmpl", map[string]any{"DBName": "acme_staging", "URL": "https://a.test", "Noindex": true}},
	}
	for _, c := range cases {
		got, err := render(c.template, c.data)
		if err != nil {
			t.Fatalf("%s: %v", c.template, err)
		}
		path := filepath.Join("testdata", c.golden+".golden")
		if *update {
			if err := os.WriteFile(path, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test ./nodeagent -run TestTemplatesGolden -update)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from %s:\n%s", c.template, path, got)
		}
	}
}

func TestTemplatesDecideByEnvironment(t *testing.T) {
	t.Parallel()
	staging := newConfigData(testEnv("staging"), &nodeFacts{PHPVersion: "8.2"})
	production := newConfigData(testEnv("production"), &nodeFacts{PHPVersion: "8.2", IPv6: true, Offline: true})
	checks := []struct {
		template string
		data     configData
		pattern  string
		want     bool
	}{
		{"nginx-vhost.conf.tmpl", staging, `add_header X-Robots-Tag "noindex, nofollow" always;`, true},
		{"nginx-vhost.conf.tmpl", production, `X-Robots-Tag`, false},
		{"nginx-vhost.conf.tmpl", staging, `\[::\]`, false},
		{"nginx-vhost.conf.tmpl", production, `(?m)^    listen \[::\]:80;$`, true},
		{"nginx-vhost.conf.tmpl", staging, `pressluft-acme.conf`, false},
		{"nginx-vhost.conf.tmpl", staging, `server_name acme-staging.10-77-1-2.sslip.io www.acme.test;`, true},
		{"nginx-vhost.conf.tmpl", staging, `fastcgi_pass unix:/run/php/pl-acme-staging.sock;`, true},
		{"php-fpm-pool.conf.tmpl", staging, `(?m)^php_admin_value\[sendmail_path\] = /bin/true$`, true},
		{"php-fpm-pool.conf.tmpl", production, `sendmail_path`, false},
		{"php-fpm-pool.conf.tmpl", staging, `(?m)^php_admin_value\[open_basedir\] = /srv/pressluft/acme-staging/$`, true},
		{"cron.tmpl", staging, `(?m)^[0-4]-59/5 \* \* \* \* acme-staging flock -n /srv/pressluft/acme-staging/tmp/cron.lock php `, true},
		{"cron.tmpl", production, `sendmail_path`, false},
		{"wp-config.php.tmpl", staging, `define\( 'WP_ENVIRONMENT_TYPE', 'staging' \);`, true},
		{"wp-config.php.tmpl", production, `define\( 'WP_ENVIRONMENT_TYPE', 'production' \);`, true},
		{"wp-config.php.tmpl", staging, `WP_HTTP_BLOCK_EXTERNAL`, false},
		{"wp-config.php.tmpl", production, `define\( 'WP_HTTP_BLOCK_EXTERNAL', true \);`, true},
		{"wp-config.php.tmpl", production, `define\( 'WP_(HOME|SITEURL)'`, false},
	}
	for _, c := range checks {
		got, err := render(c.template, c.data)
		if err != nil {
			t.Fatal(err)
		}
		if regexp.MustCompile(c.pattern).Match(got) != c.want {
			t.Errorf("%s (%s): match of %q should be %t:\n%s", c.template, c.data.Type, c.pattern, c.want, got)
		}
	}
}

// The password reaches PHP and MariaDB unchanged: the literals decode to it.
func TestLiteralsDecodeToTheValue(t *testing.T) {
	t.Parallel()
	for _, v := range []string{hostile, "", `\`, `'`, `\'`, `''`, `a\\'b`, "plain-password-1234"} {
		if got := decodePHPSingleQuoted(t, phpString(v)); got != v {
			t.Errorf("PHP literal %s decodes to %q, want %q", phpString(v), got, v)
		}
		if got := decodeSQLString(t, sqlString(v)); got != v {
			t.Errorf("SQL literal %s decodes to %q, want %q", sqlString(v), got, v)
		}
	}
	config, err := render("wp-config.php.tmpl", newConfigData(testEnv("staging"), &nodeFacts{PHPVersion: "8.2"}))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`define\( 'DB_PASSWORD', ('(?:[^'\\]|\\.)*') \);`).FindSubmatch(config)
	if m == nil || decodePHPSingleQuoted(t, string(m[1])) != hostile {
		t.Errorf("DB_PASSWORD does not hold the password:\n%s", config)
	}
}

// decodePHPSingleQuoted reads a PHP single-quoted literal as PHP does:
// only \\ and \' are escapes.
func decodePHPSingleQuoted(t *testing.T, lit string) string {
	t.Helper()
	if len(lit) < 2 || lit[0] != '\'' || lit[len(lit)-1] != '\'' {
		t.Fatalf("not a literal: %s", lit)
	}
	var b strings.Builder
	body := lit[1 : len(lit)-1]
	for i := 0; i < len(body); i++ {
		c := body[i]
		switch {
		case c == '\\' && i+1 < len(body) && (body[i+1] == '\\' || body[i+1] == '\''):
			b.WriteByte(body[i+1])
			i++
		case c == '\'':
			t.Fatalf("unescaped quote in %s", lit)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// decodeSQLString reads a MariaDB literal with backslash escapes on.
func decodeSQLString(t *testing.T, lit string) string {
	t.Helper()
	if len(lit) < 2 || lit[0] != '\'' || lit[len(lit)-1] != '\'' {
		t.Fatalf("not a literal: %s", lit)
	}
	var b strings.Builder
	body := lit[1 : len(lit)-1]
	for i := 0; i < len(body); i++ {
		c := body[i]
		switch {
		case c == '\\' && i+1 < len(body):
			b.WriteByte(body[i+1])
			i++
		case c == '\'' && i+1 < len(body) && body[i+1] == '\'':
			b.WriteByte('\'')
			i++
		case c == '\'' || c == '\\':
			t.Fatalf("unescaped %c in %s", c, lit)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func TestCronMinuteMatchesThePlaybooks(t *testing.T) {
	t.Parallel()
	// (md5(name)[:6] as hex) % 5, as the cron.j2 template computed it.
	cases := map[string]int{"shop": 3, "acme-staging": cronMinute("acme-staging")}
	for name, want := range cases {
		if got := cronMinute(name); got != want || got < 0 || got > 4 {
			t.Errorf("cronMinute(%q) = %d, want %d", name, got, want)
		}
	}
}

func TestSaltsAreRandomAndSafe(t *testing.T) {
	t.Parallel()
	a, err := newSalts()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := newSalts()
	if len(a) != 8 {
		t.Fatalf("%d salts, want 8", len(a))
	}
	seen := map[string]bool{}
	for i, s := range a {
		if len(s.Value) != 64 || strings.ContainsAny(s.Value, `'\"`) {
			t.Errorf("salt %s = %q: want 64 characters without quotes or backslashes", s.Key, s.Value)
		}
		if seen[s.Value] || s.Value == b[i].Value {
			t.Errorf("salt %s repeats", s.Key)
		}
		seen[s.Value] = true
	}
}
