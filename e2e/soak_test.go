//go:build e2e

package e2e

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/pressluft/pressluft"
	"github.com/pressluft/pressluft/e2e/testnode"
	"github.com/pressluft/pressluft/sqlite"
)

// The soak keeps this much work on one node: enough that kills land in
// every kind of job, little enough for a small machine.
const (
	soakMaxSites    = 4 // live sites
	soakMaxEnvs     = 2 // environments per site
	soakMaxInFlight = 6 // queued and running jobs
)

// soakKinds says how the crash soak starts a job of each kind, the way a
// user or the scheduler does. start returns what it started (a job id, or
// what was made due), or "" when the soak's state offers nothing to act on
// now. A kind without an entry fails the soak: adding a kind adds its line.
var soakKinds = map[string]func(sk *soak, st *soakState) (string, error){
	pressluft.JobNodeProvision: func(sk *soak, st *soakState) (string, error) {
		if st.inFlight[pressluft.JobNodeProvision] > 0 || !oneOf(st.node["status"], "active", "failed", "unreachable") {
			return "", nil
		}
		return sk.startJob("POST", "/api/nodes/"+sk.nodeID+"/provision", nil)
	},
	pressluft.JobNodeCheck: func(sk *soak, st *soakState) (string, error) {
		if st.inFlight[pressluft.JobNodeCheck] > 0 {
			return "", nil
		}
		return sk.startJob("POST", "/api/nodes/"+sk.nodeID+"/check", nil)
	},
	pressluft.JobSiteCreate: func(sk *soak, st *soakState) (string, error) {
		if st.node["status"] != "active" || len(st.sites) >= soakMaxSites {
			return "", nil
		}
		n := sk.nextName()
		return sk.startJob("POST", "/api/sites", map[string]any{"name": soakTitle(n), "title": soakTitle(n),
			"slug": fmt.Sprintf("sk%d", n), "node_id": sk.nodeID, "admin_email": "ops@example.com"})
	},
	pressluft.JobEnvCreate: func(sk *soak, st *soakState) (string, error) {
		site := st.pick(sk.rng, func(site map[string]any, envs []map[string]any) bool {
			return site["status"] == "active" && len(envs) < soakMaxEnvs && envs[0]["status"] == "active"
		})
		if site == nil {
			return "", nil
		}
		n := sk.nextName()
		return sk.startJob("POST", "/api/sites/"+str(site["id"])+"/environments", map[string]any{"name": fmt.Sprintf("Staging %d", n),
			"slug": fmt.Sprintf("s%d", n), "type": "staging", "source_environment_id": str(site["production_environment_id"])})
	},
	pressluft.JobEnvDelete: func(sk *soak, st *soakState) (string, error) {
		site := st.pick(sk.rng, func(_ map[string]any, envs []map[string]any) bool {
			return len(envs) > 1 && oneOf(envs[len(envs)-1]["status"], "active", "failed")
		})
		if site == nil {
			return "", nil
		}
		envs := soakEnvs(site)
		return sk.startJob("DELETE", "/api/environments/"+str(envs[len(envs)-1]["id"]), nil)
	},
	pressluft.JobSiteDelete: func(sk *soak, st *soakState) (string, error) {
		if len(st.sites) < 3 { // keep sites for the other kinds to work on
			return "", nil
		}
		site := st.pick(sk.rng, func(_ map[string]any, envs []map[string]any) bool {
			for _, e := range envs {
				if !oneOf(e["status"], "active", "failed") {
					return false
				}
			}
			return true
		})
		if site == nil {
			return "", nil
		}
		return sk.startJob("DELETE", "/api/sites/"+str(site["id"]), nil)
	},
	pressluft.JobSessionCleanup: func(sk *soak, st *soakState) (string, error) {
		return sk.periodicDue(st, pressluft.JobSessionCleanup)
	},
	pressluft.JobBackupCleanup: func(sk *soak, st *soakState) (string, error) {
		return sk.periodicDue(st, pressluft.JobBackupCleanup)
	},
	pressluft.JobBackupCreate: func(sk *soak, st *soakState) (string, error) {
		env := st.pickEnv(sk.rng, func(env map[string]any) bool { return env["status"] == "active" })
		if env == nil {
			return "", nil
		}
		// With the offsite target set every new backup goes offsite; without
		// it, backups stay on the node for backup_upload to copy.
		if st.offsite && len(st.backups(func(b map[string]any) bool { return b["status"] == "completed" && b["location"] == "node" })) == 0 {
			if code, m, err := sk.do("DELETE", "/api/settings/offsite", nil); err != nil || code != http.StatusNoContent {
				return "", fmt.Errorf("remove the offsite target: %d %v %v", code, m, err)
			}
		}
		scope := []string{"full", "db", "files"}[sk.rng.IntN(3)]
		return sk.startJob("POST", "/api/environments/"+str(env["id"])+"/backups", map[string]any{"scope": scope})
	},
	pressluft.JobBackupUpload: func(sk *soak, st *soakState) (string, error) {
		b := pickOne(sk.rng, st.backups(func(b map[string]any) bool {
			return b["status"] == "completed" && b["location"] == "node" && !st.busy[str(b["site_id"])]
		}))
		if b == nil {
			return "", nil
		}
		if !st.offsite {
			if code, m, err := sk.do("PUT", "/api/settings/offsite", sk.offsite); err != nil || code != http.StatusOK {
				return "", fmt.Errorf("set the offsite target: %d %v %v", code, m, err)
			}
		}
		return sk.startJob("POST", "/api/backups/"+str(b["id"])+"/upload", nil)
	},
	pressluft.JobBackupDelete: func(sk *soak, st *soakState) (string, error) {
		b := pickOne(sk.rng, st.backups(func(b map[string]any) bool {
			return oneOf(b["status"], "completed", "failed") && !st.busy[str(b["site_id"])]
		}))
		if b == nil {
			return "", nil
		}
		return sk.startJob("DELETE", "/api/backups/"+str(b["id"]), nil)
	},
	pressluft.JobEnvRestore: func(sk *soak, st *soakState) (string, error) {
		env := st.pickEnv(sk.rng, func(env map[string]any) bool {
			return env["status"] == "active" && len(st.backups(func(b map[string]any) bool {
				return b["status"] == "completed" && b["site_id"] == env["site_id"]
			})) > 0
		})
		if env == nil {
			return "", nil
		}
		b := pickOne(sk.rng, st.backups(func(b map[string]any) bool { return b["status"] == "completed" && b["site_id"] == env["site_id"] }))
		return sk.startJob("POST", "/api/environments/"+str(env["id"])+"/restore", map[string]any{"backup_id": str(b["id"])})
	},
	pressluft.JobEnvDeploy: func(sk *soak, st *soakState) (string, error) {
		env := st.pickEnv(sk.rng, func(env map[string]any) bool { return env["status"] == "active" })
		if env == nil {
			return "", nil
		}
		return sk.startJob("POST", "/api/environments/"+str(env["id"])+"/deploy", map[string]any{"source_type": "archive",
			"archive_url": sk.content + "/wp-content.tar.gz"})
	},
	pressluft.JobEnvUpdate: func(sk *soak, st *soakState) (string, error) {
		env := st.pickEnv(sk.rng, func(env map[string]any) bool { // where a deploy put the plugin
			return env["status"] == "active" && oneOf(st.current(env)["source"], pressluft.ReleaseArchive, pressluft.ReleaseUpdate)
		})
		if env == nil {
			return "", nil
		}
		return sk.startJob("POST", "/api/environments/"+str(env["id"])+"/updates", map[string]any{"scope": "plugins",
			"items": []string{soakPlugin}, "package_url": sk.content + "/" + soakPlugin + ".zip"})
	},
	pressluft.JobReleaseRollback: func(sk *soak, st *soakState) (string, error) {
		env := st.pickEnv(sk.rng, func(env map[string]any) bool {
			return env["status"] == "active" && len(st.releases[str(env["id"])]) > 1
		})
		if env == nil {
			return "", nil
		}
		var earlier []map[string]any
		for _, r := range st.releases[str(env["id"])] {
			if r["id"] != env["current_release_id"] {
				earlier = append(earlier, r)
			}
		}
		return sk.startJob("POST", "/api/environments/"+str(env["id"])+"/rollback", map[string]any{
			"release_id": str(pickOne(sk.rng, earlier)["id"]), "restore_database": false})
	},
	// No route enqueues it (it measures the engine's own cost): the store does.
	pressluft.JobNoop: func(sk *soak, st *soakState) (string, error) {
		var id string
		err := sk.withStore(func(db *sqlite.DB) error {
			j, err := sqlite.NewJobService(db).Enqueue(context.Background(), pressluft.NewJob{Type: pressluft.JobNoop})
			if err == nil {
				id = j.ID
			}
			return err
		})
		return id, err
	},
}

func soakTitle(n int) string { return fmt.Sprintf("Soak Site %d", n) }

// soakPlugin is the plugin that deploys carry (version 1) and updates
// install (version 2).
const soakPlugin = "pl-soak"

// serveContent serves what deploys and updates download, on the node's
// host-side address: the node's own WordPress wp-content (its themes, so
// that a deployed site still shows its title) with the soak's plugin, as
// wp-content.tar.gz, and the plugin's next version as pl-soak.zip.
func serveContent(t *testing.T, node *testnode.Node) string {
	t.Helper()
	plugin := func(version string) []byte {
		return []byte("<?php\n/*\nPlugin Name: Pressluft soak\nVersion: " + version + "\n*/\n")
	}
	// Packed on the node: its WordPress tree is links into its packages.
	const pack = `set -e
d=/root/pl-soak
rm -rf "$d" && mkdir -p "$d/wp-content"
cp -aL /usr/local/lib/pressluft/wordpress-src/wp-content/. "$d/wp-content/"
rm -rf "$d/wp-content/uploads" && mkdir -p "$d/wp-content/plugins/pl-soak"
cat > "$d/wp-content/plugins/pl-soak/pl-soak.php"
tar -czf /root/pl-soak.tar.gz -C "$d" wp-content && rm -rf "$d"`
	cmd, err := node.Command(ctxFor(t, 5*time.Minute), "sh", "-c", pack)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdin = bytes.NewReader(plugin("1.0"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("pack the node's wp-content: %v\n%s", err, out)
	}
	tgz, err := os.ReadFile(filepath.Join(node.Root, "root/pl-soak.tar.gz"))
	if err != nil {
		t.Fatal(err)
	}
	var zipped bytes.Buffer
	zw := zip.NewWriter(&zipped)
	w, err := zw.Create(soakPlugin + "/" + soakPlugin + ".php")
	if err == nil {
		_, err = w.Write(plugin("2.0"))
	}
	if err := errors.Join(err, zw.Close()); err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{"/wp-content.tar.gz": tgz, "/" + soakPlugin + ".zip": zipped.Bytes()}
	ln, err := net.Listen("tcp", net.JoinHostPort(node.HostIP, "0"))
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write(b)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String()
}

// TestCrashSoak SIGKILLs the control plane at random moments while jobs of
// every kind run against a disposable node, restarting it on the same data
// directory each time. Afterwards no job may be stuck, no row the API had
// reported done may be lost, and every node, site and environment must be
// active or come back with reset, and active sites must serve their title.
//
// PRESSLUFT_SOAK_KILLS sets the number of kills (default 3, as in make e2e;
// make soak runs 20). PRESSLUFT_SOAK_SEED replays a run's choices (which
// job, which site, when to kill); how far the jobs got at each kill depends
// on timing.
func TestCrashSoak(t *testing.T) {
	kills, err := strconv.Atoi(cmpOr(os.Getenv("PRESSLUFT_SOAK_KILLS"), "3"))
	if err != nil || kills < 1 {
		t.Fatalf("PRESSLUFT_SOAK_KILLS=%q: want a positive number", os.Getenv("PRESSLUFT_SOAK_KILLS"))
	}
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("PRESSLUFT_SOAK_SEED"); v != "" {
		if seed, err = strconv.ParseUint(v, 10, 64); err != nil {
			t.Fatalf("PRESSLUFT_SOAK_SEED=%q: want a number", v)
		}
	}
	t.Logf("crash soak: %d kills, seed %d (PRESSLUFT_SOAK_SEED=%d replays its choices)", kills, seed, seed)
	var missing []string
	for _, k := range pressluft.JobKinds() {
		if soakKinds[k.Type] == nil {
			missing = append(missing, k.Type)
		}
	}
	if len(missing) > 0 {
		t.Fatalf("job kind(s) %s have no entry in soakKinds (e2e/soak_test.go): add how the crash soak starts each", strings.Join(missing, ", "))
	}
	began := time.Now()

	s := newStack(t)
	node := s.up(t, "sk-soak")
	nodeID := s.addNode(t, "soak", node.IP, 22, "root")
	if job, took := s.provision(t, nodeID); job["status"] != "succeeded" {
		t.Fatalf("provisioning the soak's node:\n%s", describeJob(job))
	} else {
		t.Logf("node provisioned in %s", took.Round(time.Second))
	}
	// The offsite target: an S3 server in this process on the node's
	// host-side address, which the node reaches.
	bucket := s3mem.New()
	if err := bucket.CreateBucket("soak"); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(node.HostIP, "0"))
	if err != nil {
		t.Fatal(err)
	}
	s3srv := &http.Server{Handler: gofakes3.New(bucket).Server()}
	go s3srv.Serve(ln)
	t.Cleanup(func() { s3srv.Close() })
	content := serveContent(t, node)
	s.api.must("PUT", "/api/settings", map[string]any{"allow_private_sources": true}, 200) // the content server is on a private address
	sk := &soak{t: t, s: s, node: node, nodeID: nodeID, hc: s.api.hc, base: s.api.base, content: content,
		offsite: map[string]any{"endpoint": ln.Addr().String(), "use_tls": false, "bucket": "soak", "prefix": "soak",
			"access_key": "soak", "secret_key": "soak-secret-key"},
		doneBackups: map[string]string{}, reported: map[string]bool{},
		dbPath: filepath.Join(s.cp.dataDir, "pressluft.db"), rng: rand.New(rand.NewPCG(seed, 1)),
		started: map[string]int{}, doneJobs: map[string]soakJob{}, activeEnvs: map[string]string{}, activeSites: map[string]bool{}}

	stop, stopped := make(chan struct{}), make(chan struct{})
	sk.warming.Store(true)
	go sk.drive(stop, stopped)
	var once sync.Once
	halt := func() { once.Do(func() { close(stop); <-stopped }) }
	t.Cleanup(halt)

	// What every kind needs to act on, before the first kill: sites, a
	// staging copy, a backup, a deployed release (for updates and
	// rollbacks).
	warm := time.Now()
	waitFor(t, "sites, a copy, a backup and a deploy before the first kill", 10*time.Minute, func() bool {
		st, err := sk.state()
		return err == nil && st.warm()
	})
	t.Logf("warm-up: sites, a copy, a backup and a deploy after %s", time.Since(warm).Round(time.Second))
	sk.mu.Lock()
	clear(sk.started)
	sk.mu.Unlock()
	sk.warming.Store(false)

	// Each kill comes at a random moment once the driver has started its
	// share of jobs since the last start, so that even a short soak kills
	// amid every kind.
	kill := rand.New(rand.NewPCG(seed, 2))
	share := (len(pressluft.JobKinds()) + kills - 1) / kills
	hits := 0
	soakStart, started := time.Now(), time.Now()
	for i := 1; i <= kills; i++ {
		from := sk.starts()
		for wait := time.Now(); sk.starts()-from < share && time.Since(wait) < time.Minute; {
			time.Sleep(100 * time.Millisecond)
		}
		time.Sleep(500*time.Millisecond + time.Duration(kill.Int64N(int64(7500*time.Millisecond))))
		running := sk.record(started)
		pid := s.cp.cmd.Process.Pid
		// Processes the control plane started (SSH control masters) may hold
		// its output pipes; do not wait for them.
		s.cp.cmd.WaitDelay = 5 * time.Second
		s.cp.kill()
		if len(running) > 0 {
			hits++
		}
		t.Logf("kill %d/%d: SIGKILL pid %d with %d job(s) running %v", i, kills, pid, len(running), running)
		started = time.Now()
		s.cp.start()
	}
	halt()
	t.Logf("%d kills in %s; %d hit running jobs", kills, time.Since(soakStart).Round(time.Second), hits)
	sk.mu.Lock()
	var unstarted []string
	for _, k := range pressluft.JobKinds() {
		if sk.started[k.Type] == 0 {
			unstarted = append(unstarted, k.Type)
		}
	}
	sk.mu.Unlock()
	if len(unstarted) > 0 {
		t.Logf("kinds the driver did not start between the first and the last kill: %s", strings.Join(unstarted, " "))
	}
	a := s.cp.login(t)

	// Leases expire and rescued jobs wait for their retry (up to a minute
	// for a third attempt): everything must end within a bounded time.
	stuck := 0
	drain := time.Now()
	deadline := drain.Add(10 * time.Minute)
	for {
		open := sk.mustJobs("queued", "running")
		if len(open) == 0 {
			break
		}
		if time.Now().After(deadline) {
			for _, j := range open {
				t.Errorf("stuck job %v %v (attempt %v of %v, run_after %v): %v %v", j["id"], j["type"], j["attempt"], j["max_attempts"],
					j["run_after"], j["error_code"], j["error_message"])
			}
			stuck = len(open)
			break
		}
		time.Sleep(time.Second)
	}
	t.Logf("every job ended %s after the last restart", time.Since(drain).Round(time.Second))

	all := sk.mustJobs()
	byID := map[string]map[string]any{}
	for _, j := range all {
		byID[str(j["id"])] = j
	}
	lost := sk.lostRows(a, byID)
	manual, reset, deleted := sk.recover(a)
	manual += sk.checkServes(a)
	leftovers := sk.leftovers(a)

	// Every kind ran, and how each fared.
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
	var lines []string
	for _, k := range pressluft.JobKinds() {
		tl := tallies[k.Type]
		if tl == nil {
			t.Errorf("no %s job ran during the soak (its entry in soakKinds never found anything to act on)", k.Type)
			continue
		}
		line := fmt.Sprintf("%-16s %3d jobs: %3d succeeded, %3d failed, %3d cancelled, %3d interrupted and retried or failed",
			k.Type, tl.jobs, tl.succeeded, tl.failed, tl.cancelled, tl.rescued)
		if len(tl.codes) > 0 {
			line += fmt.Sprintf(" (failed: %v)", tl.codes)
		}
		lines = append(lines, line)
		// A kind that never succeeds is not soaked: its starter asks for
		// the wrong thing, or the kind does not work at all.
		if tl.succeeded == 0 {
			var why []string
			for _, j := range all {
				if j["type"] == k.Type && j["status"] == "failed" && len(why) < 3 {
					why = append(why, fmt.Sprintf("%v: %v", j["error_code"], j["error_message"]))
				}
			}
			t.Errorf("no %s job succeeded during the soak:\n  %s", k.Type, strings.Join(why, "\n  "))
		}
	}
	sk.mu.Lock()
	t.Logf("jobs by kind (requests refused as busy: %d, cut by a kill: %d):\n  %s", sk.refused, sk.cut, strings.Join(lines, "\n  "))
	sk.mu.Unlock()

	t.Logf("FIGURE crash soak: %d kills, %d stuck jobs, %d lost rows, %d resources needing manual repair, %d recovered by reset",
		kills, stuck, lost, manual, reset)
	t.Logf("crash soak detail: %d of %d kills hit running jobs; %d never-created environment(s) removed by delete; %d leftover(s) on the node; %d jobs; seed %d; %s in all",
		hits, kills, deleted, leftovers, len(all), seed, time.Since(began).Round(time.Second))
	if stuck+lost+manual > 0 {
		t.Errorf("crash soak: %d stuck jobs, %d lost rows, %d resources needing manual repair (seed %d)", stuck, lost, manual, seed)
	}
	if t.Failed() {
		t.Logf("control plane log since the last start (tail):\n%s", tail(s.cp.log.String(), 60))
	}
}

// soak drives the control plane with a mix of jobs and keeps what the API
// reported done before each kill.
type soak struct {
	t      *testing.T
	s      *stack
	node   *testnode.Node
	nodeID string
	hc     *http.Client
	base   string
	dbPath string
	rng    *rand.Rand // the driver's choices; used by the driver only
	// offsite is the offsite target the soak sets (an S3 server in this
	// process that the node reaches), content the base URL of what deploys
	// and updates download (a web server in this process).
	offsite map[string]any
	content string

	warming atomic.Bool // before the first kill: creations only

	mu       sync.Mutex
	names    int             // sites and environments created
	started  map[string]int  // per kind, by the driver
	refused  int             // requests refused (busy, not active)
	cut      int             // requests cut off by a kill
	reported map[string]bool // unexpected answers reported
	// Recorded before each kill: terminal jobs, and active environments
	// (with their site) and sites.
	doneJobs    map[string]soakJob
	activeEnvs  map[string]string
	activeSites map[string]bool
	doneBackups map[string]string // completed backup id → its environment
}

type soakJob struct{ typ, status, siteID, envID string }

func (sk *soak) nextName() int {
	sk.mu.Lock()
	defer sk.mu.Unlock()
	sk.names++
	return sk.names
}

// do sends a request and reports a transport error (the control plane
// being killed or down) instead of failing the test.
func (sk *soak) do(method, path string, body any) (int, map[string]any, error) {
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, sk.base+path, r)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := sk.hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return 0, nil, err
	}
	var m map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &m); err != nil {
			return res.StatusCode, nil, fmt.Errorf("%s %s: not JSON: %.200s", method, path, raw)
		}
	}
	return res.StatusCode, m, nil
}

var (
	errRefused = errors.New("refused")
	uuidRE     = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
)

// startJob asks for a job. Refusals a busy resource gets are expected; any
// other error answer fails the soak.
func (sk *soak) startJob(method, path string, body any) (string, error) {
	code, m, err := sk.do(method, path, body)
	switch {
	case err != nil:
		sk.mu.Lock()
		sk.cut++
		sk.mu.Unlock()
		return "", err
	case code == http.StatusAccepted:
		return str(m["job_id"]), nil
	case code == http.StatusConflict || code == http.StatusNotFound:
		sk.mu.Lock()
		sk.refused++
		sk.mu.Unlock()
		return "", fmt.Errorf("%w: %s %s: %d %v", errRefused, method, path, code, m["code"])
	}
	sk.unexpected(method+" "+path, code, m)
	return "", fmt.Errorf("%s %s: %d", method, path, code)
}

// unexpected fails the soak for an answer no kill explains (once per what).
func (sk *soak) unexpected(what string, code int, m map[string]any) {
	what = uuidRE.ReplaceAllString(what, "{id}")
	sk.mu.Lock()
	defer sk.mu.Unlock()
	if sk.reported[what] {
		return
	}
	sk.reported[what] = true
	sk.t.Errorf("%s: unexpected answer %d %v", what, code, m)
}

// withStore opens the control plane's database beside it, for what no
// route does.
func (sk *soak) withStore(f func(*sqlite.DB) error) error {
	db := sqlite.NewDB(sk.dbPath)
	if err := db.Open(); err != nil {
		return err
	}
	defer db.Close()
	return f(db)
}

// periodicDue makes a periodic job's schedule due in the store; the
// control plane enqueues the run within its scheduler interval, or at its
// next start.
func (sk *soak) periodicDue(st *soakState, name string) (string, error) {
	if st.inFlight[name] > 0 {
		return "", nil
	}
	return "schedule made due", sk.withStore(func(db *sqlite.DB) error {
		tx, err := db.BeginTx(context.Background())
		if err != nil {
			return err
		}
		defer tx.Rollback()
		// The store's time format; a value it cannot parse counts as due too.
		now := time.Now().UTC().Format("2006-01-02T15:04:05.000000000Z")
		if _, err := tx.Exec(`UPDATE periodic_jobs SET next_run_at = ? WHERE name = ?`, now, name); err != nil {
			return err
		}
		return tx.Commit()
	})
}

// soakState is what the driver sees before it acts.
type soakState struct {
	node       map[string]any
	sites      []map[string]any // each with its environments, production first
	busy       map[string]bool  // sites with a queued or running job
	inFlight   map[string]int   // queued or running jobs by type
	total      int
	envBackups map[string][]map[string]any // by environment
	releases   map[string][]map[string]any // by environment
	offsite    bool                        // an offsite target is set
}

// backups returns the backups of the soak's environments for which ok holds.
func (st *soakState) backups(ok func(b map[string]any) bool) []map[string]any {
	var out []map[string]any
	for _, site := range st.sites {
		for _, env := range soakEnvs(site) {
			for _, b := range st.envBackups[str(env["id"])] {
				if ok(b) {
					out = append(out, b)
				}
			}
		}
	}
	return out
}

// pickEnv returns a random environment of a site with no unfinished job
// for which ok holds.
func (st *soakState) pickEnv(rng *rand.Rand, ok func(env map[string]any) bool) map[string]any {
	var fit []map[string]any
	for _, site := range st.sites {
		if st.busy[str(site["id"])] {
			continue
		}
		for _, env := range soakEnvs(site) {
			if ok(env) {
				fit = append(fit, env)
			}
		}
	}
	return pickOne(rng, fit)
}

// current returns the environment's current release (nil when unknown).
func (st *soakState) current(env map[string]any) map[string]any {
	for _, r := range st.releases[str(env["id"])] {
		if r["current"] == true {
			return r
		}
	}
	return nil
}

func pickOne(rng *rand.Rand, from []map[string]any) map[string]any {
	if len(from) == 0 {
		return nil
	}
	return from[rng.IntN(len(from))]
}

func (sk *soak) state() (*soakState, error) {
	st := &soakState{busy: map[string]bool{}, inFlight: map[string]int{}}
	code, n, err := sk.do("GET", "/api/nodes/"+sk.nodeID, nil)
	if err != nil || code != 200 {
		return nil, fmt.Errorf("node: %d %v", code, err)
	}
	st.node = n
	for _, status := range []string{"queued", "running"} {
		jobs, err := sk.jobs(status)
		if err != nil {
			return nil, err
		}
		for _, j := range jobs {
			st.inFlight[str(j["type"])]++
			st.total++
			if id := str(j["site_id"]); id != "" {
				st.busy[id] = true
			}
		}
	}
	code, list, err := sk.do("GET", "/api/sites", nil)
	if err != nil || code != 200 {
		return nil, fmt.Errorf("sites: %d %v", code, err)
	}
	for _, it := range list["items"].([]any) {
		code, site, err := sk.do("GET", "/api/sites/"+str(it.(map[string]any)["id"]), nil)
		if code == 404 {
			continue
		} else if err != nil || code != 200 {
			return nil, fmt.Errorf("site: %d %v", code, err)
		}
		st.sites = append(st.sites, site)
	}
	st.envBackups, st.releases = map[string][]map[string]any{}, map[string][]map[string]any{}
	for _, site := range st.sites {
		for _, env := range soakEnvs(site) {
			code, page, err := sk.do("GET", "/api/environments/"+str(env["id"])+"/releases", nil)
			if err != nil {
				return nil, err
			} else if code == 200 {
				for _, r := range page["items"].([]any) {
					st.releases[str(env["id"])] = append(st.releases[str(env["id"])], r.(map[string]any))
				}
			} else if code != 404 {
				sk.unexpected("GET /api/environments/{id}/releases", code, page)
			}
			code, page, err = sk.do("GET", "/api/environments/"+str(env["id"])+"/backups", nil)
			if err != nil {
				return nil, err
			} else if code != 200 {
				if code != 404 {
					sk.unexpected("GET /api/environments/{id}/backups", code, page)
				}
				continue
			}
			for _, b := range page["items"].([]any) {
				st.envBackups[str(env["id"])] = append(st.envBackups[str(env["id"])], b.(map[string]any))
			}
		}
	}
	code, m, err := sk.do("GET", "/api/settings/offsite", nil)
	if err != nil {
		return nil, err
	} else if code != 200 && code != 404 {
		sk.unexpected("GET /api/settings/offsite", code, m)
	}
	st.offsite = code == 200
	return st, nil
}

// warm reports whether every kind has something to act on.
func (st *soakState) warm() bool {
	deployed := false
	for _, rels := range st.releases {
		for _, r := range rels {
			deployed = deployed || r["source"] == pressluft.ReleaseArchive && r["current"] == true
		}
	}
	return st.activeSites() >= 3 && st.activeCopies() >= 1 && deployed &&
		len(st.backups(func(b map[string]any) bool { return b["status"] == "completed" })) > 0
}

// starts is how many jobs the driver started (or made due).
func (sk *soak) starts() int {
	sk.mu.Lock()
	defer sk.mu.Unlock()
	n := 0
	for _, c := range sk.started {
		n += c
	}
	return n
}

func (st *soakState) activeCopies() int {
	n := 0
	for _, site := range st.sites {
		for _, env := range soakEnvs(site)[1:] {
			if env["status"] == "active" {
				n++
			}
		}
	}
	return n
}

func (st *soakState) activeSites() int {
	n := 0
	for _, site := range st.sites {
		if site["status"] == "active" {
			n++
		}
	}
	return n
}

// pick returns a random site with no unfinished job for which ok holds.
func (st *soakState) pick(rng *rand.Rand, ok func(site map[string]any, envs []map[string]any) bool) map[string]any {
	var fit []map[string]any
	for _, site := range st.sites {
		if envs := soakEnvs(site); !st.busy[str(site["id"])] && len(envs) > 0 && ok(site, envs) {
			fit = append(fit, site)
		}
	}
	if len(fit) == 0 {
		return nil
	}
	return fit[rng.IntN(len(fit))]
}

func soakEnvs(site map[string]any) []map[string]any {
	var envs []map[string]any
	list, _ := site["environments"].([]any)
	for _, e := range list {
		envs = append(envs, e.(map[string]any))
	}
	return envs
}

// jobs lists jobs (of one status, or all), every page.
func (sk *soak) jobs(status string) ([]map[string]any, error) {
	var out []map[string]any
	cursor := ""
	for {
		code, page, err := sk.do("GET", "/api/jobs?limit=500&status="+status+"&cursor="+cursor, nil)
		if err != nil || code != 200 {
			return nil, fmt.Errorf("jobs: %d %v", code, err)
		}
		for _, it := range page["items"].([]any) {
			out = append(out, it.(map[string]any))
		}
		if cursor = str(page["next_cursor"]); cursor == "" {
			return out, nil
		}
	}
}

// mustJobs lists jobs of the given statuses (all without any) while the
// control plane is up.
func (sk *soak) mustJobs(statuses ...string) []map[string]any {
	sk.t.Helper()
	if len(statuses) == 0 {
		statuses = []string{""}
	}
	var out []map[string]any
	for _, s := range statuses {
		jobs, err := sk.jobs(s)
		if err != nil {
			sk.t.Fatal(err)
		}
		out = append(out, jobs...)
	}
	return out
}

// drive keeps a mix of jobs in flight until stop: each round it starts a
// job of the kind started least so far that has something to act on.
func (sk *soak) drive(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	kinds := pressluft.JobKinds()
	for {
		select {
		case <-stop:
			return
		case <-time.After(time.Duration(300+sk.rng.IntN(700)) * time.Millisecond):
		}
		st, err := sk.state()
		if err != nil || st.total >= soakMaxInFlight {
			continue // down between a kill and its restart, or busy enough
		}
		order := make([]string, len(kinds))
		for i, k := range kinds {
			order[i] = k.Type
		}
		sk.rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		sk.mu.Lock()
		sort.SliceStable(order, func(i, j int) bool { return sk.started[order[i]] < sk.started[order[j]] })
		sk.mu.Unlock()
		for _, k := range order {
			if sk.warming.Load() && !slices.Contains([]string{pressluft.JobSiteCreate, pressluft.JobEnvCreate,
				pressluft.JobBackupCreate, pressluft.JobEnvDeploy}, k) {
				continue // what the other kinds act on, first
			}
			what, err := soakKinds[k](sk, st)
			if err != nil && !errors.Is(err, errRefused) {
				sk.t.Logf("start %s: %v", k, err)
			}
			if what != "" {
				sk.mu.Lock()
				sk.started[k]++
				sk.mu.Unlock()
				break
			}
		}
	}
}

// record keeps what the API reports done right before a kill: terminal
// jobs, active environments and sites. It returns the jobs this process
// runs (claimed since it started; a job still running from before a kill
// waits for its lease to expire).
func (sk *soak) record(since time.Time) []string {
	sk.t.Helper()
	jobs := sk.mustJobs()
	code, list, err := sk.do("GET", "/api/sites", nil)
	if err != nil || code != 200 {
		sk.t.Fatalf("sites: %d %v", code, err)
	}
	type envRow struct{ id, siteID string }
	var sites []string
	var envs, backups []envRow
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
				envs = append(envs, envRow{str(env["id"]), str(site["id"])})
			}
			code, list, err := sk.do("GET", "/api/environments/"+str(env["id"])+"/backups", nil)
			if err != nil || code != 200 {
				continue
			}
			for _, b := range list["items"].([]any) {
				if b := b.(map[string]any); b["status"] == "completed" {
					backups = append(backups, envRow{str(b["id"]), str(env["id"])})
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
		sk.activeEnvs[e.id] = e.siteID
	}
	for _, b := range backups {
		sk.doneBackups[b.id] = b.siteID
	}
	slices.Sort(running)
	return running
}

// lostRows compares what was recorded before the kills with the end state:
// a terminal job must keep its status, an active environment or site must
// still exist unless a delete job removed it, a succeeded create must have
// left its environment with a release, and a succeeded delete its rows gone.
func (sk *soak) lostRows(a *api, jobs map[string]map[string]any) int {
	t := sk.t
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
// refuses it) by deleting it. It returns what needed manual repair, what
// reset recovered, and what was removed by delete.
func (sk *soak) recover(a *api) (manual, reset, deleted int) {
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
	for _, it := range a.must("GET", "/api/sites", nil, 200)["items"].([]any) {
		siteID := str(it.(map[string]any)["id"])
		site := a.must("GET", "/api/sites/"+siteID, nil, 200)
		envs := soakEnvs(site)
		// Copies first: a site whose production was never created goes as a whole.
		for i := len(envs) - 1; i >= 0; i-- {
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
			code, m, _ := a.call("POST", "/api/environments/"+str(env["id"])+"/reset", nil)
			switch {
			case code == 200 && m["status"] == "active":
				reset++
				t.Logf("environment %v was failed (%v); reset made it active", env["system_name"], env["last_error"])
			case code == 409 && m["code"] == pressluft.EResetValidation && env["current_release_id"] == "":
				path := "/api/environments/" + str(env["id"])
				if env["type"] == "production" {
					path = "/api/sites/" + siteID
				}
				job := a.waitJob(a.must("DELETE", path, nil, 202)["job_id"].(string), 10*time.Minute)
				if job["status"] != "succeeded" {
					manual++
					t.Errorf("environment %v was never created completely, and deleting it failed:\n%s", env["system_name"], describeJob(job))
					continue
				}
				deleted++
				t.Logf("environment %v was never created completely (%v); reset refused, delete removed it", env["system_name"], env["last_error"])
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

// checkServes requests every active environment's preview URL over the
// node and wants its site's title. It returns how many do not serve.
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
			} else {
				served++
			}
		}
	}
	sk.t.Logf("%d active environment(s) serve their site's title over the node", served)
	return bad
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
