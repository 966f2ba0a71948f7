package nodeagent

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pressluft/pressluft"
	"github.com/pressluft/pressluft/agent/protocol"
)

func validState() map[string]any {
	return map[string]any{"op": "env_state", "version": testVersion,
		"env": map[string]any{"name": "shop-production", "db_name": "shop_production", "db_user": "shop_production"}}
}

func validPromote() map[string]any {
	return map[string]any{"op": "db_promote", "version": testVersion,
		"env": map[string]any{"name": "shop-production", "type": "production", "url": "https://shop.example.com",
			"db_name": "shop_production", "db_user": "shop_production"},
		"source": map[string]any{"name": "shop-staging", "type": "staging", "url": "http://shop-staging.node.test",
			"db_name": "shop_staging", "db_user": "shop_staging"},
		"promote": map[string]any{"protect": []string{"wp_posts", "wp_wc_*", "wp_woocommerce_*"}, "run_id": "promote-01"},
	}
}

func validBuildEnvironment() map[string]any {
	return map[string]any{"op": "release_build", "version": testVersion,
		"env":    map[string]any{"name": "shop-production", "release_id": "r9"},
		"deploy": map[string]any{"type": "environment", "environment": "shop-staging"}}
}

func TestParsePromoteRequest(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		req   map[string]any
		code  string
		field string
	}{
		{"state", validState(), "", ""},
		{"promote", validPromote(), "", ""},
		{"promote nothing protected", with(validPromote(), "promote.protect", []string{}), "", ""},
		{"promote class pattern", with(validPromote(), "promote.protect", []string{"wp_[a-c]*", "wp_?osts"}), "", ""},
		{"build from environment", validBuildEnvironment(), "", ""},

		{"state without db", with(validState(), "env.db_name", nil), protocol.ErrBadRequest, "env.db_name"},
		{"state bad name", with(validState(), "env.name", "../etc"), protocol.ErrBadRequest, "env.name"},
		{"state with source", with(validState(), "source", validPromote()["source"]), protocol.ErrBadRequest, "source"},
		{"state with promote", with(validState(), "promote", validPromote()["promote"]), protocol.ErrBadRequest, "promote"},
		{"state with backup", with(validState(), "backup", map[string]any{"id": "b1"}), protocol.ErrBadRequest, "backup"},
		{"promote on copy", with(validCopy(), "promote", validPromote()["promote"]), protocol.ErrBadRequest, "promote"},
		{"promote without promote", with(validPromote(), "promote", nil), protocol.ErrBadRequest, "promote"},
		{"promote without source", with(validPromote(), "source", nil), protocol.ErrBadRequest, "source"},
		{"promote without url", with(validPromote(), "env.url", nil), protocol.ErrBadRequest, "env.url"},
		{"promote without source url", with(validPromote(), "source.url", nil), protocol.ErrBadRequest, "source.url"},
		{"promote to itself", with(validPromote(), "source.name", "shop-production"), protocol.ErrBadRequest, "source.name"},
		{"promote same database", with(validPromote(), "source.db_name", "shop_production"), protocol.ErrBadRequest, "source.db_name"},
		{"promote bad source db", with(validPromote(), "source.db_name", "x`; DROP"), protocol.ErrBadRequest, "source.db_name"},
		{"promote no run id", with(validPromote(), "promote.run_id", nil), protocol.ErrBadRequest, "promote.run_id"},
		{"promote run id path", with(validPromote(), "promote.run_id", "../x"), protocol.ErrBadRequest, "promote.run_id"},
		{"promote quote", with(validPromote(), "promote.protect", []string{"wp_posts", "wp_`x"}), protocol.ErrBadRequest, "promote.protect[1]"},
		{"promote empty name", with(validPromote(), "promote.protect", []string{""}), protocol.ErrBadRequest, "promote.protect[0]"},
		{"promote bad pattern", with(validPromote(), "promote.protect", []string{"wp_[a"}), protocol.ErrBadRequest, "promote.protect[0]"},
		{"promote too many", with(validPromote(), "promote.protect", strings.Split(strings.Repeat("wp_x,", maxProtect+1), ",")), protocol.ErrBadRequest, "promote.protect"},
		{"build from itself", with(validBuildEnvironment(), "deploy.environment", "shop-production"), protocol.ErrBadRequest, "deploy.environment"},
		{"build from bad name", with(validBuildEnvironment(), "deploy.environment", "../shop"), protocol.ErrBadRequest, "deploy.environment"},
		{"build from nothing", with(validBuildEnvironment(), "deploy.environment", nil), protocol.ErrBadRequest, "deploy.environment"},
		{"build from env with url", with(validBuildEnvironment(), "deploy.archive_url", "https://example.com/a.zip"), protocol.ErrBadRequest, "deploy.environment"},
		{"git with environment", with(validBuildGit(), "deploy.environment", "shop-staging"), protocol.ErrBadRequest, "deploy.environment"},
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

// The agent's match is the control plane's, which it does not import.
func TestTableProtectedAgrees(t *testing.T) {
	t.Parallel()
	patterns := pressluft.ProtectedPatterns(pressluft.PresetCommerce, []string{"orders", "wp_[x-z]?", "custom_*"})
	for _, table := range []string{"wp_posts", "wp_postmeta", "wp_options", "wp_wc_orders", "wp_woocommerce_sessions",
		"wp_wc", "wp_orders", "wp_y1", "wp_yy1", "wp_custom_a", "custom_a", "wp_users", "wp_usermeta", "wp_termmeta",
		"wp_links", "WP_POSTS", "wp_posts_backup", ""} {
		if got, want := tableProtected(patterns, table), pressluft.TableProtected(patterns, table); got != want {
			t.Errorf("%q: agent %t, control plane %t", table, got, want)
		}
	}
	if !tableProtected([]string{"wp_wc_*"}, "wp_wc_orders") || tableProtected([]string{"wp_wc_*"}, "wp_options") {
		t.Error("wp_wc_* must match wp_wc_orders and not wp_options")
	}
}

func TestOptionsChecksumLeavesOutVolatileRows(t *testing.T) {
	t.Parallel()
	sql := optionsChecksumSQL("shop_production")
	for _, want := range []string{"`shop_production`.`wp_options`", `NOT LIKE '\\_transient\\_%'`, `NOT LIKE '\\_site\\_transient\\_%'`,
		"'cron'", "'doing_cron'", "'rewrite_rules'", "'fresh_site'", "BIT_XOR"} {
		if !strings.Contains(sql, want) {
			t.Errorf("the checksum query lacks %s:\n%s", want, sql)
		}
	}
	for _, keep := range []string{"blogname", "active_plugins", "template", "stylesheet", "home", "siteurl"} {
		if contains(volatileOptions, keep) {
			t.Errorf("%s is left out of the checksum, but a promotion moves it", keep)
		}
	}
}

// writeTree makes files (name → content; a name ending in "/" is a
// directory, "->" makes a symlink) under dir.
func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		switch {
		case strings.HasSuffix(name, "/"):
			if err := os.MkdirAll(path, 0o755); err != nil {
				t.Fatal(err)
			}
		case strings.HasPrefix(content, "->"):
			if err := os.Symlink(strings.TrimPrefix(content, "->"), path); err != nil {
				t.Fatal(err)
			}
		default:
			if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func sampleContent(t *testing.T) string {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"index.php":                        "<?php // Silence is golden.",
		"plugins/index.php":                "<?php",
		"plugins/akismet/akismet.php":      "<?php /* Version: 5.3 */",
		"plugins/akismet/readme.txt":       "akismet",
		"plugins/hello.php":                "<?php /* hello */",
		"themes/fresh/style.css":           "/* Theme Name: Fresh */",
		"themes/fresh/functions.php":       "<?php",
		"mu-plugins/pressluft.php":         "<?php",
		"languages/de_DE.mo":               "mo",
		"uploads":                          "->../../../shared/uploads",
		"cache/page/index.html":            "cached",
		"upgrade/x.tmp":                    "tmp",
		"upgrade-temp-backup/plugins/a/":   "",
		"debug.log":                        "PHP Notice",
		"object-cache.php":                 "<?php",
		"themes/fresh/assets/link-to-logo": "->logo.svg",
	})
	return dir
}

func TestContentEntries(t *testing.T) {
	t.Parallel()
	dir := sampleContent(t)
	got, err := contentEntries(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"index.php", "languages", "mu-plugins/pressluft.php", "object-cache.php", "plugins/akismet",
		"plugins/hello.php", "plugins/index.php", "themes/fresh"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("entries %v\nwant    %v", got, want)
	}
}

func TestHashContent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := sampleContent(t)
	paths, all, err := hashContent(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	// The same tree elsewhere hashes the same: names are relative.
	other := sampleContent(t)
	if p2, all2, _ := hashContent(ctx, other); all2 != all || p2["plugins/akismet"] != paths["plugins/akismet"] {
		t.Fatal("the same tree in another place hashes differently")
	}
	changes := []struct {
		name   string
		change func(dir string) error
		entry  string // the entry whose hash must change; "" = none
	}{
		{"a new top entry shows", func(d string) error {
			return os.Symlink("/elsewhere", filepath.Join(d, "uploads2"))
		}, "uploads2"},
		{"a cache write is no drift", func(d string) error {
			return os.WriteFile(filepath.Join(d, "cache/page/other.html"), []byte("x"), 0o644)
		}, ""},
		{"the upgrader's work space is no drift", func(d string) error {
			return os.WriteFile(filepath.Join(d, "upgrade/y.zip"), []byte("x"), 0o644)
		}, ""},
		{"debug.log is no drift", func(d string) error {
			return os.WriteFile(filepath.Join(d, "debug.log"), []byte("more"), 0o644)
		}, ""},
		{"file content", func(d string) error {
			return os.WriteFile(filepath.Join(d, "themes/fresh/functions.php"), []byte("<?php // edited"), 0o644)
		}, "themes/fresh"},
		{"file mode", func(d string) error {
			return os.Chmod(filepath.Join(d, "plugins/akismet/readme.txt"), 0o600)
		}, "plugins/akismet"},
		{"new file", func(d string) error {
			return os.WriteFile(filepath.Join(d, "plugins/akismet/new.php"), nil, 0o644)
		}, "plugins/akismet"},
		{"renamed file", func(d string) error {
			return os.Rename(filepath.Join(d, "plugins/akismet/readme.txt"), filepath.Join(d, "plugins/akismet/README.txt"))
		}, "plugins/akismet"},
		{"symlink target", func(d string) error {
			p := filepath.Join(d, "themes/fresh/assets/link-to-logo")
			if err := os.Remove(p); err != nil {
				return err
			}
			return os.Symlink("logo.png", p)
		}, "themes/fresh"},
		{"empty directory", func(d string) error {
			return os.Mkdir(filepath.Join(d, "languages/plugins"), 0o755)
		}, "languages"},
		{"drop-in", func(d string) error {
			return os.WriteFile(filepath.Join(d, "object-cache.php"), []byte("<?php // redis"), 0o644)
		}, "object-cache.php"},
	}
	for _, c := range changes {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			d := sampleContent(t)
			if err := c.change(d); err != nil {
				t.Fatal(err)
			}
			got, gotAll, err := hashContent(ctx, d)
			if err != nil {
				t.Fatal(err)
			}
			var changed []string
			for name, h := range got {
				if paths[name] != h {
					changed = append(changed, name)
				}
			}
			for name := range paths {
				if _, ok := got[name]; !ok {
					changed = append(changed, name)
				}
			}
			if c.entry == "" {
				if len(changed) > 0 || gotAll != all {
					t.Fatalf("changed %v (content hash changed: %t), want nothing", changed, gotAll != all)
				}
				return
			}
			if len(changed) != 1 || changed[0] != c.entry || gotAll == all {
				t.Fatalf("changed %v, want exactly %s and a new content hash", changed, c.entry)
			}
		})
	}
}

func TestHashContentRefusesALink(t *testing.T) {
	t.Parallel()
	dir := sampleContent(t)
	link := filepath.Join(t.TempDir(), "wp-content")
	if err := os.Symlink(dir, link); err != nil {
		t.Fatal(err)
	}
	if _, _, err := hashContent(context.Background(), link); err == nil {
		t.Fatal("a wp-content that is a symlink was hashed")
	}
}
