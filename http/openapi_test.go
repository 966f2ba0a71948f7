package http_test

import (
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/pressluft/pressluft/http"
	"go.yaml.in/yaml/v3"
)

type openAPIDoc struct {
	Paths map[string]map[string]struct {
		Security  *[]any         `yaml:"security"`
		Responses map[string]any `yaml:"responses"`
		Extra     map[string]any `yaml:",inline"`
	} `yaml:"paths"`
}

// TestOpenAPI_MatchesRouter fails when a route exists in the router but not
// in openapi.yaml, or the other way round, or when public/authenticated
// routes are documented the wrong way.
func TestOpenAPI_MatchesRouter(t *testing.T) {
	t.Parallel()
	body, err := os.ReadFile("../openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc openAPIDoc
	if err := yaml.Unmarshal(body, &doc); err != nil {
		t.Fatalf("openapi.yaml: %v", err)
	}
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for method := range ops {
			if method == "parameters" || strings.HasPrefix(method, "x-") || method == "summary" || method == "description" {
				continue
			}
			documented[strings.ToUpper(method)+" "+path] = true
		}
	}
	s := http.NewServer(slog.New(slog.NewTextHandler(io.Discard, nil)))
	routed := map[string]http.Route{}
	for _, r := range s.Routes() {
		routed[r.Method+" "+r.Path] = r
	}
	var missing, extra []string
	for k := range routed {
		if !documented[k] {
			missing = append(missing, k)
		}
	}
	for k := range documented {
		if _, ok := routed[k]; !ok {
			extra = append(extra, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing) > 0 {
		t.Errorf("routes missing from openapi.yaml:\n  %s", strings.Join(missing, "\n  "))
	}
	if len(extra) > 0 {
		t.Errorf("openapi.yaml documents routes the router lacks:\n  %s", strings.Join(extra, "\n  "))
	}
	for k, r := range routed {
		method, path, _ := strings.Cut(k, " ")
		op, ok := doc.Paths[path][strings.ToLower(method)]
		if !ok {
			continue
		}
		public := op.Security != nil && len(*op.Security) == 0
		if public != r.Public {
			t.Errorf("%s: public in router %v, in openapi.yaml %v", k, r.Public, public)
		}
		if _, ok := op.Responses["401"]; !r.Public && !ok {
			t.Errorf("%s: authenticated route documents no 401", k)
		}
		hasSuccess := false
		for code := range op.Responses {
			hasSuccess = hasSuccess || strings.HasPrefix(code, "2")
		}
		if !hasSuccess {
			t.Errorf("%s: no success response documented", k)
		}
	}
}
