package web

import (
	"io/fs"
	"path"
	"regexp"
	"strings"
	"testing"
)

func TestFSHasEntryPoints(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"index.html", "app.css", "favicon.svg", "js/app.js", "js/api.js", "js/router.js"} {
		if _, err := fs.Stat(FS(), name); err != nil {
			t.Errorf("%s missing from the embedded dashboard: %v", name, err)
		}
	}
}

var (
	importRE = regexp.MustCompile(`(?m)^\s*import\s[^'"]*['"]([^'"]+)['"]`)
	assetRE  = regexp.MustCompile(`(?:src|href)="([^"#]+)"`)
)

// Every module import and every asset the page loads must be embedded, and
// none may come from another origin: the dashboard works offline.
func TestReferencesResolve(t *testing.T) {
	t.Parallel()
	fsys := FS()
	index, err := fs.ReadFile(fsys, "index.html")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range assetRE.FindAllStringSubmatch(string(index), -1) {
		ref := m[1]
		if strings.Contains(ref, "//") {
			t.Errorf("index.html loads %q from another origin", ref)
			continue
		}
		if _, err := fs.Stat(fsys, strings.TrimPrefix(ref, "/")); err != nil {
			t.Errorf("index.html references %q, which is not embedded", ref)
		}
	}
	mods, err := fs.Glob(fsys, "js/*.js")
	if err != nil || len(mods) == 0 {
		t.Fatalf("no modules found: %v", err)
	}
	for _, mod := range mods {
		src, err := fs.ReadFile(fsys, mod)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range importRE.FindAllStringSubmatch(string(src), -1) {
			if !strings.HasPrefix(m[1], "./") {
				t.Errorf("%s imports %q: only relative, embedded modules are allowed", mod, m[1])
				continue
			}
			target := path.Join(path.Dir(mod), m[1])
			if _, err := fs.Stat(fsys, target); err != nil {
				t.Errorf("%s imports %q, which is not embedded", mod, m[1])
			}
		}
	}
	css, err := fs.ReadFile(fsys, "app.css")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(css), "url(") || strings.Contains(string(css), "@import") {
		t.Error("app.css must not load other resources")
	}
}

// API text reaches the page only as text: no HTML parsing sinks in the code.
func TestNoHTMLSinks(t *testing.T) {
	t.Parallel()
	sinks := []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"}
	mods, _ := fs.Glob(FS(), "js/*.js")
	for _, mod := range mods {
		src, err := fs.ReadFile(FS(), mod)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range sinks {
			if strings.Contains(string(src), s) {
				t.Errorf("%s uses %s", mod, s)
			}
		}
	}
}
