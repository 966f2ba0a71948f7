package nodeagent

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeTestFile(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

// sourceTree is a small site: a relative symlink to a file and one to a
// directory (as the distribution's WordPress has), an executable, an
// excluded config and uploads.
func sourceTree(t *testing.T) string {
	t.Helper()
	src := filepath.Join(t.TempDir(), "src")
	writeTestFile(t, src+"/index.php", "<?php // index", 0o644)
	writeTestFile(t, src+"/bin/tool", "#!/bin/sh", 0o755)
	writeTestFile(t, src+"/wp-config.php", "<?php // secret", 0o640)
	writeTestFile(t, src+"/wp-content/uploads/2024/a.jpg", "jpeg", 0o644)
	writeTestFile(t, src+"/wp-content/themes/t/style.css", "body{}", 0o644)
	writeTestFile(t, filepath.Dir(src)+"/outside/lib.php", "<?php // lib", 0o644)
	big := strings.Repeat("0123456789", 100_000)
	writeTestFile(t, src+"/big.bin", big, 0o600)
	for link, target := range map[string]string{
		src + "/lib.php":                "../outside/lib.php",
		src + "/wp-content/themes/link": "t",
	} {
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Date(2020, 2, 6, 12, 0, 0, 0, time.UTC)
	if err := os.Chtimes(src+"/index.php", old, old); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(src+"/wp-content/themes/t", old, old); err != nil {
		t.Fatal(err)
	}
	return src
}

func TestCopyTreeFollowsSymlinks(t *testing.T) {
	t.Parallel()
	src := sourceTree(t)
	dst := filepath.Join(t.TempDir(), "release")
	stats, err := copyTree(t.Context(), src, dst, copyOptions{FollowSymlinks: true, UID: -1, GID: -1, Workers: 3})
	if err != nil {
		t.Fatal(err)
	}
	// cp -aL: links become copies of their targets.
	for path, want := range map[string]string{
		"index.php": "<?php // index", "lib.php": "<?php // lib", "wp-content/themes/link/style.css": "body{}",
		"wp-content/uploads/2024/a.jpg": "jpeg", "wp-config.php": "<?php // secret",
	} {
		fi, err := os.Lstat(filepath.Join(dst, path))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode()&os.ModeSymlink != 0 {
			t.Errorf("%s is a symlink", path)
		}
		if got, _ := os.ReadFile(filepath.Join(dst, path)); string(got) != want {
			t.Errorf("%s = %q, want %q", path, got, want)
		}
	}
	if stats.Files != 8 || stats.Bytes < 1_000_000 {
		t.Errorf("stats = %+v, want 8 files and the big one's bytes", stats)
	}
	checkModeAndTime(t, src, dst)
}

func TestCopyTreeKeepsSymlinksAndExcludes(t *testing.T) {
	t.Parallel()
	src := sourceTree(t)
	dst := filepath.Join(t.TempDir(), "release")
	exclude := func(rel string) bool { return rel == "wp-config.php" || rel == "wp-content/uploads" }
	if _, err := copyTree(t.Context(), src, dst, copyOptions{Exclude: exclude, UID: -1, GID: -1}); err != nil {
		t.Fatal(err)
	}
	for _, gone := range []string{"wp-config.php", "wp-content/uploads"} {
		if _, err := os.Lstat(filepath.Join(dst, gone)); !os.IsNotExist(err) {
			t.Errorf("%s was copied", gone)
		}
	}
	if target, err := os.Readlink(dst + "/lib.php"); err != nil || target != "../outside/lib.php" {
		t.Errorf("lib.php link = %q, %v", target, err)
	}
	if target, err := os.Readlink(dst + "/wp-content/themes/link"); err != nil || target != "t" {
		t.Errorf("themes/link = %q, %v", target, err)
	}
	if got, _ := os.ReadFile(dst + "/big.bin"); len(got) != 1_000_000 {
		t.Errorf("big.bin has %d bytes", len(got))
	}
	checkModeAndTime(t, src, dst)
}

func checkModeAndTime(t *testing.T, src, dst string) {
	t.Helper()
	for _, path := range []string{"index.php", "bin/tool", "big.bin", "wp-content/themes/t"} {
		s, err1 := os.Stat(filepath.Join(src, path))
		d, err2 := os.Stat(filepath.Join(dst, path))
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		if s.Mode() != d.Mode() {
			t.Errorf("%s mode %v, want %v", path, d.Mode(), s.Mode())
		}
		if !s.ModTime().Equal(d.ModTime()) {
			t.Errorf("%s mtime %v, want %v", path, d.ModTime(), s.ModTime())
		}
	}
}

func TestCopyTreeRefusesAnExistingTargetAndLoops(t *testing.T) {
	t.Parallel()
	src := sourceTree(t)
	dst := t.TempDir()
	if _, err := copyTree(t.Context(), src, dst, copyOptions{UID: -1, GID: -1}); err == nil {
		t.Error("copied into an existing directory")
	}
	if err := os.Symlink("..", src+"/wp-content/loop"); err != nil {
		t.Fatal(err)
	}
	_, err := copyTree(t.Context(), src, filepath.Join(t.TempDir(), "x"), copyOptions{FollowSymlinks: true, UID: -1, GID: -1})
	if err == nil || !strings.Contains(err.Error(), "loop") {
		t.Errorf("err = %v, want a symlink loop", err)
	}
}

func TestCopyTreeStopsWhenCancelled(t *testing.T) {
	t.Parallel()
	src := sourceTree(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := copyTree(ctx, src, filepath.Join(t.TempDir(), "x"), copyOptions{UID: -1, GID: -1}); err == nil {
		t.Error("a cancelled copy succeeded")
	}
}

func BenchmarkCopyTree(b *testing.B) {
	src := filepath.Join(b.TempDir(), "src")
	for i := range 500 {
		p := filepath.Join(src, "d"+string(rune('a'+i%20)), "f"+strings.Repeat("x", i%7)+string(rune('a'+i/20)))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(p, make([]byte, 20_000), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := range b.N {
		dst := filepath.Join(b.TempDir(), "dst", string(rune('a'+i%26)))
		if _, err := copyTree(context.Background(), src, dst, copyOptions{UID: -1, GID: -1}); err != nil {
			b.Fatal(err)
		}
	}
}
