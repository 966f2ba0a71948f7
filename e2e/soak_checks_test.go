//go:build e2e

package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/pressluft/pressluft"
)

// record keeps what the API reports done right before a kill: terminal
// jobs, active sites and environments, completed backups (but the database
// snapshots of releases, which go with their release when it is pruned).
// It returns the jobs this process runs (claimed since it started; a job
// still running from before a kill waits for its lease to expire).
func (sk *soak) record(since time.Time) []string {
	sk.t.Helper()
	jobs := sk.mustJobs()
	code, list, err := sk.do("GET", "/api/sites", nil)
	if err != nil || code != 200 {
		sk.t.Fatalf("sites: %d %v", code, err)
	}
	type row struct{ id, owner string }
	var sites []string
	var envs, backups []row
	for _, it := range list["items"].([]any) {
		site := it.(map[string]any)
		if site["status"] == "active" {
			sites = append(sites, str(site["id"]))
		}
		code, page, err := sk.do("GET", "/api/sites/"+str(site["id"])+"/environments", nil)
		if err != nil || code != 200 {
			continue // deleted in between
		}
		for _, e := range page["items"].([]any) {
			env := e.(map[string]any)
			if env["status"] == "active" {
				envs = append(envs, row{str(env["id"]), str(site["id"])})
			}
			code, list, err := sk.do("GET", "/api/environments/"+str(env["id"])+"/backups", nil)
			if err != nil || code != 200 {
				continue
			}
			for _, b := range list["items"].([]any) {
				if b := b.(map[string]any); b["status"] == "completed" && b["trigger"] != pressluft.TriggerSnapshot {
					backups = append(backups, row{str(b["id"]), str(env["id"])})
				}
			}
		}
	}
	sk.mu.Lock()
	defer sk.mu.Unlock()
	var running []string
	for _, j := range jobs {
		switch status := str(j["status"]); status {
		case "running":
			if at, err := time.Parse(time.RFC3339Nano, str(j["started_at"])); err == nil && at.After(since) {
				running = append(running, str(j["type"]))
			}
		case "succeeded", "failed", "cancelled":
			sk.doneJobs[str(j["id"])] = soakJob{typ: str(j["type"]), status: status, siteID: str(j["site_id"]), envID: str(j["environment_id"])}
		}
	}
	for _, id := range sites {
		sk.activeSites[id] = true
	}
	for _, e := range envs {
		sk.activeEnvs[e.id] = e.owner
	}
	for _, b := range backups {
		sk.doneBackups[b.id] = b.owner
	}
	slices.Sort(running)
	return running
}

// lostRows compares what was recorded before the kills with the end state:
// a terminal job must keep its status; an active site or environment, or a
// completed backup, must still exist unless a delete removed it; a
// succeeded create must have left its environment with a release, and a
// succeeded delete its rows gone.
func (sk *soak) lostRows(a *api, all []map[string]any) int {
	t := sk.t
	jobs := map[string]map[string]any{}
	for _, j := range all {
		jobs[str(j["id"])] = j
	}
	lost := 0
	goneEnvs, goneSites := map[string]bool{}, map[string]bool{}
	for _, j := range jobs {
		if j["status"] != "succeeded" {
			continue
		}
		switch j["type"] {
		case pressluft.JobEnvDelete:
			goneEnvs[str(j["environment_id"])] = true
		case pressluft.JobSiteDelete:
			goneSites[str(j["site_id"])] = true
		}
	}
	for id, was := range sk.doneJobs {
		now, ok := jobs[id]
		if !ok || now["status"] != was.status {
			lost++
			t.Errorf("lost row: %s job %s was %s before a kill, now %v", was.typ, id, was.status, now["status"])
		}
	}
	removed := func(envID, siteID string) bool { return goneEnvs[envID] || goneSites[siteID] }
	for envID, siteID := range sk.activeEnvs {
		if code, _, _ := a.call("GET", "/api/environments/"+envID, nil); code != 200 && !removed(envID, siteID) {
			lost++
			t.Errorf("lost row: environment %s was active before a kill; now %d with no delete job that removed it", envID, code)
		}
	}
	for siteID := range sk.activeSites {
		if code, _, _ := a.call("GET", "/api/sites/"+siteID, nil); code != 200 && !goneSites[siteID] {
			lost++
			t.Errorf("lost row: site %s was active before a kill; now %d with no delete job that removed it", siteID, code)
		}
	}
	goneBackups := map[string]bool{}
	for _, j := range jobs {
		if j["status"] == "succeeded" && j["type"] == pressluft.JobBackupDelete {
			var pl struct {
				BackupID string `json:"backup_id"`
			}
			raw, _ := json.Marshal(j["payload"])
			_ = json.Unmarshal(raw, &pl)
			goneBackups[pl.BackupID] = true
		}
	}
	for id, envID := range sk.doneBackups {
		code, b, _ := a.call("GET", "/api/backups/"+id, nil)
		envGone := false
		if code == 404 {
			envCode, _, _ := a.call("GET", "/api/environments/"+envID, nil)
			envGone = envCode == 404
		}
		if code == 200 && !oneOf(b["status"], "completed", "expired") || code != 200 && !goneBackups[id] && !envGone {
			lost++
			t.Errorf("lost row: backup %s was completed before a kill; now %d %v with no delete that removed it", id, code, b["status"])
		}
	}
	for id, j := range jobs {
		if j["status"] != "succeeded" {
			continue
		}
		envID, siteID := str(j["environment_id"]), str(j["site_id"])
		switch j["type"] {
		case pressluft.JobSiteCreate, pressluft.JobEnvCreate:
			code, env, _ := a.call("GET", "/api/environments/"+envID, nil)
			if code == 200 && env["current_release_id"] == "" || code != 200 && !removed(envID, siteID) {
				lost++
				t.Errorf("lost row: %v %s succeeded, but its environment is %d %v without its release", j["type"], id, code, env["status"])
			}
		case pressluft.JobEnvDelete, pressluft.JobSiteDelete:
			path := "/api/environments/" + envID
			if j["type"] == pressluft.JobSiteDelete {
				path = "/api/sites/" + siteID
			}
			if code, _, _ := a.call("GET", path, nil); code != 404 {
				lost++
				t.Errorf("inconsistent row: %v %s succeeded, but %s answers %d", j["type"], id, path, code)
			}
		}
	}
	return lost
}

// recover brings every resource back the way a user would: a failed node
// by provisioning it again (the node's reset), a failed environment or site
// by reset, and an environment that was never created completely (reset
// refuses it) or failed while being deleted by deleting it (again). It
// returns what needed manual repair, what reset recovered, and what was
// removed by deleting.
func (sk *soak) recover(a *api, all []map[string]any) (manual, reset, deleted int) {
	t := sk.t
	switch n := a.must("GET", "/api/nodes/"+sk.nodeID, nil, 200); n["status"] {
	case "active":
	case "unreachable": // the probes bring it back when SSH answers
		waitFor(t, "the node to turn active", time.Minute, func() bool { return sk.s.node(t, sk.nodeID)["status"] == "active" })
	case "failed":
		job := a.waitJob(a.must("POST", "/api/nodes/"+sk.nodeID+"/provision", nil, 202)["job_id"].(string), 10*time.Minute)
		if job["status"] != "succeeded" {
			manual++
			t.Errorf("node failed, and provisioning again did not bring it back:\n%s", describeJob(job))
			return manual, reset, deleted
		}
		reset++
		t.Logf("node was failed (%v); provisioning again made it active", n["last_error"])
	default:
		manual++
		t.Errorf("node is %v with no job running: %v", n["status"], n["last_error"])
		return manual, reset, deleted
	}
	// remove deletes an environment again (a production one with its site).
	remove := func(env map[string]any, why string) bool {
		path := "/api/environments/" + str(env["id"])
		if env["type"] == "production" {
			path = "/api/sites/" + str(env["site_id"])
		}
		job := a.waitJob(a.must("DELETE", path, nil, 202)["job_id"].(string), 10*time.Minute)
		if job["status"] != "succeeded" {
			manual++
			t.Errorf("environment %v %s, and deleting it failed:\n%s", env["system_name"], why, describeJob(job))
			return false
		}
		deleted++
		t.Logf("environment %v %s (%v); deleting it removed it", env["system_name"], why, env["last_error"])
		return true
	}
	for _, it := range a.must("GET", "/api/sites", nil, 200)["items"].([]any) {
		siteID := str(it.(map[string]any)["id"])
		site := a.must("GET", "/api/sites/"+siteID, nil, 200)
		envs := soakEnvs(site)
		gone := false
		// Copies first: a site whose production goes, goes as a whole.
		for i := len(envs) - 1; i >= 0 && !gone; i-- {
			env := envs[i]
			for _, b := range a.must("GET", "/api/environments/"+str(env["id"])+"/backups", nil, 200)["items"].([]any) {
				if b := b.(map[string]any); !oneOf(b["status"], "completed", "failed", "expired") {
					manual++
					t.Errorf("backup %v of %v is %v with no job running", b["id"], env["system_name"], b["status"])
				}
			}
			switch env["status"] {
			case "active":
				continue
			case "failed":
			default:
				manual++
				t.Errorf("environment %v is %v with no job running: %v", env["system_name"], env["status"], env["last_error"])
				continue
			}
			// A delete cut short is finished by deleting again, not undone.
			if last := lastJobOf(all, env); last != nil && oneOf(last["type"], pressluft.JobEnvDelete, pressluft.JobSiteDelete) {
				gone = remove(env, "failed while being deleted") && env["type"] == "production"
				continue
			}
			code, m, _ := a.call("POST", "/api/environments/"+str(env["id"])+"/reset", nil)
			switch {
			case code == 200 && m["status"] == "active":
				reset++
				t.Logf("environment %v was failed (%v); reset made it active", env["system_name"], env["last_error"])
			case code == 409 && m["code"] == pressluft.EResetValidation && env["current_release_id"] == "":
				gone = remove(env, "was never created completely; reset refused it") && env["type"] == "production"
			default:
				manual++
				t.Errorf("environment %v is failed (%v), and reset answered %d %v", env["system_name"], env["last_error"], code, m)
			}
		}
		code, site, _ := a.call("GET", "/api/sites/"+siteID, nil)
		if code == 404 || code == 200 && site["status"] == "active" {
			continue
		}
		if code, m, _ := a.call("POST", "/api/sites/"+siteID+"/reset", nil); code == 200 && m["status"] == "active" {
			reset++
			t.Logf("site %v was failed; reset made it active", site["slug"])
		} else {
			manual++
			t.Errorf("site %v is %v, and reset answered %d %v", site["slug"], site["status"], code, m)
		}
	}
	return manual, reset, deleted
}

// lastJobOf returns the newest job that marks an environment (of its own,
// or its site's delete); ids sort by creation.
func lastJobOf(all []map[string]any, env map[string]any) map[string]any {
	var last map[string]any
	for _, j := range all {
		kind, _ := pressluft.KindOf(str(j["type"]))
		mine := kind.Marks == pressluft.MarksEnvironment && j["environment_id"] == env["id"] ||
			kind.Marks == pressluft.MarksSite && j["site_id"] == env["site_id"]
		if mine && (last == nil || str(j["id"]) > str(last["id"])) {
			last = j
		}
	}
	return last
}

// checkServes requests every active environment's preview URL over the
// node and wants its site's title, served from the release the control
// plane records as current. It returns how many fall short.
func (sk *soak) checkServes(a *api) int {
	c := previewClient(sk.node.IP)
	bad, served := 0, 0
	for _, it := range a.must("GET", "/api/sites", nil, 200)["items"].([]any) {
		site := a.must("GET", "/api/sites/"+str(it.(map[string]any)["id"]), nil, 200)
		for _, env := range soakEnvs(site) {
			if env["status"] != "active" {
				continue
			}
			u, want := str(env["preview_url"]), str(site["name"])
			var code int
			var body string
			for try := 0; try < 10; try++ {
				res, err := c.Get(u + "/")
				if err == nil {
					code, body = res.StatusCode, readBody(res)
					if code == 200 && strings.Contains(body, want) {
						break
					}
				}
				time.Sleep(time.Second)
			}
			if code != 200 || !strings.Contains(body, want) {
				bad++
				sk.t.Errorf("active environment %v does not serve its title %q: %d %.300s", env["system_name"], want, code, body)
				continue
			}
			// The release the node serves is the one the control plane records.
			var recorded string
			for _, r := range a.must("GET", "/api/environments/"+str(env["id"])+"/releases", nil, 200)["items"].([]any) {
				if r := r.(map[string]any); r["current"] == true {
					recorded = filepath.Base(str(r["path"]))
				}
			}
			link, err := sk.node.Exec(ctxFor(sk.t, time.Minute), "readlink", "/srv/pressluft/"+str(env["system_name"])+"/current")
			if serving := filepath.Base(strings.TrimSpace(link)); err != nil || serving != recorded {
				bad++
				sk.t.Errorf("active environment %v: the node serves release %q, the control plane records %q as current (%v)\n%s",
					env["system_name"], serving, recorded, err, sk.history(a, env))
				continue
			}
			served++
		}
	}
	sk.t.Logf("%d active environment(s) serve their site's title, from the release the control plane records", served)
	return bad
}

// history renders an environment's jobs with their events, and its
// releases on the node, for a failure message.
func (sk *soak) history(a *api, env map[string]any) string {
	var b strings.Builder
	for _, j := range sk.mustJobs() {
		if j["environment_id"] == env["id"] {
			job := a.must("GET", "/api/jobs/"+str(j["id"]), nil, 200)
			fmt.Fprintf(&b, "job %v (attempt %v of %v, created %v, finished %v): %s", job["id"], job["attempt"], job["max_attempts"],
				job["created_at"], job["finished_at"], describeJob(job))
		}
	}
	out, _ := sk.node.Exec(ctxFor(sk.t, time.Minute), "sh", "-c", "cd /srv/pressluft/"+str(env["system_name"])+
		" && ls -la --time-style=full-iso current releases/")
	return b.String() + "on the node:\n" + out
}

// leftovers lists environment directories on the node that no environment
// of the control plane owns (what a delete cut short left behind).
func (sk *soak) leftovers(a *api) int {
	owned := map[string]bool{}
	for _, it := range a.must("GET", "/api/sites", nil, 200)["items"].([]any) {
		for _, env := range soakEnvs(a.must("GET", "/api/sites/"+str(it.(map[string]any)["id"]), nil, 200)) {
			owned[str(env["system_name"])] = true
		}
	}
	out, err := sk.node.Exec(ctxFor(sk.t, time.Minute), "ls", "-1", "/srv/pressluft")
	if err != nil {
		sk.t.Errorf("list environments on the node: %v", err)
		return 0
	}
	var left []string
	for _, name := range strings.Fields(out) {
		if !owned[name] {
			left = append(left, name)
		}
	}
	if len(left) > 0 {
		sk.t.Logf("on the node without an environment in the control plane: %s", strings.Join(left, " "))
	}
	return len(left)
}

// tally logs how each kind fared and returns the kinds without a success.
func (sk *soak) tally(all []map[string]any) []string {
	type tally struct {
		jobs, succeeded, failed, cancelled, rescued int
		codes                                       map[string]int // of failed jobs
	}
	tallies := map[string]*tally{}
	for _, j := range all {
		k := str(j["type"])
		if tallies[k] == nil {
			tallies[k] = &tally{codes: map[string]int{}}
		}
		tl := tallies[k]
		tl.jobs++
		switch j["status"] {
		case "succeeded":
			tl.succeeded++
		case "failed":
			tl.failed++
			tl.codes[str(j["error_code"])]++
		case "cancelled":
			tl.cancelled++
		}
		if j["attempt"].(float64) > 1 || j["error_code"] == pressluft.EWorkerLost {
			tl.rescued++
		}
	}
	var lines, never []string
	for _, k := range pressluft.JobKinds() {
		tl := tallies[k.Type]
		if tl == nil {
			tl = &tally{}
		}
		line := fmt.Sprintf("%-16s %3d jobs: %3d succeeded, %3d failed, %3d cancelled, %3d interrupted and retried or failed",
			k.Type, tl.jobs, tl.succeeded, tl.failed, tl.cancelled, tl.rescued)
		if len(tl.codes) > 0 {
			line += fmt.Sprintf(" (failed: %v)", tl.codes)
		}
		lines = append(lines, line)
		if tl.succeeded == 0 {
			never = append(never, k.Type)
		}
	}
	sk.mu.Lock()
	defer sk.mu.Unlock()
	sk.t.Logf("jobs by kind (requests refused as busy: %d, cut by a kill: %d):\n  %s", sk.refused, sk.cut, strings.Join(lines, "\n  "))
	return never
}

// explainFailures logs the failed jobs a kill does not explain.
func (sk *soak) explainFailures(a *api, all []map[string]any) {
	for _, j := range all {
		if j["status"] == "failed" && !oneOf(j["error_code"], pressluft.EWorkerLost, pressluft.ENodeNotActive) {
			sk.t.Logf("failed job %v:\n%s", j["id"], describeJob(a.must("GET", "/api/jobs/"+str(j["id"]), nil, 200)))
		}
	}
}

// runOnce starts a job of kind once nothing is killed any more and wants
// it to succeed. When the kind has nothing to act on, what the warm-up
// makes (a deploy, a backup, a site, a copy) is made first.
func (sk *soak) runOnce(a *api, kind string) {
	t := sk.t
	before := map[string]bool{}
	for _, j := range sk.mustJobs() {
		before[str(j["id"])] = true
	}
	if prepare := soakPrepare[kind]; prepare != nil {
		prepare(sk, a)
	}
	id, ok := "", false
	for try := 0; !ok; try++ {
		if try == 10 {
			t.Errorf("no %s job succeeded during the soak, and after it there was nothing for one to act on", kind)
			return
		}
		st, err := sk.state()
		if err != nil {
			t.Fatal(err)
		}
		if id, ok = sk.tryStart(kind, st); ok {
			break
		}
		for _, k := range soakWarmUp {
			if pre, started := sk.tryStart(k, st); started {
				if job := a.waitJob(pre, 15*time.Minute); job["status"] != "succeeded" {
					t.Logf("%s for a %s job to act on failed:\n%s", k, kind, describeJob(job))
				}
				break
			}
		}
	}
	if id == "" { // made due: the scheduler enqueues it
		waitFor(t, "the scheduler to enqueue "+kind, 2*time.Minute, func() bool {
			for _, j := range sk.mustJobs() {
				if j["type"] == kind && !before[str(j["id"])] {
					id = str(j["id"])
					return true
				}
			}
			return false
		})
	}
	if job := a.waitJob(id, 15*time.Minute); job["status"] != "succeeded" {
		t.Errorf("no %s job succeeded during the soak, nor once after it:\n%s", kind, describeJob(job))
	} else {
		t.Logf("no %s job succeeded during the soak; one after it did", kind)
	}
}

// tryStart starts a job of kind if the state offers something to act on,
// and returns its id ("" for a periodic job made due).
func (sk *soak) tryStart(kind string, st *soakState) (string, bool) {
	what, err := soakKinds[kind](sk, st)
	if err != nil && !errors.Is(err, errRefused) {
		sk.t.Logf("start %s: %v", kind, err)
	}
	return uuidRE.FindString(what), what != ""
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func oneOf(v any, values ...string) bool {
	s, ok := v.(string)
	return ok && slices.Contains(values, s)
}

func cmpOr(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func tail(s string, lines int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(l[max(0, len(l)-lines):], "\n")
}
