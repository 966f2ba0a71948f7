package nodeagent

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/pressluft/pressluft/agent/protocol"
)

// testConfig is a config whose "service" rejects any file holding "bad":
// TestAlone checks the candidate, TestAll the installed file.
func testConfig(t *testing.T, data string) serviceConfig {
	dir := t.TempDir()
	path := filepath.Join(dir, "sites", "shop.conf")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	return serviceConfig{
		Path:      path,
		Data:      []byte(data),
		Backup:    filepath.Join(dir, "backups", "shop.nginx.conf"),
		Pending:   filepath.Join(dir, "backups", "shop.nginx.reload"),
		TestAlone: []string{"sh", "-c", `! grep -q alone-bad "$0"`},
		TestAll:   []string{"sh", "-c", `! grep -q bad "$0" || { echo "bad directive in $0" >&2; exit 1; }`, path},
	}
}

func testAgent() (*agent, *bytes.Buffer) {
	var out bytes.Buffer
	return &agent{w: NewWriter(&out)}, &out
}

func readString(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestInstallConfigWritesOnlyChanges(t *testing.T) {
	t.Parallel()
	a, _ := testAgent()
	c := testConfig(t, "good 1\n")
	changed, err := a.installConfig(t.Context(), c)
	if err != nil || !changed {
		t.Fatalf("first install: changed=%t err=%v", changed, err)
	}
	if readString(t, c.Path) != "good 1\n" || !exists(c.Pending) {
		t.Fatal("the config or its pending-reload mark is missing")
	}
	// A run that stopped before the reload: the next one reloads, though nothing changed.
	if changed, err := a.installConfig(t.Context(), c); err != nil || !changed {
		t.Fatalf("pending reload: changed=%t err=%v", changed, err)
	}
	os.Remove(c.Pending)
	if changed, err := a.installConfig(t.Context(), c); err != nil || changed {
		t.Fatalf("unchanged config: changed=%t err=%v", changed, err)
	}
	c.Data = []byte("good 2\n")
	if changed, err := a.installConfig(t.Context(), c); err != nil || !changed {
		t.Fatalf("second version: changed=%t err=%v", changed, err)
	}
	if readString(t, c.Backup) != "good 1\n" || readString(t, c.Path) != "good 2\n" {
		t.Fatal("the previous version is not kept beside the new one")
	}
}

func TestInstallConfigPutsThePreviousVersionBack(t *testing.T) {
	t.Parallel()
	a, _ := testAgent()
	c := testConfig(t, "good\n")
	if _, err := a.installConfig(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	os.Remove(c.Pending)
	c.Data = []byte("bad\n")
	_, err := a.installConfig(t.Context(), c)
	var e *Error
	if !errors.As(err, &e) || e.Code != protocol.ErrConfigRejected || !bytes.Contains([]byte(e.Message), []byte("bad directive")) {
		t.Fatalf("err = %v, want config_rejected with the tool's message", err)
	}
	if readString(t, c.Path) != "good\n" {
		t.Error("the rejected config stayed in place")
	}
	if exists(c.Pending) {
		t.Error("a rejected config is marked for reload")
	}
}

func TestInstallConfigRemovesARejectedNewFile(t *testing.T) {
	t.Parallel()
	a, _ := testAgent()
	c := testConfig(t, "bad\n")
	if _, err := a.installConfig(t.Context(), c); err == nil {
		t.Fatal("a bad config was accepted")
	}
	if exists(c.Path) {
		t.Error("the rejected config was left in place")
	}
}

func TestInstallConfigTestsTheCandidateAlone(t *testing.T) {
	t.Parallel()
	a, _ := testAgent()
	c := testConfig(t, "good\n")
	if _, err := a.installConfig(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	c.Data = []byte("alone-bad\n")
	_, err := a.installConfig(t.Context(), c)
	var e *Error
	if !errors.As(err, &e) || e.Code != protocol.ErrConfigRejected {
		t.Fatalf("err = %v, want config_rejected", err)
	}
	if readString(t, c.Path) != "good\n" {
		t.Error("a candidate that failed its own test was installed")
	}
	entries, _ := os.ReadDir(filepath.Dir(c.Backup))
	for _, e := range entries {
		if filepath.Ext(e.Name()) == ".candidate" {
			t.Errorf("candidate %s left behind", e.Name())
		}
	}
}
