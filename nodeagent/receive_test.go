package nodeagent

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pressluft/pressluft/agent/protocol"
)

// uploadRoot is an environment root holding tmp/, as the agent lays it out.
func uploadRoot(t *testing.T) (root, tmp string) {
	t.Helper()
	root = t.TempDir()
	tmp = filepath.Join(root, "shop", tmpArchiveDir)
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	return root, tmp
}

func TestReceiveUpload(t *testing.T) {
	t.Parallel()
	root, tmp := uploadRoot(t)
	data := []byte(noise(100_000))
	var out bytes.Buffer
	res, err := receiveUpload(context.Background(), NewWriter(&out), bytes.NewReader(append(data, "not read"...)),
		root, "shop", &protocol.Upload{ID: "u1", Size: int64(len(data))}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	if res.Path != "tmp/upload-u1.archive" || res.Size != int64(len(data)) || res.SHA256 != hex.EncodeToString(sum[:]) {
		t.Fatalf("result %+v", res)
	}
	got, err := os.ReadFile(filepath.Join(root, "shop", res.Path))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("the upload holds %d bytes (%v), want %d", len(got), err, len(data))
	}
	if fi, _ := os.Stat(filepath.Join(tmp, "upload-u1.archive")); fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", fi.Mode())
	}
	if !strings.HasPrefix(out.String(), `{"type":"ready"}`) {
		t.Fatalf("the answer does not start with ready: %q", out.String())
	}
	// A path validateArchivePath accepts: what release_build is given.
	if err := validateArchivePath(res.Path); err != nil {
		t.Fatal(err)
	}

	if err := discardUpload(root, "shop", "u1"); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(tmp); len(entries) != 0 {
		t.Fatalf("left after discard: %v", entries)
	}
	if err := discardUpload(root, "shop", "u1"); err != nil {
		t.Fatalf("discarding again: %v", err)
	}
	if err := discardUpload(root, "gone", "u1"); err != nil {
		t.Fatalf("discarding in an environment that is gone: %v", err)
	}
}

// A short input is what the agent sees when the control plane gives up
// (the session closes): an error, and no partial file left behind.
func TestReceiveUploadShortRead(t *testing.T) {
	t.Parallel()
	root, tmp := uploadRoot(t)
	var out bytes.Buffer
	_, err := receiveUpload(context.Background(), NewWriter(&out), strings.NewReader("only this"),
		root, "shop", &protocol.Upload{ID: "u2", Size: 1000}, time.Now())
	if code, msg := errorCode(err); code != protocol.ErrCancelled || !strings.Contains(msg, "9 of 1000 bytes") {
		t.Fatalf("error %v", err)
	}
	if entries, _ := os.ReadDir(tmp); len(entries) != 0 {
		t.Fatalf("left after a short read: %v", entries)
	}
}

func TestReceiveUploadRefusals(t *testing.T) {
	t.Parallel()
	root, tmp := uploadRoot(t)
	if err := os.Symlink("/etc", filepath.Join(root, "linked")); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "hop"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(tmp, filepath.Join(root, "hop", tmpArchiveDir)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, env string
		up        protocol.Upload
		code      string
	}{
		{"over the default limit", "shop", protocol.Upload{ID: "u3", Size: defaultMaxBytes + 1}, protocol.ErrArchiveTooLarge},
		{"over the request's limit", "shop", protocol.Upload{ID: "u3", Size: 2000, MaxBytes: 1000}, protocol.ErrArchiveTooLarge},
		{"no environment", "nope", protocol.Upload{ID: "u3", Size: 10}, protocol.ErrNotFound},
		{"environment is a link", "linked", protocol.Upload{ID: "u3", Size: 10}, protocol.ErrUnsafeArchive},
		{"tmp is a link", "hop", protocol.Upload{ID: "u3", Size: 10}, protocol.ErrUnsafeArchive},
	} {
		var out bytes.Buffer
		_, err := receiveUpload(context.Background(), NewWriter(&out), strings.NewReader(strings.Repeat("x", 3000)),
			root, tc.env, &tc.up, time.Now())
		if code, _ := errorCode(err); code != tc.code {
			t.Errorf("%s: error %v, want %s", tc.name, err, tc.code)
		}
		if strings.Contains(out.String(), `"ready"`) {
			t.Errorf("%s: ready before a refusal: %q", tc.name, out.String())
		}
	}
	if entries, _ := os.ReadDir(tmp); len(entries) != 0 {
		t.Fatalf("left after refusals: %v", entries)
	}
}

// A name the environment's user put where the upload goes is replaced,
// never written through.
func TestReceiveUploadReplacesPlantedLink(t *testing.T) {
	t.Parallel()
	root, tmp := uploadRoot(t)
	victim := filepath.Join(t.TempDir(), "victim")
	if err := os.WriteFile(victim, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, filepath.Join(tmp, "upload-u4.partial")); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if _, err := receiveUpload(context.Background(), NewWriter(&out), strings.NewReader("archive"),
		root, "shop", &protocol.Upload{ID: "u4", Size: 7}, time.Now()); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(victim); string(got) != "keep" {
		t.Fatalf("written through the link: %q", got)
	}
}

func TestReceiveUploadSweepsStale(t *testing.T) {
	t.Parallel()
	root, tmp := uploadRoot(t)
	now := time.Now()
	old := now.Add(-25 * time.Hour)
	files := map[string]time.Time{
		"upload-old.archive":   old,
		"upload-crash.partial": old,
		"upload-fresh.archive": now.Add(-time.Hour),
		"sess_abc":             old, // PHP's own files stay
	}
	for name, mtime := range files {
		p := filepath.Join(tmp, name)
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	var out bytes.Buffer
	if _, err := receiveUpload(context.Background(), NewWriter(&out), strings.NewReader("new"),
		root, "shop", &protocol.Upload{ID: "new", Size: 3}, now); err != nil {
		t.Fatal(err)
	}
	var names []string
	entries, _ := os.ReadDir(tmp)
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if want := "sess_abc upload-fresh.archive upload-new.archive"; strings.Join(names, " ") != want {
		t.Fatalf("tmp holds %v, want %s", names, want)
	}
	if !strings.Contains(out.String(), "removed 2 uploads") {
		t.Fatalf("events %q", out.String())
	}
}

func TestParseUploadRequests(t *testing.T) {
	t.Parallel()
	req := func(op string, up map[string]any) []byte {
		return mustJSON(map[string]any{"op": op, "version": testVersion, "env": map[string]any{"name": "shop"}, "upload": up})
	}
	for _, tc := range []struct {
		name string
		line []byte
		ok   bool
	}{
		{"receive", req(protocol.OpArchiveReceive, map[string]any{"id": "01a2-b3", "size": 10}), true},
		{"discard", req(protocol.OpArchiveDiscard, map[string]any{"id": "01a2-b3"}), true},
		{"no size", req(protocol.OpArchiveReceive, map[string]any{"id": "u"}), false},
		{"negative size", req(protocol.OpArchiveReceive, map[string]any{"id": "u", "size": -1}), false},
		{"huge limit", req(protocol.OpArchiveReceive, map[string]any{"id": "u", "size": 1, "max_bytes": int64(maxMaxBytes) + 1}), false},
		{"id with a path", req(protocol.OpArchiveReceive, map[string]any{"id": "../x", "size": 1}), false},
		{"id with a dot", req(protocol.OpArchiveReceive, map[string]any{"id": "a.b", "size": 1}), false},
		{"discard with a size", req(protocol.OpArchiveDiscard, map[string]any{"id": "u", "size": 1}), false},
		{"upload on another op", mustJSON(map[string]any{"op": "env_health", "version": testVersion, "env": map[string]any{"name": "shop"},
			"upload": map[string]any{"id": "u"}}), false},
	} {
		_, err := ParseRequest(tc.line, testVersion)
		if (err == nil) != tc.ok {
			t.Errorf("%s: error %v", tc.name, err)
		}
		if err != nil {
			if code, _ := errorCode(err); code != protocol.ErrBadRequest {
				t.Errorf("%s: code %s", tc.name, code)
			}
		}
	}
}
