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
	if err := js.Complete(ctx, j.ID, "w1", map[string]int{"n": 1}); err != nil {
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

func TestQueue_OneRunningJobPerSiteAndNode(t *testing.T) {
	t.Parallel()
	db, _ := mustOpenDB(t)
	js := sqlite.NewJobService(db)
	ctx := context.Background()
	a := mustEnqueue(t, js, pressluft.NewJob{SiteID: "site-1", NodeID: "node-1"})
	b := mustEnqueue(t, js, pressluft.NewJob{SiteID: "site-1", NodeID: "node-2"}) // same site
	c := mustEnqueue(t, js, pressluft.NewJob{SiteID: "site-2", NodeID: "node-1"}) // same node
	d := mustEnqueue(t, js, pressluft.NewJob{SiteID: "site-3", NodeID: "node-3"}) // independent

	if got := mustClaim(t, js, "w"); got.ID != a.ID {
		t.Fatalf("first claim = %s, want %s", got.ID, a.ID)
	}
	// b and c wait for a; d may run beside it.
	if got := mustClaim(t, js, "w"); got == nil || got.ID != d.ID {
		t.Fatalf("second claim = %+v, want %s", got, d.ID)
	}
	if got := mustClaim(t, js, "w"); got != nil {
		t.Fatalf("claimed %s while its site or node is busy", got.ID)
	}
	if err := js.Complete(ctx, a.ID, "w", nil); err != nil {
		t.Fatal(err)
	}
	if got := mustClaim(t, js, "w"); got == nil || got.ID != b.ID {
		t.Fatalf("after a finished: claim = %+v, want %s", got, b.ID)
	}
	// c shares node-1 with nobody running now, but b holds site-1 only, so c runs.
	if got := mustClaim(t, js, "w"); got == nil || got.ID != c.ID {
		t.Fatalf("claim = %+v, want %s", got, c.ID)
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
