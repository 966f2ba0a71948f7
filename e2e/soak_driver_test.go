//go:build e2e

package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pressluft/pressluft"
	"github.com/pressluft/pressluft/e2e/testnode"
	"github.com/pressluft/pressluft/sqlite"
)

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

	warming atomic.Bool  // before the first kill: creations only
	paused  atomic.Bool  // starts nothing (while the soak prepares a promotion)
	logs    bytes.Buffer // the control plane's log of each start before the last

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
			// Answered, but not as the API answers: never what a kill does.
			return res.StatusCode, map[string]any{"not JSON": fmt.Sprintf("%.200s", raw)}, nil
		}
	}
	return res.StatusCode, m, nil
}

var (
	errRefused = errors.New("refused")
	errCut     = errors.New("cut off by a kill")
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
		return "", fmt.Errorf("%w: %v", errCut, err)
	case code == http.StatusAccepted && m["job_id"] != nil:
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

// soakState is what the driver sees before it acts.
type soakState struct {
	node       map[string]any
	sites      []map[string]any            // each with its environments, production first
	busy       map[string]bool             // sites with a queued or running job
	inFlight   map[string]int              // queued or running jobs by type
	total      int                         // runnable now (retries waiting for their time are not)
	envBackups map[string][]map[string]any // by environment
	releases   map[string][]map[string]any // by environment
	offsite    bool                        // an offsite target is set
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
			if at, err := time.Parse(time.RFC3339Nano, str(j["run_after"])); err != nil || time.Until(at) < time.Second {
				st.total++ // work now, not a retry waiting for its time
			}
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

func pickOne(rng *rand.Rand, from []map[string]any) map[string]any {
	if len(from) == 0 {
		return nil
	}
	return from[rng.IntN(len(from))]
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

// weighed is how often the driver started kind, counting thrice a kind
// that holds the node alone (nothing else runs on the node meanwhile). The
// caller holds mu.
func (sk *soak) weighed(kind string) int {
	if k, _ := pressluft.KindOf(kind); k.Lock == pressluft.LockNode {
		return 3 * sk.started[kind]
	}
	return sk.started[kind]
}

// soakWarmUp are the kinds that make what the others act on.
var soakWarmUp = []string{pressluft.JobEnvDeploy, pressluft.JobBackupCreate, pressluft.JobSiteCreate, pressluft.JobEnvCreate}

// drive keeps a mix of jobs in flight until stop: each round it starts a
// job of the kind started least so far (weighed) that has something to act
// on.
func (sk *soak) drive(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	kinds := pressluft.JobKinds()
	for {
		select {
		case <-stop:
			return
		case <-time.After(time.Duration(300+sk.rng.IntN(700)) * time.Millisecond):
		}
		if sk.paused.Load() {
			continue
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
		sort.SliceStable(order, func(i, j int) bool { return sk.weighed(order[i]) < sk.weighed(order[j]) })
		sk.mu.Unlock()
		for _, k := range order {
			if sk.warming.Load() && !slices.Contains(soakWarmUp, k) {
				continue // what the other kinds act on, first
			}
			what, err := soakKinds[k](sk, st)
			if err != nil && !errors.Is(err, errRefused) && !errors.Is(err, errCut) {
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

// running counts the jobs this process runs (claimed since it started).
func (sk *soak) running(since time.Time) int {
	jobs, err := sk.jobs("running")
	if err != nil {
		return 0
	}
	n := 0
	for _, j := range jobs {
		if at, err := time.Parse(time.RFC3339Nano, str(j["started_at"])); err == nil && at.After(since) {
			n++
		}
	}
	return n
}
