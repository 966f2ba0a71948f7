package nodeagent

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestPruneReleases(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, d := range []string{"r1", "r2", "r3", "r4", "r5", "r6", ".r7.partial", ".r7.wp-content", "r2/wp-content"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{".r1.release.json", ".r5.release.json", ".r6.release.json", ".r9.release.json", ".pressluft-other"} {
		os.WriteFile(filepath.Join(dir, f), []byte("{}"), 0o644)
	}
	// A link where a release was is removed as a link, never followed.
	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, "keep"), []byte("x"), 0o644)
	os.Symlink(outside, filepath.Join(dir, "r0"))

	res, leftovers, err := pruneReleases(context.Background(), dir, "r6", []string{"r4", "r5", "r6", "gone"})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"r0", "r1", "r2", "r3"}; !reflect.DeepEqual(res.Removed, want) {
		t.Fatalf("removed %v, want %v", res.Removed, want)
	}
	if want := []string{"r4", "r5", "r6"}; !reflect.DeepEqual(res.Kept, want) {
		t.Fatalf("kept %v, want %v", res.Kept, want)
	}
	if leftovers != 2 {
		t.Fatalf("leftovers %d", leftovers)
	}
	var left []string
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		left = append(left, e.Name())
	}
	if want := []string{".pressluft-other", ".r5.release.json", ".r6.release.json", "r4", "r5", "r6"}; !reflect.DeepEqual(left, want) {
		t.Fatalf("left %v, want %v", left, want)
	}
	if !exists(filepath.Join(outside, "keep")) {
		t.Fatal("the link was followed")
	}

	// The current release stays even when keep does not name it; a second run changes nothing.
	res, _, err = pruneReleases(context.Background(), dir, "r6", nil)
	if err != nil || !reflect.DeepEqual(res.Removed, []string{"r4", "r5"}) || !reflect.DeepEqual(res.Kept, []string{"r6"}) {
		t.Fatalf("keep nothing: %+v %v", res, err)
	}
	res, _, err = pruneReleases(context.Background(), dir, "r6", nil)
	if err != nil || len(res.Removed) != 0 {
		t.Fatalf("second run: %+v %v", res, err)
	}
	if res, _, err := pruneReleases(context.Background(), filepath.Join(dir, "missing"), "", nil); err != nil || len(res.Removed) != 0 {
		t.Fatalf("no releases directory: %+v %v", res, err)
	}
}

func TestTreeSizeAndPurge(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "a/b"), 0o755)
	os.WriteFile(filepath.Join(dir, "a/one"), make([]byte, 100), 0o644)
	os.WriteFile(filepath.Join(dir, "a/b/two"), make([]byte, 23), 0o644)
	big := t.TempDir()
	os.WriteFile(filepath.Join(big, "huge"), make([]byte, 5000), 0o644)
	os.Symlink(big, filepath.Join(dir, "uploads"))
	if n := treeSize(dir); n != 123 {
		t.Fatalf("treeSize = %d, want 123 (links not followed)", n)
	}
	n, err := purgeDir(dir)
	if err != nil || n != 2 {
		t.Fatalf("purgeDir = %d, %v", n, err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 || !exists(filepath.Join(big, "huge")) {
		t.Fatalf("purge left %v or followed the link", entries)
	}
	if n, err := purgeDir(filepath.Join(dir, "missing")); n != 0 || err != nil {
		t.Fatalf("missing cache dir: %d %v", n, err)
	}
}
