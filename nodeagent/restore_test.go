package nodeagent

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pressluft/pressluft/agent/protocol"
)

func TestRestoreNames(t *testing.T) {
	t.Parallel()
	env := &protocol.Env{Name: "acme-production", ReleaseID: "r-7", DBName: "acme_production"}
	r := newRestore(env, &nodeFacts{PHPVersion: "8.2"}, envUser{}, &protocol.Backup{ID: "b1"})
	again := newRestore(env, &nodeFacts{PHPVersion: "8.2"}, envUser{}, &protocol.Backup{ID: "b1"})
	if r.tmpDB != again.tmpDB || r.oldDB != again.oldDB {
		t.Fatal("names differ between runs of the same restore")
	}
	for _, name := range []string{r.tmpDB, r.oldDB} {
		// A valid identifier without "_", which database grants take as a wildcard.
		if !dbIdentPattern.MatchString(name) || strings.Contains(name, "_") || len(name) > 64 {
			t.Errorf("database name %q", name)
		}
	}
	other := r.forRelease("r-8")
	if other.tmpDB == r.tmpDB || other.upNew == r.upNew || other.release == r.release || other.state != r.state {
		t.Errorf("another release shares names: %+v", other)
	}
	if r.release != "/srv/pressluft/acme-production/releases/r-7" || r.upNew != "/srv/pressluft/acme-production/shared/.uploads-r-7.new" {
		t.Errorf("paths %s %s", r.release, r.upNew)
	}
}

func TestRestoreState(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), ".pressluft-restore.json")
	if _, ok := readRestoreState(path); ok {
		t.Fatal("a missing state was read")
	}
	st := &restoreState{Phase: phaseSwitching, BackupID: "b1", ReleaseID: "r-7", Previous: "releases/r-6", DB: true, Files: true}
	if err := writeRestoreState(path, st); err != nil {
		t.Fatal(err)
	}
	got, ok := readRestoreState(path)
	if !ok || *got != *st {
		t.Fatalf("read %+v", got)
	}
	for _, bad := range []string{`{"phase":"switching","release_id":"../x"}`, `{"phase":"done","release_id":"r"}`, `garbage`} {
		os.WriteFile(path, []byte(bad), 0o600)
		if _, ok := readRestoreState(path); ok {
			t.Errorf("accepted %s", bad)
		}
	}
}

func TestCheckRestored(t *testing.T) {
	t.Parallel()
	env := &protocol.Env{URL: "http://staging.test"}
	m := &protocol.Manifest{SiteURL: "https://shop.example"}
	ok := protocol.Health{Installed: true, DBOK: true}
	for _, c := range []struct {
		name string
		h    protocol.Health
		st   restoreState
		sr   *protocol.SearchReplace
		fail bool
	}{
		{"same environment keeps the backup's home", withHome(ok, "https://shop.example/"), restoreState{DB: true}, nil, false},
		{"rewritten to the target", withHome(ok, "http://staging.test"), restoreState{DB: true}, &protocol.SearchReplace{}, false},
		{"rewritten but home is the source's", withHome(ok, "https://shop.example"), restoreState{DB: true}, &protocol.SearchReplace{}, true},
		{"files only: home is not the restore's", withHome(ok, "http://elsewhere.test"), restoreState{Files: true}, nil, false},
		{"database down", protocol.Health{Installed: true}, restoreState{Files: true}, nil, true},
	} {
		err := checkRestored(c.h, env, &c.st, m, c.sr)
		if (err != nil) != c.fail {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}

func withHome(h protocol.Health, home string) protocol.Health {
	h.Home = home
	return h
}
