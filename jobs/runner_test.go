package jobs_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pressluft/pressluft"
	"github.com/pressluft/pressluft/jobs"
	"github.com/pressluft/pressluft/sqlite"
)

func mustQueue(tb testing.TB) *sqlite.JobService {
	tb.Helper()
	dir := tb.TempDir()
	db := sqlite.NewDB(filepath.Join(dir, "pressluft.db"))
	if err := db.Open(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return sqlite.NewJobService(db)
}

// startRunner runs r until the test ends.
func startRunner(tb testing.TB, r *jobs.Runner) context.CancelFunc {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	tb.Cleanup(func() { cancel(); <-done })
	return cancel
}

func newRunner(q *sqlite.JobService) *jobs.Runner {
	r := jobs.NewRunner(q, slog.New(slog.NewTextHandler(io.Discard, nil)))
	r.PollInterval, r.Lease, r.Grace = 20*time.Millisecond, 2*time.Second, 2*time.Second
	q.Notify = r.Wake
	return r
}

func waitStatus(tb testing.TB, q *sqlite.JobService, id string, want string) *pressluft.Job {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		j, err := q.FindJobByID(context.Background(), id)
		if err != nil {
			tb.Fatal(err)
		}
		if j.Status == want {
			return j
		}
		time.Sleep(10 * time.Millisecond)
	}
	j, _ := q.FindJobByID(context.Background(), id)
	tb.Fatalf("job %s is %s (%s %s), want %s", id, j.Status, j.ErrorCode, j.ErrorMessage, want)
	return nil
}

func TestRunner_RunsHandlersAndRecordsOutcome(t *testing.T) {
	t.Parallel()
	q := mustQueue(t)
	r := newRunner(q)
	// One kind, three behaviours chosen by the job's site.
	r.Handlers[pressluft.JobNoop] = func(ctx context.Context, j *pressluft.Job, p pressluft.Progress) (*pressluft.JobDone, error) {
		switch j.SiteID {
		case "bad":
			return nil, pressluft.Errorf(pressluft.EAnsibleSyntax, "broken playbook")
		case "panics":
			panic("oops")
		}
		p.Event("work", pressluft.LevelInfo, "did it")
		p.Output("raw line\n")
		return &pressluft.JobDone{Result: map[string]string{"done": "yes"}}, nil
	}
	startRunner(t, r)
	ctx := context.Background()
	ok, _ := q.Enqueue(ctx, pressluft.NewJob{Type: pressluft.JobNoop, SiteID: "ok"})
	bad, _ := q.Enqueue(ctx, pressluft.NewJob{Type: pressluft.JobNoop, SiteID: "bad"})
	panics, _ := q.Enqueue(ctx, pressluft.NewJob{Type: pressluft.JobNoop, SiteID: "panics", MaxAttempts: 1})
	if _, err := q.Enqueue(ctx, pressluft.NewJob{Type: "unknown"}); err == nil {
		t.Error("a job of an unknown kind was enqueued")
	}

	j := waitStatus(t, q, ok.ID, pressluft.JobSucceeded)
	if string(j.Result) != `{"done":"yes"}` || j.OutputTail != "raw line\n" {
		t.Fatalf("result %s, tail %q", j.Result, j.OutputTail)
	}
	j = waitStatus(t, q, bad.ID, pressluft.JobFailed)
	if j.Attempt != 1 || j.ErrorCode != pressluft.EAnsibleSyntax {
		t.Fatalf("permanent failure retried or miscoded: attempt %d code %s", j.Attempt, j.ErrorCode)
	}
	j = waitStatus(t, q, panics.ID, pressluft.JobFailed)
	if j.ErrorCode != pressluft.EInternal || j.ErrorMessage != "Internal error." {
		t.Fatalf("panic recorded as %s %q", j.ErrorCode, j.ErrorMessage)
	}
}

func TestRunner_TransientFailureIsRetried(t *testing.T) {
	t.Parallel()
	q := mustQueue(t)
	r := newRunner(q)
	var calls atomic.Int32
	r.Handlers[pressluft.JobNoop] = func(context.Context, *pressluft.Job, pressluft.Progress) (*pressluft.JobDone, error) {
		calls.Add(1)
		return nil, pressluft.Errorf(pressluft.ENodeUnreachable, "no route")
	}
	startRunner(t, r)
	j, _ := q.Enqueue(context.Background(), pressluft.NewJob{Type: pressluft.JobNoop})
	got := waitStatus(t, q, j.ID, pressluft.JobQueued)
	deadline := time.Now().Add(5 * time.Second)
	for (got.Attempt == 0 || got.Status != pressluft.JobQueued) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
		got, _ = q.FindJobByID(context.Background(), j.ID)
	}
	if got.Attempt != 1 || got.ErrorCode != pressluft.ENodeUnreachable || !got.RunAfter.After(got.UpdatedAt) {
		t.Fatalf("after a transient failure: attempt %d code %s run_after %s", got.Attempt, got.ErrorCode, got.RunAfter)
	}
}

func TestRunner_TimeoutAndCancel(t *testing.T) {
	t.Parallel()
	q := mustQueue(t)
	r := newRunner(q)
	started := make(chan string, 2)
	r.Handlers[pressluft.JobNoop] = func(ctx context.Context, j *pressluft.Job, _ pressluft.Progress) (*pressluft.JobDone, error) {
		started <- j.ID
		<-ctx.Done()
		return nil, context.Cause(ctx)
	}
	startRunner(t, r)
	ctx := context.Background()
	j, _ := q.Enqueue(ctx, pressluft.NewJob{Type: pressluft.JobNoop, SiteID: "s1"})
	<-started
	if _, err := q.CancelJob(ctx, j.ID); err != nil {
		t.Fatal(err)
	}
	got := waitStatus(t, q, j.ID, pressluft.JobCancelled)
	if got.ErrorCode != pressluft.EJobCancelled {
		t.Fatalf("cancelled job code %s", got.ErrorCode)
	}

	slow, _ := q.Enqueue(ctx, pressluft.NewJob{Type: pressluft.JobNoop, SiteID: "s2", Timeout: time.Second, MaxAttempts: 1})
	<-started
	got = waitStatus(t, q, slow.ID, pressluft.JobFailed)
	if got.ErrorCode != pressluft.EJobTimeout {
		t.Fatalf("timed-out job code %s (%s)", got.ErrorCode, got.ErrorMessage)
	}
}

func TestRunner_ShutdownHandsJobsBack(t *testing.T) {
	t.Parallel()
	q := mustQueue(t)
	r := newRunner(q)
	r.Grace = 100 * time.Millisecond
	started := make(chan struct{}, 1)
	r.Handlers[pressluft.JobNoop] = func(ctx context.Context, _ *pressluft.Job, _ pressluft.Progress) (*pressluft.JobDone, error) {
		started <- struct{}{}
		<-ctx.Done()
		return nil, errors.New("stopped")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	j, _ := q.Enqueue(context.Background(), pressluft.NewJob{Type: pressluft.JobNoop})
	<-started
	cancel()
	<-done
	got, _ := q.FindJobByID(context.Background(), j.ID)
	if got.Status != pressluft.JobQueued || got.Attempt != 0 {
		t.Fatalf("after shutdown: %s attempt %d", got.Status, got.Attempt)
	}
}

func TestRunner_LostWorkerJobIsRescued(t *testing.T) {
	t.Parallel()
	q := mustQueue(t)
	ctx := context.Background()
	j, _ := q.Enqueue(ctx, pressluft.NewJob{Type: pressluft.JobNoop})
	// A worker that claimed the job and died: no heartbeat ever comes.
	if c, err := q.Claim(ctx, "dead-worker", 50*time.Millisecond); err != nil || c == nil {
		t.Fatalf("claim: %v", err)
	}
	r := newRunner(q)
	r.Lease = 300 * time.Millisecond
	r.Handlers[pressluft.JobNoop] = func(context.Context, *pressluft.Job, pressluft.Progress) (*pressluft.JobDone, error) { return nil, nil }
	startRunner(t, r)
	got := waitStatus(t, q, j.ID, pressluft.JobQueued)
	if got.ErrorCode != pressluft.EWorkerLost {
		t.Fatalf("rescued job code %s", got.ErrorCode)
	}
}
