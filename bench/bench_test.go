// Package bench measures the figures the control plane is held to. Run with
// `make bench`; each benchmark prints its figures and reports them as
// benchmark metrics. They are measurements, not pass/fail tests.
package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	nethttp "net/http"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/pressluft/pressluft"
	"github.com/pressluft/pressluft/http"
	"github.com/pressluft/pressluft/jobs"
	"github.com/pressluft/pressluft/sqlite"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func openDB(b *testing.B) *sqlite.DB {
	b.Helper()
	dir := b.TempDir()
	key, err := sqlite.LoadOrCreateKey(filepath.Join(dir, "secret.key"))
	if err != nil {
		b.Fatal(err)
	}
	db := sqlite.NewDB(filepath.Join(dir, "pressluft.db"))
	db.SetKey(key)
	if err := db.Open(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db
}

func percentile(d []time.Duration, p float64) time.Duration {
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return d[min(len(d)-1, int(float64(len(d))*p))]
}

// BenchmarkListLatency: GET /api/jobs and GET /api/audit over HTTP with
// 10,000 rows each, through the real router with a bearer token.
func BenchmarkListLatency(b *testing.B) {
	const rows, requests = 10000, 1000
	db := openDB(b)
	ctx := context.Background()
	js, audit, auth := sqlite.NewJobService(db), sqlite.NewAuditService(db), sqlite.NewAuthService(db)
	for i := 0; i < rows; i++ {
		if _, err := js.Enqueue(ctx, pressluft.NewJob{Type: pressluft.JobNoop, NodeID: fmt.Sprintf("node-%d", i%10)}); err != nil {
			b.Fatal(err)
		}
		if err := audit.Record(ctx, &pressluft.AuditEntry{Actor: "ops@example.com", Action: "site.create", ResourceType: "site",
			ResourceID: fmt.Sprint(i), Result: "success", StatusCode: 202}); err != nil {
			b.Fatal(err)
		}
	}
	u, err := auth.CreateUser(ctx, "ops@example.com", "correct horse")
	if err != nil {
		b.Fatal(err)
	}
	_, token, err := auth.CreateAPIToken(ctx, u.ID, "bench")
	if err != nil {
		b.Fatal(err)
	}
	s := http.NewServer(quiet)
	s.Auth, s.Audit, s.Jobs = auth, audit, js
	if err := s.Open("127.0.0.1:0"); err != nil {
		b.Fatal(err)
	}
	defer s.Close(ctx)
	client := &nethttp.Client{}
	for _, path := range []string{"/api/jobs", "/api/jobs?node_id=node-3&status=queued", "/api/audit", "/api/audit?resource_type=site&action=site.create"} {
		lat := make([]time.Duration, 0, requests)
		for i := 0; i < requests; i++ {
			req, _ := nethttp.NewRequest("GET", "http://"+s.Addr()+path, nil)
			req.Header.Set("Authorization", "Bearer "+token)
			start := time.Now()
			res, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != 200 {
				b.Fatalf("%s: %d", path, res.StatusCode)
			}
			lat = append(lat, time.Since(start))
		}
		p50, p99 := percentile(lat, 0.50), percentile(lat, 0.99)
		fmt.Printf("GET %-50s rows=%d  p50=%6.2fms  p99=%6.2fms\n", path, rows, ms(p50), ms(p99))
		name := strings.NewReplacer("/api/", "", "?", "_", "&", "_", "=", "-").Replace(path)
		b.ReportMetric(ms(p99), name+"_p99_ms")
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// BenchmarkEngineThroughput: trivial jobs through claim → run → complete,
// with the default four workers.
func BenchmarkEngineThroughput(b *testing.B) {
	const n = 2000
	db := openDB(b)
	js := sqlite.NewJobService(db)
	ctx := context.Background()
	for i := 0; i < n; i++ {
		if _, err := js.Enqueue(ctx, pressluft.NewJob{Type: pressluft.JobNoop}); err != nil {
			b.Fatal(err)
		}
	}
	r := jobs.NewRunner(js, quiet)
	r.PollInterval = 50 * time.Millisecond
	done := make(chan struct{}, n)
	r.Handlers[pressluft.JobNoop] = func(context.Context, *pressluft.Job, pressluft.Progress) (*pressluft.JobDone, error) {
		done <- struct{}{}
		return nil, nil
	}
	runCtx, cancel := context.WithCancel(ctx)
	start := time.Now()
	go r.Run(runCtx)
	for i := 0; i < n; i++ {
		<-done
	}
	// Wait for the last completions to be written.
	for {
		m, err := sqlite.NewMetricsService(db).Metrics(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if m.Jobs[pressluft.JobSucceeded] == n {
			break
		}
		time.Sleep(time.Millisecond)
	}
	elapsed := time.Since(start)
	cancel()
	rate := float64(n) / elapsed.Seconds()
	fmt.Printf("engine throughput: %d trivial jobs in %s = %.0f jobs/s (4 workers)\n", n, elapsed.Round(time.Millisecond), rate)
	b.ReportMetric(rate, "jobs/s")
}

// BenchmarkEnqueueToStart: delay from enqueue to the handler starting on an
// idle worker (the in-process wake-up; the poll interval is the fallback).
func BenchmarkEnqueueToStart(b *testing.B) {
	const n = 100
	db := openDB(b)
	js := sqlite.NewJobService(db)
	ctx := context.Background()
	r := jobs.NewRunner(js, quiet)
	js.Notify = r.Wake
	started := make(chan time.Time, 1)
	r.Handlers[pressluft.JobNoop] = func(context.Context, *pressluft.Job, pressluft.Progress) (*pressluft.JobDone, error) {
		started <- time.Now()
		return nil, nil
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go r.Run(runCtx)
	time.Sleep(100 * time.Millisecond)
	lat := make([]time.Duration, 0, n)
	for i := 0; i < n; i++ {
		t0 := time.Now()
		if _, err := js.Enqueue(ctx, pressluft.NewJob{Type: pressluft.JobNoop}); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, (<-started).Sub(t0))
		time.Sleep(20 * time.Millisecond) // let the worker go idle again
	}
	p50, p99 := percentile(lat, 0.5), percentile(lat, 0.99)
	fmt.Printf("enqueue → start on an idle worker: p50=%.2fms p99=%.2fms (n=%d)\n", ms(p50), ms(p99), n)
	b.ReportMetric(ms(p99), "p99_ms")
}
