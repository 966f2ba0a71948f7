// Package jobs runs the job engine's workers and holds the handler of each
// job type: the code that turns a queued job into work on a node.
package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/pressluft/pressluft"
)

// Handler does the work of one job. What it returns is committed with the
// job's success; an error fails (or, when transient, retries) it.
type Handler func(ctx context.Context, j *pressluft.Job, p pressluft.Progress) (*pressluft.JobDone, error)

// Runner claims jobs from the queue and runs them, at most Concurrency at a
// time, heartbeating each so that a dead process's jobs are rescued.
type Runner struct {
	Queue        pressluft.JobQueue
	Handlers     map[string]Handler
	Concurrency  int
	PollInterval time.Duration
	Lease        time.Duration
	// Grace is how long running jobs may go on after shutdown begins before
	// they are stopped and handed back to the queue.
	Grace  time.Duration
	Logger *slog.Logger
	// Periodic jobs are enqueued when due (by whichever process looks first);
	// SchedulerInterval is how often this runner looks.
	Periodic          []pressluft.PeriodicJob
	SchedulerInterval time.Duration

	ID   string
	wake chan struct{}
	wg   sync.WaitGroup
}

// NewRunner returns a Runner with sane defaults.
func NewRunner(q pressluft.JobQueue, logger *slog.Logger) *Runner {
	return &Runner{
		Queue: q, Handlers: map[string]Handler{}, Concurrency: 4, PollInterval: time.Second,
		Lease: 30 * time.Second, Grace: 20 * time.Second, Logger: logger, SchedulerInterval: 30 * time.Second,
		ID: "worker-" + uuid.NewString()[:8], wake: make(chan struct{}, 1),
	}
}

// Wake makes an idle runner look for work now.
func (r *Runner) Wake() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Run claims and runs jobs until ctx is cancelled, then waits for running
// jobs (up to Grace) and returns.
func (r *Runner) Run(ctx context.Context) {
	// Jobs outlive the claim loop's context by the grace period.
	jobCtx, stopJobs := context.WithCancelCause(context.WithoutCancel(ctx))
	defer stopJobs(errShutdown)
	slots := make(chan struct{}, r.Concurrency)
	rescue := time.NewTicker(max(r.Lease/3, 100*time.Millisecond))
	defer rescue.Stop()
	schedule := time.NewTicker(max(r.SchedulerInterval, 100*time.Millisecond))
	defer schedule.Stop()
	r.enqueueDue(ctx)
	poll := time.NewTimer(0)
	defer poll.Stop()

loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-rescue.C:
			if n, err := r.Queue.Rescue(ctx); err != nil && ctx.Err() == nil {
				r.Logger.Error("rescue jobs", "err", err)
			} else if n > 0 {
				r.Logger.Warn("rescued jobs of a lost worker", "count", n)
			}
			continue
		case <-schedule.C:
			r.enqueueDue(ctx)
			continue
		case <-poll.C:
		case <-r.wake:
		}
		// Claim while there are free slots and runnable jobs.
		for {
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				break loop
			}
			j, err := r.Queue.Claim(ctx, r.ID, r.Lease)
			if err != nil || j == nil {
				<-slots
				if err != nil && ctx.Err() == nil {
					r.Logger.Error("claim job", "err", err)
				}
				break
			}
			r.wg.Add(1)
			go func() {
				defer r.wg.Done()
				defer func() { <-slots; r.Wake() }()
				r.run(jobCtx, ctx, j)
			}()
		}
		poll.Reset(r.PollInterval)
	}

	done := make(chan struct{})
	go func() { r.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(r.Grace):
		r.Logger.Warn("grace period over; stopping running jobs")
		stopJobs(errShutdown)
		<-done
	}
}

// errShutdown marks a job stopped because the process is shutting down.
var errShutdown = errors.New("shutting down")

func (r *Runner) run(jobCtx, serveCtx context.Context, j *pressluft.Job) {
	log := r.Logger.With("job_id", j.ID, "type", j.Type, "attempt", j.Attempt)
	// Bookkeeping must still reach the database after shutdown started.
	bg := context.WithoutCancel(jobCtx)
	timeout := j.Timeout
	if k, ok := pressluft.KindOf(j.Type); timeout <= 0 && ok {
		timeout = k.Timeout
	}
	ctx, cancel := context.WithTimeoutCause(jobCtx, timeout, pressluft.Errorf(pressluft.EJobTimeout, "Job ran longer than %s.", timeout))
	defer cancel()
	cancelled := make(chan struct{})
	go r.heartbeat(ctx, bg, j, cancel, cancelled)

	p := &progress{q: r.Queue, ctx: bg, jobID: j.ID, log: log}
	h, ok := r.Handlers[j.Type]
	var done *pressluft.JobDone
	var err error
	if !ok {
		err = pressluft.Errorf(pressluft.EInternal, "No handler for job type %q.", j.Type)
	} else {
		done, err = safeCall(ctx, h, j, p)
	}

	switch {
	case isClosed(cancelled):
		if e := r.Queue.MarkCancelled(bg, j.ID, r.ID); e != nil {
			log.Error("mark job cancelled", "err", e)
		}
	case err != nil && jobCtx.Err() != nil && serveCtx.Err() != nil:
		// Stopped by shutdown, not by its own fault: another worker picks it up.
		log.Warn("job interrupted by shutdown; handing it back")
		if e := r.Queue.Release(bg, j.ID, r.ID); e != nil {
			log.Error("release job", "err", e)
		}
		return
	case err != nil:
		if c := context.Cause(ctx); c != nil && ctx.Err() == context.DeadlineExceeded {
			err = c
		}
		// A retried job keeps its resource in its transitional state; a
		// final failure marks the resource failed in the same transaction.
		if status, e := r.Queue.Fail(bg, j.ID, r.ID, err, pressluft.IsTransient(err)); e != nil {
			log.Error("fail job", "err", e)
		} else {
			log.Warn("job failed", "status", status, "code", pressluft.ErrorCode(err), "err", err)
		}
	default:
		if e := r.Queue.Complete(bg, j.ID, r.ID, done); e != nil {
			log.Error("complete job", "err", e)
		}
	}
}

// enqueueDue enqueues the periodic jobs that are due.
func (r *Runner) enqueueDue(ctx context.Context) {
	if len(r.Periodic) == 0 {
		return
	}
	if n, err := r.Queue.EnqueueDue(ctx, r.Periodic); err != nil && ctx.Err() == nil {
		r.Logger.Error("enqueue periodic jobs", "err", err)
	} else if n > 0 {
		r.Wake()
	}
}

// heartbeat extends the lease while the job runs and cancels it when a
// cancel is requested (by any process, through the database).
func (r *Runner) heartbeat(ctx, bg context.Context, j *pressluft.Job, cancel context.CancelFunc, cancelled chan struct{}) {
	t := time.NewTicker(max(r.Lease/10, 50*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			stop, err := r.Queue.Heartbeat(bg, j.ID, r.ID, r.Lease)
			if err != nil {
				r.Logger.Error("heartbeat", "job_id", j.ID, "err", err)
				continue
			}
			if stop {
				close(cancelled)
				cancel()
				return
			}
		}
	}
}

func isClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// safeCall turns a handler's panic into a failed job instead of a dead process.
func safeCall(ctx context.Context, h Handler, j *pressluft.Job, p pressluft.Progress) (done *pressluft.JobDone, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("handler panic: %v", v)
		}
	}()
	return h(ctx, j, p)
}

// progress stores a job's events and output as it runs.
type progress struct {
	q     pressluft.JobQueue
	ctx   context.Context
	jobID string
	log   *slog.Logger
}

func (p *progress) Event(step, level, message string) {
	if err := p.q.AddEvent(p.ctx, p.jobID, pressluft.JobEvent{Step: step, Level: level, Message: message}); err != nil {
		p.log.Error("store job event", "err", err)
	}
}

func (p *progress) Output(text string) {
	if err := p.q.AppendOutput(p.ctx, p.jobID, text); err != nil {
		p.log.Error("store job output", "err", err)
	}
}
