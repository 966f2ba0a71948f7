package web

import (
	"io/fs"
	"os"
	"regexp"
	"strings"
	"testing"
)

func TestFSHasEntryPoints(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"index.html", "favicon.svg"} {
		if _, err := fs.Stat(FS(), name); err != nil {
			t.Errorf("%s missing from the embedded dashboard: %v", name, err)
		}
	}
	chunks, err := fs.Glob(FS(), "_nuxt/*.js")
	if err != nil || len(chunks) == 0 {
		t.Fatalf("no _nuxt chunks embedded (%v): run make web", err)
	}
}

var (
	assetRE  = regexp.MustCompile(`(?:src|href)="([^"#]+)"`)
	importRE = regexp.MustCompile(`(?:from|import)\s*\(?\s*"(\./[^"]+|/[^"]+)"`)
)

// Every asset the page loads is embedded, and none comes from another
// origin: the dashboard works offline and under a 'self' CSP.
func TestReferencesResolve(t *testing.T) {
	t.Parallel()
	fsys := FS()
	index, err := fs.ReadFile(fsys, "index.html")
	if err != nil {
		t.Fatal(err)
	}
	refs := assetRE.FindAllStringSubmatch(string(index), -1)
	if len(refs) < 2 {
		t.Fatalf("index.html references %d assets", len(refs))
	}
	for _, m := range refs {
		ref := m[1]
		if strings.Contains(ref, "//") {
			t.Errorf("index.html loads %q from another origin", ref)
			continue
		}
		if _, err := fs.Stat(fsys, strings.TrimPrefix(ref, "/")); err != nil {
			t.Errorf("index.html references %q, which is not embedded", ref)
		}
	}
	chunks, _ := fs.Glob(fsys, "_nuxt/*.js")
	for _, c := range chunks {
		src, err := fs.ReadFile(fsys, c)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range importRE.FindAllStringSubmatch(string(src), -1) {
			target := strings.TrimPrefix(m[1], "/")
			if strings.HasPrefix(m[1], "./") {
				target = "_nuxt/" + strings.TrimPrefix(m[1], "./")
			}
			if _, err := fs.Stat(fsys, target); err != nil {
				t.Errorf("%s imports %q, which is not embedded", c, m[1])
			}
		}
	}
}

// API text reaches the page only as text: the app's own code has no HTML
// sinks (the framework's runtime is checked by its authors, not here).
func TestNoHTMLSinksInSources(t *testing.T) {
	t.Parallel()
	src := dirFS(t)
	sinks := []string{"v-html", "innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"}
	n := 0
	err := fs.WalkDir(src, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(path, "schema.ts") {
			return err
		}
		if !strings.HasSuffix(path, ".vue") && !strings.HasSuffix(path, ".ts") {
			return nil
		}
		n++
		b, err := fs.ReadFile(src, path)
		if err != nil {
			return err
		}
		for _, s := range sinks {
			if strings.Contains(string(b), s) {
				t.Errorf("%s uses %s", path, s)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 10 {
		t.Fatalf("only %d source files checked", n)
	}
}

// dirFS is the app's source tree (app/), read from disk: sources are not embedded.
func dirFS(t *testing.T) fs.FS {
	t.Helper()
	if _, err := os.Stat("app"); err != nil {
		t.Fatalf("dashboard sources missing: %v", err)
	}
	return os.DirFS("app")
}
