package nodeagent

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pressluft/pressluft/agent/protocol"
)

// entry is one header of a hand-made archive.
type entry struct {
	name, body, link string
	typ              byte
	mode             int64
}

func makeTar(t *testing.T, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		typ := e.typ
		if typ == 0 {
			typ = tar.TypeReg
		}
		mode := e.mode
		if mode == 0 {
			mode = 0o644
		}
		hdr := &tar.Header{Name: e.name, Typeflag: typ, Mode: mode, Size: int64(len(e.body)), Linkname: e.link,
			ModTime: time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC), Format: tar.FormatPAX}
		if typ != tar.TypeReg {
			hdr.Size = 0
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if typ == tar.TypeReg {
			tw.Write([]byte(e.body))
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// stage returns extraction targets in a fresh directory, beside a
// directory "outside" that holds one file nothing may change.
func stage(t *testing.T) (string, extractTargets) {
	t.Helper()
	base := t.TempDir()
	for _, dir := range []string{"outside", "release"} {
		if err := os.MkdirAll(filepath.Join(base, dir), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(base, "outside", "sentinel"), []byte("untouched"), 0o644); err != nil {
		t.Fatal(err)
	}
	return base, extractTargets{WPContent: filepath.Join(base, "release", "wp-content"), Uploads: filepath.Join(base, "uploads.new"),
		UID: os.Getuid(), GID: os.Getgid()}
}

// written lists every path under base outside the staging directories.
func writtenOutside(t *testing.T, base string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
		rel, _ := filepath.Rel(base, p)
		switch {
		case rel == "." || rel == "release" || rel == "outside" || rel == "outside/sentinel":
		case strings.HasPrefix(rel, "release/wp-content") || strings.HasPrefix(rel, "uploads.new"):
		default:
			out = append(out, rel)
		}
		return nil
	})
	if b, _ := os.ReadFile(filepath.Join(base, "outside", "sentinel")); string(b) != "untouched" {
		out = append(out, "outside/sentinel changed")
	}
	return out
}

func TestExtractRefusesUnsafeEntries(t *testing.T) {
	t.Parallel()
	ok := entry{name: "wp-content/plugins/a.php", body: "<?php"}
	cases := []struct {
		name    string
		entries []entry
		say     string
	}{
		{"dot dot", []entry{ok, {name: "../outside/evil", body: "x"}}, "contains .."},
		{"dot dot inside", []entry{{name: "wp-content/../../outside/evil", body: "x"}}, "contains .."},
		{"dot dot in uploads", []entry{{name: "uploads/2024/../../../outside/evil", body: "x"}}, "contains .."},
		{"absolute", []entry{{name: "/outside/evil", body: "x"}}, "absolute"},
		{"outside the trees", []entry{{name: "etc/passwd", body: "x"}}, "outside wp-content/"},
		{"top-level file", []entry{{name: "evil.php", body: "x"}}, "outside wp-content/"},
		{"not clean", []entry{{name: "wp-content/./x", body: "x"}}, "not a clean path"},
		{"double slash", []entry{{name: "wp-content//x", body: "x"}}, "not a clean path"},
		{"uploads link replaced", []entry{{name: "wp-content/uploads/x.php", body: "x"}}, "wp-content/uploads"},
		{"uploads link itself", []entry{{name: "wp-content/uploads", typ: tar.TypeSymlink, link: "/etc"}}, "wp-content/uploads"},
		{"symlink up", []entry{{name: "wp-content/l", typ: tar.TypeSymlink, link: "../../outside"}}, "leaves wp-content/"},
		{"symlink absolute", []entry{{name: "uploads/l", typ: tar.TypeSymlink, link: "/etc/passwd"}}, "leaves uploads/"},
		{"symlink across trees", []entry{{name: "uploads/l", typ: tar.TypeSymlink, link: "../wp-content/plugins"}}, "leaves uploads/"},
		{"symlink then write through it", []entry{{name: "wp-content/d", typ: tar.TypeSymlink, link: "plugins"}, {name: "wp-content/d/x.php", body: "x"}}, "lies below d"},
		{"file then write below it", []entry{{name: "uploads/f", body: "x"}, {name: "uploads/f/x", body: "x"}}, "lies below f"},
		{"hard link", []entry{ok, {name: "wp-content/h", typ: tar.TypeLink, link: "wp-content/plugins/a.php"}}, "hard link"},
		{"char device", []entry{{name: "uploads/null", typ: tar.TypeChar}}, "device"},
		{"block device", []entry{{name: "uploads/sda", typ: tar.TypeBlock}}, "device"},
		{"fifo", []entry{{name: "wp-content/fifo", typ: tar.TypeFifo}}, "fifo"},
		{"twice", []entry{ok, ok}, "appears twice"},
		{"link over a file", []entry{{name: "uploads/a", typ: tar.TypeSymlink, link: "b"}, {name: "uploads/a/", typ: tar.TypeDir}}, "appears twice"},
		{"config elsewhere", []entry{{name: "config/evil.php", body: "x"}}, "config/wp-config.php"},
		{"config link out", []entry{{name: "config/wp-config.d/l", typ: tar.TypeSymlink, link: "../../wp-content"}}, "leaves config/wp-config.d/"},
		{"root of a tree as a file", []entry{{name: "uploads", body: "x"}}, "must be a directory"},
		{"contiguous file", []entry{{name: "uploads/s", typ: tar.TypeCont}}, "unsupported type"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			base, targets := stage(t)
			_, err := extract(context.Background(), bytes.NewReader(makeTar(t, c.entries...)), targets)
			var e *Error
			if !errors.As(err, &e) || e.Code != protocol.ErrUnsafeArchive || !strings.Contains(e.Message, c.say) {
				t.Fatalf("err = %v, want unsafe_archive saying %q", err, c.say)
			}
			if out := writtenOutside(t, base); len(out) > 0 {
				t.Fatalf("written outside the staging directories: %v", out)
			}
		})
	}
}

func TestExtractRefusesGarbage(t *testing.T) {
	t.Parallel()
	_, targets := stage(t)
	_, err := extract(context.Background(), strings.NewReader(strings.Repeat("not a tar archive ", 100)), targets)
	if code, _ := errorCode(err); code != protocol.ErrUnsafeArchive {
		t.Fatalf("garbage: %v", err)
	}
}

func TestExtractWritesTheTrees(t *testing.T) {
	t.Parallel()
	base, targets := stage(t)
	archive := makeTar(t,
		entry{name: "wp-content/", typ: tar.TypeDir, mode: 0o755},
		entry{name: "wp-content/plugins/", typ: tar.TypeDir, mode: 0o750},
		entry{name: "wp-content/plugins/a.php", body: "<?php // a", mode: 0o640},
		entry{name: "wp-content/plugins/setuid", body: "x", mode: 0o4755},
		entry{name: "wp-content/themes/t/style.css", body: "body{}"}, // parents not listed
		entry{name: "wp-content/plugins/current", typ: tar.TypeSymlink, link: "a.php"},
		entry{name: "wp-content/up", typ: tar.TypeSymlink, link: "plugins/../themes"},
		entry{name: "uploads/", typ: tar.TypeDir, mode: 0o755},
		entry{name: "uploads/2024/01/img.jpg", body: "\xff\xd8jpeg"},
		entry{name: "config/wp-config.php", body: "<?php define('DB_PASSWORD', 'x');"},
		entry{name: "config/wp-config.d/extra.php", body: "<?php"},
		entry{name: "config/wp-config.d/l", typ: tar.TypeSymlink, link: "extra.php"},
	)
	stats, err := extract(context.Background(), bytes.NewReader(archive), targets)
	if err != nil {
		t.Fatal(err)
	}
	if stats.Files != 4 {
		t.Errorf("files = %d, want 4 (config is not written)", stats.Files)
	}
	for path, want := range map[string]string{
		"release/wp-content/plugins/a.php":      "<?php // a",
		"release/wp-content/themes/t/style.css": "body{}",
		"release/wp-content/plugins/current":    "<?php // a",
		"uploads.new/2024/01/img.jpg":           "\xff\xd8jpeg",
		"release/wp-content/up/t/style.css":     "body{}",
		"release/wp-content/plugins/setuid":     "x",
	} {
		got, err := os.ReadFile(filepath.Join(base, path))
		if err != nil || string(got) != want {
			t.Errorf("%s = %q, %v", path, got, err)
		}
	}
	fi, _ := os.Stat(filepath.Join(base, "release/wp-content/plugins/a.php"))
	if fi.Mode().Perm() != 0o640 || !fi.ModTime().Equal(time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)) {
		t.Errorf("a.php: mode %v, mtime %v", fi.Mode(), fi.ModTime())
	}
	if fi, _ := os.Stat(filepath.Join(base, "release/wp-content/plugins/setuid")); fi.Mode()&os.ModeSetuid != 0 {
		t.Errorf("a set-uid bit came from the archive: %v", fi.Mode())
	}
	if fi, _ := os.Stat(filepath.Join(base, "release/wp-content/plugins")); fi.Mode().Perm() != 0o750 || !fi.ModTime().Equal(time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)) {
		t.Errorf("plugins/: mode %v, mtime %v", fi.Mode(), fi.ModTime())
	}
	if _, err := os.Lstat(filepath.Join(base, "config")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("config/ was written: %v", err)
	}
	if out := writtenOutside(t, base); len(out) > 0 {
		t.Fatalf("written outside the staging directories: %v", out)
	}
}

// What collectFiles and writeArchive make, extract takes back whole.
func TestArchiveRoundTrip(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	p := envPaths{Root: root, Current: root + "/current", Shared: root + "/shared", Releases: root + "/releases"}
	files := map[string]string{
		"releases/r1/wp-content/plugins/hello/hello.php": "<?php // hello",
		"releases/r1/wp-content/themes/t/style.css":      strings.Repeat("css ", 10000),
		"releases/r1/wp-content/cache/page.html":         "cached",
		"releases/r1/wp-content/index.php":               "<?php // Silence is golden.",
		"releases/r1/index.php":                          "<?php // core, not backed up",
		"shared/uploads/2024/01/a.jpg":                   "jpeg",
		"shared/uploads/2024/01/empty.txt":               "",
		"shared/wp-config.php":                           "<?php // config",
		"shared/wp-config.d/extra.php":                   "<?php // extra",
		"shared/wp-salts.php":                            "<?php // salts stay out",
	}
	for name, body := range files {
		path := filepath.Join(root, name)
		os.MkdirAll(filepath.Dir(path), 0o755)
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Symlink("releases/r1", p.Current))
	must(os.Symlink("../../../shared/uploads", root+"/releases/r1/wp-content/uploads"))
	must(os.Symlink("plugins/hello", root+"/releases/r1/wp-content/hello-link"))
	must(os.Symlink("/etc/passwd", root+"/releases/r1/wp-content/passwd"))
	must(os.Symlink("../../wp-content", root+"/shared/uploads/escape"))
	must(syscall.Mkfifo(root+"/shared/uploads/fifo", 0o644))

	set, err := collectFiles(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if set.files != 7 {
		t.Errorf("files = %d, want 7", set.files)
	}
	if len(set.skipped) != 3 {
		t.Errorf("skipped = %v, want the link to /etc/passwd, the link out of uploads and the fifo", set.skipped)
	}
	var tarball bytes.Buffer
	if changed, err := writeArchive(context.Background(), &tarball, set); err != nil || len(changed) > 0 {
		t.Fatalf("writeArchive: %v %v", changed, err)
	}
	base, targets := stage(t)
	if _, err := extract(context.Background(), &tarball, targets); err != nil {
		t.Fatalf("extract: %v", err)
	}
	for name, want := range map[string]string{
		"release/wp-content/plugins/hello/hello.php": files["releases/r1/wp-content/plugins/hello/hello.php"],
		"release/wp-content/themes/t/style.css":      files["releases/r1/wp-content/themes/t/style.css"],
		"release/wp-content/index.php":               files["releases/r1/wp-content/index.php"],
		"release/wp-content/hello-link/hello.php":    files["releases/r1/wp-content/plugins/hello/hello.php"],
		"uploads.new/2024/01/a.jpg":                  "jpeg",
		"uploads.new/2024/01/empty.txt":              "",
	} {
		got, err := os.ReadFile(filepath.Join(base, name))
		if err != nil || string(got) != want {
			t.Errorf("%s: %q, %v", name, truncate(string(got), 20), err)
		}
	}
	for _, gone := range []string{"release/wp-content/cache", "release/wp-content/uploads", "release/wp-content/passwd", "uploads.new/escape", "uploads.new/fifo"} {
		if _, err := os.Lstat(filepath.Join(base, gone)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s was restored", gone)
		}
	}
}
