package bench

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/swarmsched/swarm/api"
	"github.com/swarmsched/swarm/scheduler"
)

// JobGroup is the job group of every bench job; job i is named
// JobName(i).
const JobGroup = "bench"

// jobPrefix is how a bench job's key starts, before its number.
const jobPrefix = JobGroup + "/j"

// JobName is the name of bench job i.
func JobName(i int) string { return fmt.Sprintf("j%07d", i) }

// benchJob is bench job i: a cron trigger on sched, a process executor the
// simulated workers never run, and the default client group.
func benchJob(i int, sched Schedule, startAt *time.Time) api.Job {
	j := api.Job{
		Group:    JobGroup,
		Name:     JobName(i),
		Trigger:  scheduler.Spec{Kind: scheduler.KindCron, Cron: sched.Cron(i)},
		Executor: api.Executor{Kind: api.ExecutorProcess, Command: "true"},
	}
	if startAt != nil {
		j.Trigger.StartAt = startAt
	}
	return j
}

// loadConfig configures loading jobs.
type loadConfig struct {
	Servers  []string // HTTP addresses; batches go round robin
	Jobs     int
	Batch    int
	Inflight int
	Schedule Schedule
	StartAt  *time.Time
	Logger   *slog.Logger
	Progress func(done, failed int, elapsed time.Duration)
	Missing  func(job int) // called for each job that failed to load
}

// LoadReport is the outcome of loading jobs.
type LoadReport struct {
	Jobs        int      `json:"jobs"`
	Created     int      `json:"created"`
	Failed      int      `json:"failed"`
	Seconds     float64  `json:"seconds"`
	JobsPerSec  float64  `json:"jobs_per_second"`
	BatchP50MS  float64  `json:"batch_p50_ms"`
	BatchP99MS  float64  `json:"batch_p99_ms"`
	BatchMaxMS  float64  `json:"batch_max_ms"`
	Retried     int      `json:"retried"` // jobs sent again after an "unavailable" answer
	FirstErrors []string `json:"first_errors,omitempty"`
}

// loadJobs creates jobs 0..Jobs-1 through POST /v1/jobs:batch with
// Inflight batches in flight, each to the next server in turn.
func loadJobs(ctx context.Context, cfg loadConfig) (LoadReport, error) {
	clients := make([]*api.RESTClient, len(cfg.Servers))
	for i, s := range cfg.Servers {
		c, err := api.NewClient([]string{s}, api.WithTimeout(2*time.Minute), api.WithUserAgent("swarm-bench"))
		if err != nil {
			return LoadReport{}, fmt.Errorf("load jobs: %w", err)
		}
		defer c.CloseIdleConnections()
		clients[i] = c
	}

	starts := make(chan int)
	var (
		mu      sync.Mutex
		rep     = LoadReport{Jobs: cfg.Jobs}
		lat     Histogram
		done    atomic.Int64
		failed  atomic.Int64
		retried atomic.Int64
		wg      sync.WaitGroup
		started = time.Now()
	)
	record := func(start int, res *api.BatchResponse, n int, err error, took time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		lat.Add(took.Microseconds())
		bad := 0
		switch {
		case err != nil:
			bad = n
			rep.FirstErrors = appendFirst(rep.FirstErrors, err.Error())
			for i := range n {
				cfg.missing(start + i)
			}
		default:
			for i, r := range res.Results {
				if r.Error != nil || r.Status >= 300 {
					bad++
					rep.FirstErrors = appendFirst(rep.FirstErrors, fmt.Sprintf("%s: %v", r.Key, r.Error))
					cfg.missing(start + i)
				}
			}
		}
		rep.Created += n - bad
		rep.Failed += bad
		done.Add(int64(n))
		failed.Add(int64(bad))
	}
	for w := range cfg.Inflight {
		wg.Add(1)
		go func() {
			defer wg.Done()
			next := w
			for start := range starts {
				req := &api.BatchRequest{Mode: api.BatchCreate}
				for i := start; i < min(start+cfg.Batch, cfg.Jobs); i++ {
					req.Jobs = append(req.Jobs, benchJob(i, cfg.Schedule, cfg.StartAt))
				}
				t0 := time.Now()
				res, err := sendWithRetries(ctx, clients, &next, req, &retried)
				record(start, res, len(req.Jobs), err, time.Since(t0))
			}
		}()
	}

	stopProgress := progressEvery(10*time.Second, func() {
		if cfg.Progress != nil {
			cfg.Progress(int(done.Load()), int(failed.Load()), time.Since(started))
		}
	})
	for start := 0; start < cfg.Jobs && ctx.Err() == nil; start += cfg.Batch {
		starts <- start
	}
	close(starts)
	wg.Wait()
	stopProgress()

	rep.Seconds = time.Since(started).Seconds()
	rep.JobsPerSec = float64(rep.Created) / rep.Seconds
	rep.BatchP50MS = float64(lat.Quantile(0.5)) / 1e3
	rep.BatchP99MS = float64(lat.Quantile(0.99)) / 1e3
	rep.BatchMaxMS = float64(lat.Max()) / 1e3
	rep.Retried = int(retried.Load())
	return rep, ctx.Err()
}

// loadRetries bounds how often a job refused with "unavailable" (a shard
// changing leader, typically while a new cluster balances) is sent again.
const loadRetries = 6

// sendWithRetries sends a batch, then sends again, to the next server and
// after a backoff, the jobs refused as unavailable, and merges the
// answers. It counts the jobs sent again in retried.
func sendWithRetries(ctx context.Context, clients []*api.RESTClient, next *int, req *api.BatchRequest, retried *atomic.Int64) (*api.BatchResponse, error) {
	out := &api.BatchResponse{Results: make([]api.BatchResult, len(req.Jobs))}
	pending := make([]int, len(req.Jobs)) // indexes into req.Jobs still to send
	for i := range pending {
		pending[i] = i
	}
	backoff := 200 * time.Millisecond
	var lastErr error
	for attempt := 0; len(pending) > 0 && attempt < loadRetries; attempt++ {
		if attempt > 0 {
			retried.Add(int64(len(pending)))
			sleepCtx(ctx, backoff)
			backoff *= 2
		}
		part := &api.BatchRequest{Mode: req.Mode, Jobs: make([]api.Job, len(pending))}
		for k, i := range pending {
			part.Jobs[k] = req.Jobs[i]
		}
		res, err := clients[*next%len(clients)].BatchJobs(ctx, part)
		*next++
		if err != nil {
			lastErr = err
			if retryable(err) && ctx.Err() == nil {
				continue
			}
			return nil, err
		}
		lastErr = nil
		var again []int
		for k, r := range res.Results {
			if attempt > 0 && r.Error != nil && r.Error.Code == api.CodeAlreadyExists {
				// An earlier attempt was refused as unavailable but
				// committed after all: the job is there.
				r = api.BatchResult{Key: r.Key, Status: http.StatusCreated}
			}
			out.Results[pending[k]] = r
			if r.Error != nil && retryable(r.Error) {
				again = append(again, pending[k])
			}
		}
		pending = again
	}
	if lastErr != nil {
		return nil, lastErr
	}
	return out, nil
}

// retryable reports whether a refusal says to try again.
func retryable(err error) bool {
	var e *api.Error
	if errors.As(err, &e) {
		return e.Status == http.StatusServiceUnavailable || e.Code == api.CodeUnavailable || strings.HasSuffix(e.Message, "retry")
	}
	var u *api.UnreachableError
	return errors.As(err, &u)
}

func (c loadConfig) missing(job int) {
	if c.Missing != nil {
		c.Missing(job)
	}
}

func appendFirst(list []string, s string) []string {
	if len(list) < 5 {
		list = append(list, s)
	}
	return list
}

// progressEvery calls fn every d until the returned stop is called; stop
// waits for the goroutine.
func progressEvery(d time.Duration, fn func()) (stop func()) {
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case <-t.C:
				fn()
			}
		}
	}()
	return func() {
		close(quit)
		wg.Wait()
	}
}
