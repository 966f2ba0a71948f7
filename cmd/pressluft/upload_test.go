package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/pressluft/pressluft"
)

// release deploy --archive-file sends the file itself as the body, with
// its length and a type from its name, and prints the API's refusals.
func TestCLI_DeployArchiveFile(t *testing.T) {
	t.Parallel()
	type seen struct {
		path, ctype, auth string
		length            int64
		body              []byte
	}
	var mu sync.Mutex
	var got []seen
	refuse := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, seen{r.URL.Path, r.Header.Get("Content-Type"), r.Header.Get("Authorization"), r.ContentLength, b})
		no := refuse
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if no {
			w.WriteHeader(413)
			io.WriteString(w, `{"code":"archive_too_large","message":"The archive is larger than the upload limit of 512 MiB."}`)
			return
		}
		w.WriteHeader(202)
		io.WriteString(w, `{"job_id":"j1","environment_id":"e1","upload":{"size":5}}`)
	}))
	t.Cleanup(srv.Close)
	vars := map[string]string{"PRESSLUFT_SERVER": srv.URL, "PRESSLUFT_TOKEN": "plt_test"}
	run := func(stdin io.Reader, args ...string) (string, error) {
		var out, errOut bytes.Buffer
		e := env{getenv: func(k string) string { return vars[k] }, stdin: stdin, out: &out, errOut: &errOut}
		err := runWith(context.Background(), args, e)
		return out.String(), err
	}
	dir := t.TempDir()
	archive := filepath.Join(dir, "site.tar.gz")
	data := bytes.Repeat([]byte("wp-content"), 1000)
	if err := os.WriteFile(archive, data, 0o600); err != nil {
		t.Fatal(err)
	}

	out, err := run(strings.NewReader(""), "release", "deploy", "--env", "e1", "--archive-file", archive)
	if err != nil || !strings.Contains(out, "queued job j1") {
		t.Fatalf("deploy: %q, %v", out, err)
	}
	// "-" takes stdin when it is a file, from where it stands.
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.Seek(10, io.SeekStart)
	if _, err := run(f, "release", "deploy", "--env", "e1", "--archive-file", "-"); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("requests: %d", len(got))
	}
	for i, want := range [][]byte{data, data[10:]} {
		g := got[i]
		if g.path != "/api/environments/e1/deploy" || g.auth != "Bearer plt_test" || g.length != int64(len(want)) || !bytes.Equal(g.body, want) {
			t.Fatalf("request %d: %s %q length %d, %d bytes", i, g.path, g.auth, g.length, len(g.body))
		}
	}
	if got[0].ctype != "application/gzip" || got[1].ctype != "application/octet-stream" {
		t.Fatalf("content types %q, %q", got[0].ctype, got[1].ctype)
	}

	// Nothing is sent without a length to declare, or with two sources.
	pr, pw, _ := os.Pipe()
	defer pr.Close()
	defer pw.Close()
	for _, tc := range []struct {
		stdin io.Reader
		args  []string
		want  string
	}{
		{strings.NewReader("x"), []string{"--archive-file", "-"}, "not a file"},
		{pr, []string{"--archive-file", "-"}, "not a regular file"},
		{nil, []string{"--archive-file", dir}, "not a regular file"},
		{nil, []string{"--archive-file", filepath.Join(dir, "missing.zip")}, "no such file"},
		{nil, []string{"--archive-file", archive, "--git", "https://example.com/r.git"}, "whole source"},
	} {
		if _, err := run(tc.stdin, append([]string{"release", "deploy", "--env", "e1"}, tc.args...)...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want %q", tc.args, err, tc.want)
		}
	}
	if len(got) != 2 {
		t.Fatalf("refused commands sent requests: %d", len(got))
	}

	mu.Lock()
	refuse = true
	mu.Unlock()
	if _, err := run(nil, "release", "deploy", "--env", "e1", "--archive-file", archive); pressluft.ErrorCode(err) != pressluft.EArchiveTooLarge {
		t.Fatalf("refusal: %v", err)
	}
}
