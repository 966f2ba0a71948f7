package sqlite_test

import (
	"context"
	"testing"
	"time"

	"github.com/pressluft/pressluft"
	"github.com/pressluft/pressluft/sqlite"
)

const lease = 30 * time.Second

func mustEnqueue(tb testing.TB, js *sqlite.JobService, nj pressluft.NewJob) *pressluft.Job {
	tb.Helper()
	if nj.Type == "" {
		nj.Type = pressluft.JobNoop
	}
	j, err := js.Enqueue(context.Background(), nj)
	if err != nil {
		tb.Fatal(err)
	}
	return j
}

func mustClaim(tb testing.TB, js *sqlite.JobService, worker string) *pressluft.Job {
	tb.Helper()
	j, err := js.Claim(context.Background(), worker, lease)
	if err != nil {
		tb.Fatal(err)
	}
	return j
}

func TestQueue_ClaimCompleteLifecycle(t *testing.T) {
	t.Parallel()
	db, _ := mustOpenDB(t)
	js := sqlite.NewJobService(db)
	ctx := context.Background()
	j := mustEnqueue(t, js, pressluft.NewJob{})
	got := mustClaim(t, js, "w1")
	if got == nil || got.ID != j.ID || got.Status != pressluft.JobRunning || got.Attempt != 1 {
		t.Fatalf("claimed %+v", got)
	}
	if again := mustClaim(t, js, "w2"); again != nil {
		t.Fatalf("claimed a running job twice: %+v", again)
	}
	if err := js.Complete(ctx, j.ID, "w1", &pressluft.JobDone{Result: map[string]int{"n": 1}}); err != nil {
		t.Fatal(err)
	}
	done, err := js.FindJobByID(ctx, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if done.Status != pressluft.JobSucceeded || string(done.Result) != `{"n":1}` || done.FinishedAt == nil {
		t.Fatalf("after complete: %+v", done)
	}
	steps := []string{}
	for _, e := range done.Events {
		steps = append(steps, e.Step)
	}
	if want := []string{"queued", "started", "succeeded"}; len(steps) != 3 || steps[0] != want[0] || steps[2] != want[2] {
		t.Fatalf("events = %v, want %v", steps, want)
	}
	// A finished job cannot be completed again by a stale worker.
	if err := js.Complete(ctx, j.ID, "w1", nil); err == nil {
		t.Fatal("completed a finished job")
	}
}

func TestQueue_LockScopes(t *testing.T) {
	t.Parallel()
	db, _ := mustOpenDB(t)
	js := sqlite.NewJobService(db)
	ctx := context.Background()
	site := func(s, n string) pressluft.NewJob {
		return pressluft.NewJob{Type: pressluft.JobEnvCreate, SiteID: s, NodeID: n}
	}
	a := mustEnqueue(t, js, site("site-1", "node-1"))
	b := mustEnqueue(t, js, site("site-1", "node-1")) // same site: waits for a
	c := mustEnqueue(t, js, site("site-2", "node-1")) // other site, same node: runs beside a
	prov := mustEnqueue(t, js, pressluft.NewJob{Type: pressluft.JobNodeProvision, NodeID: "node-1"})
	late := mustEnqueue(t, js, site("site-3", "node-1"))                             // queued after the provision: waits for it
	other := mustEnqueue(t, js, site("site-4", "node-2"))                            // another node: free
	maint := mustEnqueue(t, js, pressluft.NewJob{Type: pressluft.JobSessionCleanup}) // holds nothing

	var got []string
	for j := mustClaim(t, js, "w"); j != nil; j = mustClaim(t, js, "w") {
		got = append(got, j.ID)
	}
	if want := []string{a.ID, c.ID, other.ID, maint.ID}; !equal(got, want) {
		t.Fatalf("claimed %v, want a, c, other, maint %v", got, want)
	}
	for _, id := range []string{a.ID, c.ID} {
		if err := js.Complete(ctx, id, "w", nil); err != nil {
			t.Fatal(err)
		}
	}
	// b was queued before the provision and goes first; the provision waits
	// for it, and late waits behind the provision.
	if j := mustClaim(t, js, "w"); j == nil || j.ID != b.ID {
		t.Fatalf("claim = %+v, want b", j)
	}
	if j := mustClaim(t, js, "w"); j != nil {
		t.Fatalf("claimed %s (%s) while site work runs on its node or a provision waits", j.Type, j.ID)
	}
	if err := js.Complete(ctx, b.ID, "w", nil); err != nil {
		t.Fatal(err)
	}
	if j := mustClaim(t, js, "w"); j == nil || j.ID != prov.ID {
		t.Fatalf("claim = %+v, want the provision", j)
	}
	if j := mustClaim(t, js, "w"); j != nil {
		t.Fatalf("claimed %s while its node is being provisioned", j.Type)
	}
	if err := js.Complete(ctx, prov.ID, "w", nil); err != nil {
		t.Fatal(err)
	}
	if j := mustClaim(t, js, "w"); j == nil || j.ID != late.ID {
		t.Fatalf("claim = %+v, want late", j)
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestQueue_UniqueKey(t *testing.T) {
	t.Parallel()
	db, _ := mustOpenDB(t)
	js := sqlite.NewJobService(db)
	ctx := context.Background()
	first := mustEnqueue(t, js, pressluft.NewJob{Type: pressluft.JobNodeProvision, NodeID: "n", UniqueKey: "k"})
	again := mustEnqueue(t, js, pressluft.NewJob{Type: pressluft.JobNodeProvision, NodeID: "n", UniqueKey: "k"})
	if again.ID != first.ID || !again.Duplicate || first.Duplicate {
		t.Fatalf("second enqueue = %s (duplicate %v), want %s", again.ID, again.Duplicate, first.ID)
	}
	mustClaim(t, js, "w")
	if running := mustEnqueue(t, js, pressluft.NewJob{Type: pressluft.JobNodeProvision, NodeID: "n", UniqueKey: "k"}); running.ID != first.ID {
		t.Fatal("a running job's key was taken again")
	}
	if err := js.Complete(ctx, first.ID, "w", nil); err != nil {
		t.Fatal(err)
	}
	if next := mustEnqueue(t, js, pressluft.NewJob{Type: pressluft.JobNodeProvision, NodeID: "n", UniqueKey: "k"}); next.ID == first.ID || next.Duplicate {
		t.Fatal("a finished job's key still blocks")
	}
}

func TestQueue_TransientFailureRetriesWithBackoff(t *testing.T) {
	t.Parallel()
	db, clk := mustOpenDB(t)
	js := sqlite.NewJobService(db)
	ctx := context.Background()
	j := mustEnqueue(t, js, pressluft.NewJob{MaxAttempts: 2})
	mustClaim(t, js, "w")
	status, err := js.Fail(ctx, j.ID, "w", pressluft.Errorf(pressluft.ENodeUnreachable, "gone"), true)
	if err != nil || status != pressluft.JobQueued {
		t.Fatalf("Fail = %q, %v; want queued", status, err)
	}
	if got := mustClaim(t, js, "w"); got != nil {
		t.Fatal("a retry ran before its backoff")
	}
	clk.Add(pressluft.RetryDelay(1))
	got := mustClaim(t, js, "w")
	if got == nil || got.Attempt != 2 {
		t.Fatalf("retry claim = %+v", got)
	}
	if status, err = js.Fail(ctx, j.ID, "w", pressluft.Errorf(pressluft.ENodeUnreachable, "gone"), true); err != nil || status != pressluft.JobFailed {
		t.Fatalf("last attempt: Fail = %q, %v; want failed", status, err)
	}
	final, _ := js.FindJobByID(ctx, j.ID)
	if final.ErrorCode != pressluft.ENodeUnreachable || final.ErrorMessage != "gone" {
		t.Fatalf("final error = %s %s", final.ErrorCode, final.ErrorMessage)
	}
}

func TestQueue_PermanentFailureDoesNotRetry(t *testing.T) {
	t.Parallel()
	db, _ := mustOpenDB(t)
	js := sqlite.NewJobService(db)
	j := mustEnqueue(t, js, pressluft.NewJob{})
	mustClaim(t, js, "w")
	status, err := js.Fail(context.Background(), j.ID, "w", pressluft.Errorf(pressluft.EAnsibleSyntax, "bad"), false)
	if err != nil || status != pressluft.JobFailed {
		t.Fatalf("Fail = %q, %v", status, err)
	}
}

func TestQueue_RescueJobOfDeadWorker(t *testing.T) {
	t.Parallel()
	db, clk := mustOpenDB(t)
	js := sqlite.NewJobService(db)
	ctx := context.Background()
	j := mustEnqueue(t, js, pressluft.NewJob{MaxAttempts: 2})
	mustClaim(t, js, "dead")
	if n, err := js.Rescue(ctx); err != nil || n != 0 {
		t.Fatalf("rescued a job with a live lease: %d, %v", n, err)
	}
	clk.Add(lease + time.Second)
	if n, err := js.Rescue(ctx); err != nil || n != 1 {
		t.Fatalf("Rescue = %d, %v; want 1", n, err)
	}
	got, _ := js.FindJobByID(ctx, j.ID)
	if got.Status != pressluft.JobQueued || got.ErrorCode != pressluft.EWorkerLost {
		t.Fatalf("after rescue: %s %s", got.Status, got.ErrorCode)
	}
	// The dead worker cannot finish it any more.
	if err := js.Complete(ctx, j.ID, "dead", nil); err == nil {
		t.Fatal("a rescued job was completed by its old worker")
	}
	clk.Add(time.Hour)
	mustClaim(t, js, "w2")
	clk.Add(lease + time.Second)
	if _, err := js.Rescue(ctx); err != nil {
		t.Fatal(err)
	}
	got, _ = js.FindJobByID(ctx, j.ID)
	if got.Status != pressluft.JobFailed || got.ErrorCode != pressluft.EWorkerLost {
		t.Fatalf("out of attempts: %s %s", got.Status, got.ErrorCode)
	}
}

func TestQueue_HeartbeatKeepsLease(t *testing.T) {
	t.Parallel()
	db, clk := mustOpenDB(t)
	js := sqlite.NewJobService(db)
	ctx := context.Background()
	j := mustEnqueue(t, js, pressluft.NewJob{})
	mustClaim(t, js, "w")
	for i := 0; i < 3; i++ {
		clk.Add(lease / 2)
		if stop, err := js.Heartbeat(ctx, j.ID, "w", lease); err != nil || stop {
			t.Fatalf("Heartbeat = %v, %v", stop, err)
		}
		if n, _ := js.Rescue(ctx); n != 0 {
			t.Fatal("rescued a job that heartbeats")
		}
	}
}

func TestQueue_Cancel(t *testing.T) {
	t.Parallel()
	db, _ := mustOpenDB(t)
	js := sqlite.NewJobService(db)
	ctx := context.Background()

	queued := mustEnqueue(t, js, pressluft.NewJob{SiteID: "s1"})
	got, err := js.CancelJob(ctx, queued.ID)
	if err != nil || got.Status != pressluft.JobCancelled {
		t.Fatalf("cancel queued = %+v, %v", got, err)
	}
	_, err = js.CancelJob(ctx, queued.ID)
	wantCode(t, err, pressluft.EJobNotCancellable)

	running := mustEnqueue(t, js, pressluft.NewJob{SiteID: "s2"})
	mustClaim(t, js, "w")
	if got, err = js.CancelJob(ctx, running.ID); err != nil || got.Status != pressluft.JobRunning || !got.CancelRequest {
		t.Fatalf("cancel running = %+v, %v", got, err)
	}
	if stop, err := js.Heartbeat(ctx, running.ID, "w", lease); err != nil || !stop {
		t.Fatalf("heartbeat after cancel = %v, %v; want stop", stop, err)
	}
	if err := js.MarkCancelled(ctx, running.ID, "w"); err != nil {
		t.Fatal(err)
	}
	got, _ = js.FindJobByID(ctx, running.ID)
	if got.Status != pressluft.JobCancelled {
		t.Fatalf("status = %s", got.Status)
	}
	_, err = js.CancelJob(ctx, "01000000-0000-7000-8000-000000000000")
	wantCode(t, err, pressluft.ENotFound)
}

func TestQueue_ReleaseKeepsAttempt(t *testing.T) {
	t.Parallel()
	db, _ := mustOpenDB(t)
	js := sqlite.NewJobService(db)
	ctx := context.Background()
	j := mustEnqueue(t, js, pressluft.NewJob{})
	mustClaim(t, js, "w")
	if err := js.Release(ctx, j.ID, "w"); err != nil {
		t.Fatal(err)
	}
	got := mustClaim(t, js, "w2")
	if got == nil || got.Attempt != 1 {
		t.Fatalf("after release: %+v", got)
	}
}

func TestQueue_OutputTailIsBounded(t *testing.T) {
	t.Parallel()
	db, _ := mustOpenDB(t)
	js := sqlite.NewJobService(db)
	ctx := context.Background()
	j := mustEnqueue(t, js, pressluft.NewJob{})
	chunk := make([]byte, 10<<10)
	for i := range chunk {
		chunk[i] = 'a' + byte(i%26)
	}
	for i := 0; i < 10; i++ {
		if err := js.AppendOutput(ctx, j.ID, string(chunk)); err != nil {
			t.Fatal(err)
		}
	}
	if err := js.AppendOutput(ctx, j.ID, "THE END"); err != nil {
		t.Fatal(err)
	}
	got, _ := js.FindJobByID(ctx, j.ID)
	if len(got.OutputTail) != 64<<10 || got.OutputTail[len(got.OutputTail)-7:] != "THE END" {
		t.Fatalf("tail length %d, ends %q", len(got.OutputTail), got.OutputTail[len(got.OutputTail)-7:])
	}
}

func TestQueue_ListFiltersAndPages(t *testing.T) {
	t.Parallel()
	db, _ := mustOpenDB(t)
	js := sqlite.NewJobService(db)
	ctx := context.Background()
	for i := 0; i < 5; i++ {
		mustEnqueue(t, js, pressluft.NewJob{NodeID: "n1"})
	}
	mustEnqueue(t, js, pressluft.NewJob{NodeID: "n2"})
	page, next, err := js.FindJobs(ctx, pressluft.JobFilter{NodeID: "n1", ListOptions: pressluft.ListOptions{Limit: 3}})
	if err != nil || len(page) != 3 || next == "" {
		t.Fatalf("page 1: %d jobs, next %q, %v", len(page), next, err)
	}
	page2, next2, err := js.FindJobs(ctx, pressluft.JobFilter{NodeID: "n1", ListOptions: pressluft.ListOptions{Limit: 3, Cursor: next}})
	if err != nil || len(page2) != 2 || next2 != "" {
		t.Fatalf("page 2: %d jobs, next %q, %v", len(page2), next2, err)
	}
	if page2[0].ID >= page[2].ID {
		t.Fatal("pages are not newest first")
	}
}

func TestQueue_PeriodicRunsOncePerPeriod(t *testing.T) {
	t.Parallel()
	db, clk := mustOpenDB(t)
	js := sqlite.NewJobService(db)
	// A second process on the same database.
	other := sqlite.NewJobService(db)
	ctx := context.Background()
	periodic := []pressluft.PeriodicJob{{Name: "cleanup", Every: time.Hour, Job: pressluft.NewJob{Type: pressluft.JobSessionCleanup}}}
	count := func() int {
		jobs, _, err := js.FindJobs(ctx, pressluft.JobFilter{Type: pressluft.JobSessionCleanup})
		if err != nil {
			t.Fatal(err)
		}
		return len(jobs)
	}
	enqueue := func(q *sqlite.JobService) int {
		n, err := q.EnqueueDue(ctx, periodic)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := enqueue(js) + enqueue(other); n != 1 || count() != 1 {
		t.Fatalf("first period: enqueued %d, %d jobs", n, count())
	}
	clk.Add(30 * time.Minute)
	if n := enqueue(js) + enqueue(other); n != 0 {
		t.Fatalf("enqueued %d before the period ended", n)
	}
	// The run is still queued when the next period comes: not stacked.
	clk.Add(31 * time.Minute)
	if n := enqueue(other); n != 0 || count() != 1 {
		t.Fatalf("a second run was queued beside the first: %d", count())
	}
	j := mustClaim(t, js, "w")
	if err := js.Complete(ctx, j.ID, "w", nil); err != nil {
		t.Fatal(err)
	}
	// Ten hours of downtime: one run, not ten.
	clk.Add(10 * time.Hour)
	if n := enqueue(js) + enqueue(other); n != 1 || count() != 2 {
		t.Fatalf("after downtime: enqueued %d, %d jobs", n, count())
	}
}
