package nodeagent

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/pressluft/pressluft/agent/protocol"
)

// deployArchive writes entries as an archive of format (zip, tar.gz,
// tar.zst) and returns its path.
func deployArchive(t *testing.T, format string, entries ...entry) string {
	t.Helper()
	var buf bytes.Buffer
	switch format {
	case "zip":
		zw := zip.NewWriter(&buf)
		for _, e := range entries {
			mode := fs.FileMode(e.mode)
			if mode == 0 {
				mode = 0o644
			}
			h := &zip.FileHeader{Name: e.name, Method: zip.Deflate, Modified: time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)}
			body := e.body
			switch e.typ {
			case tar.TypeDir:
				h.SetMode(fs.ModeDir | mode | 0o700)
			case tar.TypeSymlink:
				h.SetMode(fs.ModeSymlink | 0o777)
				body = e.link
			case tar.TypeChar:
				h.SetMode(fs.ModeDevice | fs.ModeCharDevice | 0o600)
			default:
				h.SetMode(mode)
			}
			w, err := zw.CreateHeader(h)
			if err != nil {
				t.Fatal(err)
			}
			w.Write([]byte(body))
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
	case "tar.gz":
		gz := gzip.NewWriter(&buf)
		gz.Write(makeTar(t, entries...))
		gz.Close()
	case "tar.zst":
		zw, _ := zstd.NewWriter(&buf)
		zw.Write(makeTar(t, entries...))
		zw.Close()
	default:
		buf.WriteString(format)
	}
	path := filepath.Join(t.TempDir(), "archive")
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// unpackInto unpacks the archive at path into a fresh staging directory
// beside a directory "outside" that nothing may touch.
func unpackInto(t *testing.T, path string, max int64) (string, deployStats, error) {
	t.Helper()
	dir := t.TempDir()
	outside := filepath.Join(dir, "outside")
	os.Mkdir(outside, 0o755)
	os.WriteFile(filepath.Join(outside, "keep"), []byte("keep"), 0o644)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dst := filepath.Join(dir, "releases", ".r1.wp-content")
	os.Mkdir(filepath.Dir(dst), 0o755)
	stats, err := unpackArchive(context.Background(), f, dst, os.Getuid(), os.Getgid(), max)
	entries, _ := os.ReadDir(outside)
	if len(entries) != 1 {
		t.Fatalf("something was written outside: %v", entries)
	}
	if data, _ := os.ReadFile(filepath.Join(outside, "keep")); string(data) != "keep" {
		t.Fatal("outside/keep changed")
	}
	return dst, stats, err
}

func goodSite() []entry {
	return []entry{
		{name: "README.md", body: "# site"},
		{name: ".gitignore", body: "node_modules"},
		{name: "wp-content/", typ: tar.TypeDir, mode: 0o755},
		{name: "wp-content/plugins/", typ: tar.TypeDir, mode: 0o700},
		{name: "wp-content/plugins/shop/shop.php", body: "<?php /* Plugin Name: Shop */", mode: 0o666},
		{name: "wp-content/themes/acme/style.css", body: "/* Theme Name: Acme */"},
		{name: "wp-content/themes/acme/current.css", typ: tar.TypeSymlink, link: "style.css"},
		{name: "wp-content/uploads/2024/01/logo.png", body: "png"},
		{name: "wp-content/mu-plugins/loader.php", body: "<?php", mode: 0o755},
	}
}

func TestUnpackArchiveFormats(t *testing.T) {
	t.Parallel()
	for _, format := range []string{"zip", "tar.gz", "tar.zst"} {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			dst, stats, err := unpackInto(t, deployArchive(t, format, goodSite()...), 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			if stats.Files != 3 || stats.Uploads != 1 || stats.Outside != 2 {
				t.Fatalf("stats %+v", stats)
			}
			if data, _ := os.ReadFile(filepath.Join(dst, "plugins/shop/shop.php")); !strings.Contains(string(data), "Shop") {
				t.Fatalf("plugin: %q", data)
			}
			if fi, _ := os.Stat(filepath.Join(dst, "plugins/shop/shop.php")); fi.Mode().Perm() != 0o644 {
				t.Fatalf("a world-writable file stays so: %v", fi.Mode())
			}
			if fi, _ := os.Stat(filepath.Join(dst, "plugins")); fi.Mode().Perm() != 0o755 {
				t.Fatalf("a private directory stays closed to nginx: %v", fi.Mode())
			}
			if fi, _ := os.Stat(filepath.Join(dst, "mu-plugins/loader.php")); fi.Mode().Perm() != 0o755 {
				t.Fatalf("an executable file: %v", fi.Mode())
			}
			if target, err := os.Readlink(filepath.Join(dst, "themes/acme/current.css")); err != nil || target != "style.css" {
				t.Fatalf("symlink: %q %v", target, err)
			}
			for _, gone := range []string{"uploads", "README.md", "../README.md", "../.gitignore"} {
				if exists(filepath.Join(dst, gone)) {
					t.Fatalf("%s was written", gone)
				}
			}
		})
	}
}

func TestUnpackArchiveDotSlashNames(t *testing.T) {
	t.Parallel()
	dst, _, err := unpackInto(t, deployArchive(t, "tar.gz",
		entry{name: "./", typ: tar.TypeDir},
		entry{name: "./wp-content/", typ: tar.TypeDir},
		entry{name: "./wp-content/themes/a/style.css", body: "a"}), 1<<20)
	if err != nil || !exists(filepath.Join(dst, "themes/a/style.css")) {
		t.Fatalf("tar -C dir . layout: %v", err)
	}
}

func TestUnpackArchiveRefuses(t *testing.T) {
	t.Parallel()
	wp := entry{name: "wp-content/index.php", body: "<?php"}
	cases := []struct {
		name    string
		formats []string
		entries []entry
		code    string
	}{
		{"traversal in wp-content", []string{"zip", "tar.gz"}, []entry{wp, {name: "wp-content/../../outside/keep", body: "x"}}, protocol.ErrUnsafeArchive},
		{"traversal outside wp-content", []string{"zip", "tar.gz"}, []entry{wp, {name: "../../outside/x", body: "x"}}, protocol.ErrUnsafeArchive},
		{"absolute", []string{"zip", "tar.gz"}, []entry{wp, {name: "/etc/cron.d/x", body: "x"}}, protocol.ErrUnsafeArchive},
		{"backslash", []string{"zip"}, []entry{wp, {name: "wp-content\\..\\x.php", body: "x"}}, protocol.ErrUnsafeArchive},
		{"symlink out", []string{"zip", "tar.gz"}, []entry{wp, {name: "wp-content/plugins/evil", typ: tar.TypeSymlink, link: "../../../outside"}}, protocol.ErrUnsafeArchive},
		{"symlink absolute", []string{"zip", "tar.zst"}, []entry{wp, {name: "wp-content/evil", typ: tar.TypeSymlink, link: "/etc/shadow"}}, protocol.ErrUnsafeArchive},
		{"below a symlink", []string{"tar.gz"}, []entry{wp, {name: "wp-content/l", typ: tar.TypeSymlink, link: "plugins"}, {name: "wp-content/l/x.php", body: "x"}}, protocol.ErrUnsafeArchive},
		{"hard link", []string{"tar.gz"}, []entry{wp, {name: "wp-content/h", typ: tar.TypeLink, link: "wp-content/index.php"}}, protocol.ErrUnsafeArchive},
		{"device", []string{"zip", "tar.gz"}, []entry{wp, {name: "wp-content/dev", typ: tar.TypeChar}}, protocol.ErrUnsafeArchive},
		{"device outside wp-content", []string{"tar.gz"}, []entry{wp, {name: "dev/null", typ: tar.TypeChar}}, protocol.ErrUnsafeArchive},
		{"fifo", []string{"tar.zst"}, []entry{wp, {name: "wp-content/fifo", typ: tar.TypeFifo}}, protocol.ErrUnsafeArchive},
		{"twice", []string{"tar.gz"}, []entry{wp, wp}, protocol.ErrUnsafeArchive},
		{"wp-content a file", []string{"tar.gz"}, []entry{{name: "wp-content", body: "x"}}, protocol.ErrUnsafeArchive},
		{"too large", []string{"zip", "tar.gz", "tar.zst"}, []entry{{name: "wp-content/big.bin", body: strings.Repeat("0", 4096)}}, protocol.ErrArchiveTooLarge},
		{"too large in total", []string{"zip", "tar.gz"}, []entry{{name: "wp-content/a", body: strings.Repeat("0", 2000)}, {name: "wp-content/b", body: strings.Repeat("0", 2000)}}, protocol.ErrArchiveTooLarge},
		{"wp-content tree itself", []string{"zip", "tar.gz"}, []entry{{name: "plugins/shop/shop.php", body: "x"}, {name: "themes/a/style.css", body: "x"}}, protocol.ErrWPContentMissing},
		{"wrapped in a folder", []string{"zip"}, []entry{{name: "site-main/wp-content/index.php", body: "x"}}, protocol.ErrWPContentMissing},
		{"empty", []string{"zip", "tar.gz"}, nil, protocol.ErrWPContentMissing},
		{"only uploads", []string{"tar.gz"}, []entry{{name: "wp-content/uploads/a.png", body: "x"}}, protocol.ErrWPContentMissing},
		{"not an archive", []string{"<?php echo 1;"}, nil, protocol.ErrUnsafeArchive},
	}
	for _, c := range cases {
		for _, format := range c.formats {
			t.Run(c.name+"/"+format, func(t *testing.T) {
				t.Parallel()
				_, _, err := unpackInto(t, deployArchive(t, format, c.entries...), 3000)
				if code, msg := errorCode(err); code != c.code {
					t.Fatalf("err = %v, want %s", err, c.code)
				} else if strings.Contains(msg, protocol.PartFiles) {
					t.Fatalf("the message names the backup part: %s", msg)
				}
			})
		}
	}
}

func TestUnpackArchiveCompressionBomb(t *testing.T) {
	t.Parallel()
	// 64 MiB of zeros compresses to a few KB; the limit stops it early.
	big := strings.Repeat("\x00", 64<<20)
	for _, format := range []string{"zip", "tar.zst"} {
		path := deployArchive(t, format, entry{name: "wp-content/zeros", body: big})
		if fi, _ := os.Stat(path); fi.Size() > 1<<20 {
			t.Fatalf("%s: the bomb is %d bytes", format, fi.Size())
		}
		if _, _, err := unpackInto(t, path, 1<<20); codeOf(err) != protocol.ErrArchiveTooLarge {
			t.Fatalf("%s: err = %v", format, err)
		}
	}
}
