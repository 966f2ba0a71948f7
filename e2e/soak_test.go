//go:build e2e

package e2e

import (
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/pressluft/pressluft"
)

// The soak keeps this much work on one node: enough that kills land in
// every kind of job, little enough for a small machine.
const (
	soakMaxSites    = 4 // live sites
	soakMaxEnvs     = 2 // environments per site
	soakMaxInFlight = 6 // jobs queued or running, retries waiting for their time aside
)

// TestCrashSoak SIGKILLs the control plane at random moments while jobs of
// every kind run against a disposable node, restarting it on the same data
// directory each time. Afterwards no job may be stuck, no row the API had
// reported done may be lost, every node, site, environment and backup must
// be active (completed) or come back the product's way (reset), and active
// environments must serve their site's title from the release on record.
//
// PRESSLUFT_SOAK_KILLS sets the number of kills (default 3, as in make e2e;
// make soak runs 20). PRESSLUFT_SOAK_SEED replays a run's choices (which
// job, which site, when to kill); how far the jobs got at each kill depends
// on timing. See docs/testing.md.
func TestCrashSoak(t *testing.T) {
	kills, seed := soakSettings(t)
	t.Logf("crash soak: %d kills, seed %d (PRESSLUFT_SOAK_SEED=%d replays its choices)", kills, seed, seed)
	var missing []string
	for _, k := range pressluft.JobKinds() {
		if soakKinds[k.Type] == nil {
			missing = append(missing, k.Type)
		}
	}
	if len(missing) > 0 {
		t.Fatalf("job kind(s) %s have no entry in soakKinds (e2e/soak_kinds_test.go): add how the crash soak starts each", strings.Join(missing, ", "))
	}
	began := time.Now()
	sk := newSoak(t, seed)
	halt := sk.startDriver()

	// What every kind needs to act on, before the first kill: sites, a
	// staging copy, a backup, a deployed release (for updates and rollbacks).
	warm := time.Now()
	waitFor(t, "sites, a copy, a backup and a deploy before the first kill", 10*time.Minute, func() bool {
		st, err := sk.state()
		return err == nil && st.warm()
	})
	t.Logf("warm-up: sites, a copy, a backup and a deploy after %s", time.Since(warm).Round(time.Second))
	// A promotion needs a clean drift check of the last 15 minutes: one of a
	// fresh copy, made while nothing else runs, so that the driver starts
	// promotions amid the kills too.
	sk.paused.Store(true)
	waitFor(t, "the warm-up's jobs to end", 5*time.Minute, func() bool {
		st, err := sk.state()
		return err == nil && st.total == 0
	})
	soakPrepare[pressluft.JobEnvPromote](sk, sk.s.cp.login(t))
	sk.paused.Store(false)
	sk.mu.Lock()
	clear(sk.started)
	sk.mu.Unlock()
	sk.warming.Store(false)

	hits := sk.killRepeatedly(kills, rand.New(rand.NewPCG(seed, 2)))
	halt()
	a := sk.s.cp.login(t)
	stuck := sk.drain(10 * time.Minute)

	all := sk.mustJobs()
	lost := sk.lostRows(a, all)
	manual, reset, deleted := sk.recover(a, all)
	manual += sk.checkServes(a)
	leftovers := sk.leftovers(a)
	sk.explainFailures(a, all)
	// A kind with no success during the soak (the kills took every one,
	// or the kind or its starter is broken) must succeed once now.
	for _, k := range sk.tally(all) {
		sk.runOnce(a, k)
	}

	t.Logf("FIGURE crash soak: %d kills, %d stuck jobs, %d lost rows, %d resources needing manual repair, %d recovered by reset",
		kills, stuck, lost, manual, reset)
	t.Logf("crash soak detail: %d of %d kills hit running jobs; %d environment(s) never created completely or cut short while being deleted, removed by deleting; %d leftover(s) on the node; %d jobs; seed %d; %s in all",
		hits, kills, deleted, leftovers, len(all), seed, time.Since(began).Round(time.Second))
	if stuck+lost+manual > 0 {
		t.Errorf("crash soak: %d stuck jobs, %d lost rows, %d resources needing manual repair (seed %d)", stuck, lost, manual, seed)
	}
	if t.Failed() {
		// Every process's log, for what the failures above name.
		sk.logs.WriteString(sk.s.cp.log.String())
		path := filepath.Join(os.TempDir(), fmt.Sprintf("pressluft-soak-%d.log", seed))
		if err := os.WriteFile(path, []byte(sk.logs.String()), 0o600); err != nil {
			t.Log(err)
		}
		t.Logf("control plane log since the last start (tail):\n%s\nthe logs of every start: %s", tail(sk.s.cp.log.String(), 60), path)
	}
}

// soakSettings reads the number of kills and the seed from the environment.
func soakSettings(t *testing.T) (kills int, seed uint64) {
	kills, err := strconv.Atoi(cmpOr(os.Getenv("PRESSLUFT_SOAK_KILLS"), "3"))
	if err != nil || kills < 1 {
		t.Fatalf("PRESSLUFT_SOAK_KILLS=%q: want a positive number", os.Getenv("PRESSLUFT_SOAK_KILLS"))
	}
	seed = uint64(time.Now().UnixNano())
	if v := os.Getenv("PRESSLUFT_SOAK_SEED"); v != "" {
		if seed, err = strconv.ParseUint(v, 10, 64); err != nil {
			t.Fatalf("PRESSLUFT_SOAK_SEED=%q: want a number", v)
		}
	}
	return kills, seed
}

// newSoak starts a control plane with a provisioned node, an offsite
// target and a server of deploy content.
func newSoak(t *testing.T, seed uint64) *soak {
	s := newStack(t)
	// Named per process: a soak alone (make soak) may run beside make e2e.
	node := s.up(t, fmt.Sprintf("sk-soak-%d", os.Getpid()%100000))
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
	return &soak{t: t, s: s, node: node, nodeID: nodeID, hc: s.api.hc, base: s.api.base,
		dbPath: filepath.Join(s.cp.dataDir, "pressluft.db"), rng: rand.New(rand.NewPCG(seed, 1)), content: content,
		offsite: map[string]any{"endpoint": ln.Addr().String(), "use_tls": false, "bucket": "soak", "prefix": "soak",
			"access_key": "soak", "secret_key": "soak-secret-key"},
		started: map[string]int{}, reported: map[string]bool{}, doneJobs: map[string]soakJob{},
		activeEnvs: map[string]string{}, activeSites: map[string]bool{}, doneBackups: map[string]string{}}
}

// startDriver runs the driver, in warm-up first (creations only), and
// returns what stops it.
func (sk *soak) startDriver() (halt func()) {
	stop, stopped := make(chan struct{}), make(chan struct{})
	sk.warming.Store(true)
	go sk.drive(stop, stopped)
	var once sync.Once
	halt = func() { once.Do(func() { close(stop); <-stopped }) }
	sk.t.Cleanup(halt)
	return halt
}

// killRepeatedly SIGKILLs the control plane kills times and restarts it on
// the same data directory, recording what is done before each kill. Each
// kill comes at a random moment once the driver has started its share of
// jobs since the last start (so that even a short soak kills amid every
// kind), and as soon as a job runs. It returns how many kills hit running jobs.
func (sk *soak) killRepeatedly(kills int, rng *rand.Rand) (hits int) {
	t, cp := sk.t, sk.s.cp
	share := (len(pressluft.JobKinds()) + kills - 1) / kills
	begin, started := time.Now(), time.Now()
	for i := 1; i <= kills; i++ {
		from := sk.starts()
		for wait := time.Now(); sk.starts()-from < share && time.Since(wait) < time.Minute; {
			time.Sleep(100 * time.Millisecond)
		}
		time.Sleep(500*time.Millisecond + time.Duration(rng.Int64N(int64(7500*time.Millisecond))))
		// A kill with nothing running tests little: wait a little for work.
		for wait := time.Now(); sk.running(started) == 0 && time.Since(wait) < 10*time.Second; {
			time.Sleep(200 * time.Millisecond)
		}
		running := sk.record(started)
		pid := cp.cmd.Process.Pid
		// Processes the control plane started (SSH control masters) may hold
		// its output pipes; do not wait for them.
		cp.cmd.WaitDelay = 5 * time.Second
		cp.kill()
		if len(running) > 0 {
			hits++
		}
		t.Logf("kill %d/%d: SIGKILL pid %d with %d job(s) running %v", i, kills, pid, len(running), running)
		sk.logs.WriteString(cp.log.String())
		started = time.Now()
		cp.start()
	}
	t.Logf("%d kills in %s; %d hit running jobs", kills, time.Since(begin).Round(time.Second), hits)
	sk.mu.Lock()
	defer sk.mu.Unlock()
	var unstarted []string
	for _, k := range pressluft.JobKinds() {
		if sk.started[k.Type] == 0 {
			unstarted = append(unstarted, k.Type)
		}
	}
	if len(unstarted) > 0 {
		t.Logf("kinds the driver did not start between the first and the last kill: %s", strings.Join(unstarted, " "))
	}
	return hits
}

// drain waits until no job is queued or running: leases expire and rescued
// jobs wait for their retry (up to a minute before a third attempt). It
// returns the jobs still open after limit.
func (sk *soak) drain(limit time.Duration) (stuck int) {
	t := sk.t
	begin := time.Now()
	for {
		open := sk.mustJobs("queued", "running")
		if len(open) == 0 {
			t.Logf("every job ended %s after the last restart", time.Since(begin).Round(time.Second))
			return 0
		}
		if time.Since(begin) > limit {
			for _, j := range open {
				t.Errorf("stuck job %v %v (attempt %v of %v, run_after %v): %v %v", j["id"], j["type"], j["attempt"], j["max_attempts"],
					j["run_after"], j["error_code"], j["error_message"])
			}
			return len(open)
		}
		time.Sleep(time.Second)
	}
}
