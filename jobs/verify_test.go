package jobs_test

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/pressluft/pressluft"
)

// verifiedUpdate runs an update tried on a copy first and returns the job at
// its end with its events.
func (s *handlerStack) verifiedUpdate(t *testing.T, envID, want string) (*pressluft.Job, []*pressluft.JobEvent) {
	t.Helper()
	j, err := s.releases.Update(context.Background(), envID, pressluft.UpdateRequest{Scope: "plugins", Items: []string{"hello-dolly"},
		PackageURL: "http://10.77.9.1/hello-dolly.zip", VerifyOnClone: true})
	if err != nil {
		t.Fatal(err)
	}
	done := waitStatus(t, s.q, j.ID, want)
	events, err := s.q.FindJobEvents(context.Background(), j.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	return done, events
}

func steps(events []*pressluft.JobEvent) map[string][]string {
	out := map[string][]string{}
	for _, e := range events {
		out[e.Step] = append(out[e.Step], e.Level+": "+e.Message)
	}
	return out
}

// isTrial reports whether url is a trial copy's preview URL.
func isTrial(url string) bool { return strings.Contains(url, "-vf-") }

func TestHandlers_UpdateTriedOnACopyFirst(t *testing.T) {
	t.Parallel()
	s := newHandlerStack(t)
	ctx := context.Background()
	// The longest site slug still leaves the copy's name within the node's limit.
	c := s.activeSite(t, "acme-twenty-chars-ok")
	env := c.Environment
	s.fake.mu.Lock()
	s.fake.calls = nil
	s.fake.mu.Unlock()

	done, events := s.verifiedUpdate(t, env.ID, pressluft.JobSucceeded)
	rel := pressluft.ReleaseIDFor(done)
	got := strings.Join(s.fake.called(""), " | ")
	want := strings.Join([]string{"copy", "update " + rel + "-trial", "switch " + rel + "-trial", "delete",
		"backup " + env.SystemName, "update " + rel, "switch " + rel}, " | ")
	if !strings.HasPrefix(got, want) {
		t.Fatalf("node calls:\n%s\nwant first:\n%s", got, want)
	}

	s.fake.mu.Lock()
	trial, source, deleted := s.fake.created[len(s.fake.created)-1], s.fake.sources[len(s.fake.sources)-1], s.fake.deleted
	s.fake.mu.Unlock()
	// 32 characters: no "<site>-<env>" (at most 20+1+10) can have the name.
	if len(trial.Name) != 32 || !strings.HasPrefix(trial.Name, "acme-twenty-chars-ok-vf-") ||
		!regexp.MustCompile(`^[a-z][a-z0-9-]{0,31}$`).MatchString(trial.Name) || pressluft.MaxSiteSlug+1+pressluft.MaxEnvSlug >= len(trial.Name) {
		t.Fatalf("trial copy name %q", trial.Name)
	}
	if trial.Type != pressluft.EnvClone || trial.URL != "http://"+trial.Name+".10-77-9-2.sslip.io" || trial.DBName != strings.ReplaceAll(trial.Name, "-", "_") ||
		len(trial.DBPassword) < 16 || trial.ReleaseID != rel+"-copy" || source.Name != env.SystemName {
		t.Fatalf("trial copy %+v of %+v", trial, source)
	}
	if len(deleted) != 1 || deleted[0] != trial.Name {
		t.Fatalf("deleted %v, want the copy %s", deleted, trial.Name)
	}

	e, _ := s.sites.FindEnvironmentByID(ctx, env.ID)
	rels, _ := s.releases.FindReleases(ctx, env.ID)
	if e.Status != pressluft.StatusActive || e.CurrentReleaseID != rels[0].ID || rels[0].Dir() != rel || rels[0].SnapshotID == "" {
		t.Fatalf("after the update: %s, release %s, releases %+v", e.Status, e.CurrentReleaseID, rels[0])
	}
	var result map[string]any
	if err := json.Unmarshal(done.Result, &result); err != nil || result["verified_on_clone"] != true {
		t.Fatalf("result %s", done.Result)
	}
	st := steps(events)
	for _, step := range []string{"verify_copy", "verify_update", "verify_check", "verify_cleanup"} {
		if len(st[step]) == 0 {
			t.Errorf("no %s event in %v", step, st)
		}
	}
}

func TestHandlers_UpdateRefusedByTheCopyLeavesLiveUntouched(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		page     func(url string) (int, string, bool)
		fail     map[string]error
		code     string
		noTrial  bool
		contains string
	}{
		{name: "a PHP fatal on the copy", code: pressluft.EHealthCheckFailed, contains: "shows a PHP error",
			page: func(url string) (int, string, bool) {
				return 500, "<b>Fatal error</b>: Uncaught Error: bad plugin", isTrial(url)
			}},
		{name: "another title on the copy", code: pressluft.EHealthCheckFailed, contains: `shows the title "Other"`,
			page: func(url string) (int, string, bool) { return 200, "<title>Other</title>", isTrial(url) }},
		{name: "the upgrader fails on the copy", code: pressluft.EUpdateFailed, contains: "failed on the temporary copy",
			fail: map[string]error{"update": pressluft.Errorf(pressluft.EUpdateFailed, "Plugin update failed.")}},
		{name: "the live site fails before", code: pressluft.EHealthCheckFailed, contains: "answered 503", noTrial: true,
			page: func(url string) (int, string, bool) { return 503, "down", !isTrial(url) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newHandlerStack(t)
			ctx := context.Background()
			c := s.activeSite(t, "acme")
			env := c.Environment
			before, _ := s.sites.FindEnvironmentByID(ctx, env.ID)
			s.fake.mu.Lock()
			s.fake.calls, s.fake.fail = nil, tc.fail
			s.fake.mu.Unlock()
			s.page = tc.page

			failed, events := s.verifiedUpdate(t, env.ID, pressluft.JobFailed)
			if failed.ErrorCode != tc.code || !strings.Contains(failed.ErrorMessage, tc.contains) ||
				!strings.HasSuffix(failed.ErrorMessage, "The live environment was not changed.") {
				t.Fatalf("failed with %s: %s", failed.ErrorCode, failed.ErrorMessage)
			}
			rel := pressluft.ReleaseIDFor(failed)
			for _, call := range s.fake.called("") {
				if call == "update "+rel || call == "switch "+rel || strings.HasPrefix(call, "backup ") || strings.HasPrefix(call, "restore ") {
					t.Fatalf("the live environment was touched: %v", s.fake.called(""))
				}
			}
			s.fake.mu.Lock()
			deleted := s.fake.deleted
			s.fake.mu.Unlock()
			if tc.noTrial {
				if len(s.fake.called("copy")) != 0 {
					t.Fatalf("copied although the live site failed first: %v", s.fake.called(""))
				}
			} else if len(deleted) != 1 || !strings.Contains(deleted[0], "-vf-") {
				t.Fatalf("the copy was not removed: deleted %v", deleted)
			}
			e, _ := s.sites.FindEnvironmentByID(ctx, env.ID)
			if e.Status != pressluft.StatusActive || e.CurrentReleaseID != before.CurrentReleaseID {
				t.Fatalf("live environment after a refused update: %s, release %s", e.Status, e.CurrentReleaseID)
			}
			if rels, _ := s.releases.FindReleases(ctx, env.ID); len(rels) != 1 {
				t.Fatalf("releases after a refused update: %d", len(rels))
			}
			backups, _ := s.backups.FindBackups(ctx, env.ID)
			for _, b := range backups {
				if b.Trigger == pressluft.TriggerSnapshot {
					t.Fatalf("a snapshot is recorded although none was taken: %+v", b)
				}
			}
			if st := steps(events); !tc.noTrial && (len(st["verify_copy"]) == 0 || len(st["verify_cleanup"]) == 0) {
				t.Fatalf("events %v", st)
			}
		})
	}
}

func TestHandlers_CopyThatCannotBeRemovedIsAWarning(t *testing.T) {
	t.Parallel()
	s := newHandlerStack(t)
	ctx := context.Background()
	c := s.activeSite(t, "acme")
	s.fake.mu.Lock()
	s.fake.fail = map[string]error{"delete": pressluft.Errorf(pressluft.ECommandFailed, "userdel: user is busy.")}
	s.fake.mu.Unlock()

	done, events := s.verifiedUpdate(t, c.Environment.ID, pressluft.JobSucceeded)
	var warned string
	for _, e := range events {
		if e.Step == "verify_cleanup" && e.Level == pressluft.LevelWarn {
			warned = e.Message
		}
	}
	if !strings.Contains(warned, "userdel: user is busy.") || !strings.Contains(warned, "/srv/pressluft/acme-vf-") || !strings.Contains(warned, "database") {
		t.Fatalf("cleanup warning %q", warned)
	}
	if e, _ := s.sites.FindEnvironmentByID(ctx, c.Environment.ID); e.Status != pressluft.StatusActive {
		t.Fatalf("environment %s", e.Status)
	}
	if rels, _ := s.releases.FindReleases(ctx, c.Environment.ID); rels[0].Dir() != pressluft.ReleaseIDFor(done) {
		t.Fatalf("the live environment was not updated: %+v", rels[0])
	}
}
