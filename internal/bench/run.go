package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"time"
)

// runner holds one run's parts; each step fills in the report.
type runner struct {
	cfg   Config
	dir   string
	rep   *Report
	sched Schedule

	cluster *Cluster
	pool    *Pool
	rec     *Recorder
	samp    *sampler

	from, to time.Time      // the window
	mu       sync.Mutex     // guards the report's event parts
	events   sync.WaitGroup // the kill, restart and profile goroutines

	empty, loaded map[string]procPoint
	coldWatch     *watch
	coldStart     time.Time
	restartWatch  *watch
	restartStart  time.Time
	startAt       time.Time // when the jobs start firing (StartAfter)
}

// Run starts a cluster, loads it, measures it over the window and
// returns the report. The servers are stopped before it returns; their
// data stays in the directory when it was given or Keep is set.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg = cfg.withDefaults()
	if cfg.Reuse {
		if err := cfg.fromManifest(); err != nil {
			return nil, err
		}
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	raiseFileLimit()
	dir, cleanup, err := workDir(cfg)
	if err != nil {
		return nil, err
	}
	defer cleanup()

	r := &runner{cfg: cfg, dir: dir, sched: Schedule{Period: cfg.Period, Herd: cfg.Herd}}
	r.rep = &Report{Started: time.Now().UTC(), Dir: dir, Machine: Machine{CPUs: runtime.NumCPU(), GoVersion: runtime.Version()}}
	r.rep.Settings = Settings{Servers: cfg.Servers, Shards: cfg.Shards, Replicas: cfg.Replicas, Jobs: cfg.Jobs,
		PeriodSeconds: cfg.Period.Seconds(), Herd: cfg.Herd, ExpectedPerSec: r.sched.FiresPerSecond(cfg.Jobs),
		Workers: cfg.Workers, WindowSeconds: cfg.Duration.Seconds(), Reuse: cfg.Reuse,
		P50TargetMS: ms(cfg.P50Target), P99TargetMS: ms(cfg.P99Target)}
	r.rec = NewRecorder(r.sched, cfg.Jobs, jobPrefix)
	defer r.close()

	if err := r.run(ctx); err != nil {
		return r.rep, err
	}
	return r.rep, nil
}

// fromManifest takes the cluster shape and jobs from the manifest of the
// cluster being reused.
func (c *Config) fromManifest() error {
	if c.Dir == "" {
		return fmt.Errorf("reuse: --dir is required")
	}
	b, err := os.ReadFile(filepath.Join(c.Dir, manifestFile))
	if err != nil {
		return fmt.Errorf("reuse: %w", err)
	}
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("reuse: %s: %w", manifestFile, err)
	}
	if m.Jobs == 0 {
		return fmt.Errorf("reuse: %s records no loaded jobs", manifestFile)
	}
	// TODO: the manifest does not record which jobs failed to load, so a
	// reused cluster is expected to hold all of them; jobs that failed in
	// the loading run are then counted as lost.
	c.Servers, c.Shards, c.Replicas = len(m.Servers), m.Shards, m.Replicas
	c.Jobs, c.Period, c.Herd = m.Jobs, time.Duration(m.PeriodS)*time.Second, m.Herd
	return nil
}

func workDir(cfg Config) (string, func(), error) {
	if cfg.Dir != "" {
		if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
			return "", nil, fmt.Errorf("work dir: %w", err)
		}
		abs, err := filepath.Abs(cfg.Dir)
		if err != nil {
			return "", nil, fmt.Errorf("work dir: %w", err)
		}
		return abs, func() {}, nil
	}
	dir, err := os.MkdirTemp("", "swarm-bench-")
	if err != nil {
		return "", nil, fmt.Errorf("work dir: %w", err)
	}
	if cfg.Keep {
		return dir, func() {}, nil
	}
	return dir, func() { os.RemoveAll(dir) }, nil
}

// raiseFileLimit lifts the open-file limit to its hard maximum: thousands
// of worker connections need it, and the servers inherit it.
func raiseFileLimit() {
	var lim syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) == nil && lim.Cur < lim.Max {
		lim.Cur = lim.Max
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	}
}

func (r *runner) progress(format string, args ...any) {
	fmt.Fprintf(r.cfg.Progress, "%s  %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

func (r *runner) run(ctx context.Context) error {
	if err := r.startCluster(ctx); err != nil {
		return err
	}
	r.samp = startSampler(time.Second, r.pids)
	if !r.cfg.Reuse {
		r.empty = r.snapshotAfter(ctx, 3*time.Second)
	}
	if r.pool == nil {
		if err := r.connectWorkers(ctx); err != nil {
			return err
		}
	}
	if !r.cfg.Reuse {
		if err := r.load(ctx); err != nil {
			return err
		}
	}
	r.progress("settling for %s", r.cfg.Settle)
	r.loaded = r.snapshotAfter(ctx, r.cfg.Settle)
	if r.cfg.LoadOnly {
		r.from, r.to = time.Now().Add(-r.cfg.Settle), time.Now()
		r.finish()
		return nil
	}
	if err := r.waitStart(ctx); err != nil {
		return err
	}
	if err := r.window(ctx); err != nil {
		return err
	}
	r.finish()
	return nil
}

// waitStart waits until the jobs start firing, when StartAfter put that
// in the future.
func (r *runner) waitStart(ctx context.Context) error {
	if r.startAt.IsZero() || time.Until(r.startAt) <= 0 {
		return nil
	}
	r.progress("waiting until the jobs start at %s", r.startAt.Format(time.TimeOnly))
	sleepCtx(ctx, time.Until(r.startAt))
	return ctx.Err()
}

func (r *runner) clusterConfig() clusterConfig {
	return clusterConfig{Binary: r.cfg.Binary, Dir: r.dir, Servers: r.cfg.Servers, Shards: r.cfg.Shards,
		Replicas: r.cfg.Replicas, ServerArgs: r.cfg.ServerArgs, LogLevel: r.cfg.LogLevel, Logger: r.cfg.Logger}
}

func (r *runner) startCluster(ctx context.Context) error {
	start := time.Now()
	var err error
	if r.cfg.Reuse {
		r.progress("starting %d servers from %s", r.cfg.Servers, r.dir)
		r.coldWatch = r.rec.Watch("", start)
		r.coldStart = start
		r.cluster, err = reuseCluster(r.clusterConfig())
	} else {
		r.progress("starting %d servers in %s", r.cfg.Servers, r.dir)
		r.cluster, err = startCluster(ctx, r.clusterConfig())
	}
	if err != nil {
		return err
	}
	serving := r.waitAllServing(ctx)
	if r.cfg.Reuse {
		// Workers connect as soon as the servers serve, as a real fleet
		// reconnecting would: the first fire then times the cluster's
		// restart, not the bench's waits.
		if err := r.connectWorkers(ctx); err != nil {
			return err
		}
	}
	st, err := r.cluster.WaitReady(ctx, r.cfg.ReadyTimeout)
	if err != nil {
		return err
	}
	r.rep.ClusterReadySeconds = time.Since(start).Seconds()
	if r.cfg.Stable > 0 {
		if err := r.cluster.WaitStable(ctx, r.cfg.Stable, r.cfg.ReadyTimeout); err != nil {
			r.progress("%v; going on", err)
		}
	}
	if r.cfg.Shards == 0 {
		r.rep.Settings.Shards = len(st.Shards)
	}
	if r.cfg.Reuse {
		r.rep.ColdStart = &RestartRun{Mode: "cold", Servers: r.cluster.IDs(), ServingSeconds: serving.Sub(start).Seconds(),
			ReadySeconds: r.rep.ClusterReadySeconds, FirstFireSeconds: -1}
	}
	r.progress("cluster ready after %.1f s: %d shards", r.rep.ClusterReadySeconds, len(st.Shards))
	return nil
}

// waitAllServing waits for every server's serving line and returns when
// the last one came.
func (r *runner) waitAllServing(ctx context.Context) time.Time {
	var last time.Time
	for _, id := range r.cluster.IDs() {
		p := r.cluster.proc(id)
		if p.waitServing(ctx, r.cfg.ReadyTimeout) == nil && p.servingAt.After(last) {
			last = p.servingAt
		}
	}
	return last
}

func (r *runner) pids() map[string]int {
	out := map[string]int{}
	for _, id := range r.cluster.IDs() {
		if pid := r.cluster.PID(id); pid != 0 {
			out[id] = pid
		}
	}
	return out
}

// snapshotAfter waits d, then takes every process's latest reading.
func (r *runner) snapshotAfter(ctx context.Context, d time.Duration) map[string]procPoint {
	sleepCtx(ctx, d+1100*time.Millisecond) // one more sample after d
	now := time.Now()
	out := map[string]procPoint{}
	for _, id := range append(r.cluster.IDs(), selfID) {
		if p, ok := r.samp.latest(id, now); ok {
			out[id] = p
		}
	}
	return out
}

func (r *runner) connectWorkers(ctx context.Context) error {
	start := time.Now()
	pool, err := startPool(ctx, poolConfig{Servers: r.cluster.HTTPAddrs(), Workers: r.cfg.Workers, Group: "default",
		Capacity: r.cfg.Capacity, IDPrefix: "bench-w", Recorder: r.rec, Logger: r.cfg.Logger}, 2*time.Minute)
	if err != nil {
		return err
	}
	r.pool = pool
	r.rep.WorkersSeconds = time.Since(start).Seconds()
	r.progress("%d workers connected in %.1f s", r.cfg.Workers, r.rep.WorkersSeconds)
	return nil
}

func (r *runner) load(ctx context.Context) error {
	var startAt *time.Time
	if r.cfg.StartAfter > 0 {
		t := time.Now().Add(r.cfg.StartAfter).Truncate(time.Second).UTC()
		startAt = &t
	}
	r.progress("loading %d jobs, %d per batch, %d in flight", r.cfg.Jobs, r.cfg.Batch, r.cfg.Inflight)
	rep, err := loadJobs(ctx, loadConfig{Servers: r.cluster.HTTPAddrs(), Jobs: r.cfg.Jobs, Batch: r.cfg.Batch,
		Inflight: r.cfg.Inflight, Schedule: r.sched, StartAt: startAt, Logger: r.cfg.Logger,
		Missing: r.rec.Missing,
		Progress: func(done, failed int, el time.Duration) {
			r.progress("  %d jobs sent (%d failed), %.0f jobs/s", done, failed, float64(done)/el.Seconds())
		}})
	r.rep.Load = &rep
	if err != nil {
		return err
	}
	r.progress("loaded %d jobs in %.1f s (%.0f jobs/s), %d failed", rep.Created, rep.Seconds, rep.JobsPerSec, rep.Failed)
	r.cluster.m.Jobs, r.cluster.m.PeriodS, r.cluster.m.Herd = r.cfg.Jobs, int64(r.cfg.Period/time.Second), r.cfg.Herd
	if r.rep.Settings.Shards != 0 {
		r.cluster.m.Shards = r.rep.Settings.Shards
	}
	if err := r.cluster.saveManifest(); err != nil {
		return err
	}
	if startAt != nil {
		r.startAt = *startAt
	}
	return ctx.Err()
}

// window measures Duration of fires, with the kill, restart and profile
// events inside it, then waits Drain for late receipts.
func (r *runner) window(ctx context.Context) error {
	from := time.Now().Add(1500 * time.Millisecond).Truncate(time.Second)
	to := from.Add(r.cfg.Duration)
	if err := r.rec.SetWindow(from.Unix(), to.Unix(), r.cfg.Drain); err != nil {
		return err
	}
	r.from, r.to = from, to
	r.progress("measuring %s from %s", r.cfg.Duration, from.Format(time.TimeOnly))

	if r.cfg.KillLeaderAt > 0 {
		r.at(ctx, r.cfg.KillLeaderAt, r.killLeader)
	}
	if r.cfg.Restart != RestartNone {
		r.at(ctx, r.cfg.RestartAt, r.restart)
	}
	if r.cfg.Perf > 0 {
		r.at(ctx, r.cfg.PerfAt, r.profile)
	}
	stop := progressEvery(10*time.Second, func() {
		t := r.rec.Tally()
		r.progress("  %d fires received, %d duplicates, lateness p50 %.1f ms p99 %.1f ms",
			t.Total, t.Duplicates, ms(us(t.Lateness.Quantile(0.5))), ms(us(t.Lateness.Quantile(0.99))))
	})
	sleepCtx(ctx, time.Until(to.Add(r.cfg.Drain)))
	stop()
	r.events.Wait()
	return ctx.Err()
}

// at runs fn at offset d into the window, on a goroutine the runner
// waits for.
func (r *runner) at(ctx context.Context, d time.Duration, fn func(ctx context.Context, at time.Time)) {
	r.events.Add(1)
	go func() {
		defer r.events.Done()
		sleepCtx(ctx, time.Until(r.from.Add(d)))
		if ctx.Err() == nil {
			fn(ctx, time.Now())
		}
	}()
}

func (r *runner) addMark(at time.Time, label string) {
	r.mu.Lock()
	r.rep.Marks = append(r.rep.Marks, Mark{At: at.Sub(r.from).Seconds(), Label: label})
	r.mu.Unlock()
}

// killLeader SIGKILLs the server that leads the most shards.
func (r *runner) killLeader(ctx context.Context, _ time.Time) {
	st, err := r.cluster.Status(ctx)
	if err != nil {
		r.progress("kill: %v", err)
		return
	}
	id, n := TopLeader(st)
	at := time.Now()
	if err := r.cluster.Signal(id, syscall.SIGKILL, 10*time.Second); err != nil {
		r.progress("kill: %v", err)
		return
	}
	r.addMark(at, "kill "+id)
	r.progress("killed %s, which led %d shards", id, n)
	k := &KillReport{Server: id, ShardsLed: n, AtSeconds: at.Sub(r.from).Seconds()}
	r.mu.Lock()
	r.rep.Kill = k
	r.mu.Unlock()
	if r.cfg.KillRestartAfter <= 0 {
		return
	}
	sleepCtx(ctx, r.cfg.KillRestartAfter)
	if _, err := r.cluster.Restart(id); err != nil {
		r.progress("restart after kill: %v", err)
		return
	}
	r.addMark(time.Now(), "restart "+id)
	r.mu.Lock()
	k.RestartedAt = time.Since(r.from).Seconds()
	r.mu.Unlock()
}

// restart stops and starts the top leader, or every server, and times how
// long until they serve, the cluster is whole, and fires come again.
func (r *runner) restart(ctx context.Context, _ time.Time) {
	ids := r.cluster.IDs()
	if r.cfg.Restart == RestartOne {
		st, err := r.cluster.Status(ctx)
		if err != nil {
			r.progress("restart: %v", err)
			return
		}
		id, _ := TopLeader(st)
		ids = []string{id}
	}
	sig := syscall.SIGTERM
	if r.cfg.RestartKill {
		sig = syscall.SIGKILL
	}
	rr := &RestartRun{Mode: r.cfg.Restart, Servers: ids, FirstFireSeconds: -1}
	stopAt := time.Now()
	rr.AtSeconds = stopAt.Sub(r.from).Seconds()
	r.addMark(stopAt, "stop "+joinIDs(ids))
	r.stopServers(ids, sig)
	rr.StopSeconds = time.Since(stopAt).Seconds()

	start := time.Now()
	leader := ""
	if len(ids) == 1 {
		leader = ids[0]
	}
	w := r.rec.Watch(leader, start)
	for _, id := range ids {
		if _, err := r.cluster.Restart(id); err != nil {
			r.progress("restart: %v", err)
			return
		}
	}
	r.addMark(start, "start")
	r.progress("stopped %s in %.1f s and started again", joinIDs(ids), rr.StopSeconds)
	rr.ServingSeconds = r.waitAllServing(ctx).Sub(start).Seconds()
	if _, err := r.cluster.WaitReady(ctx, r.cfg.ReadyTimeout); err != nil {
		r.progress("restart: %v", err)
	}
	rr.ReadySeconds = time.Since(start).Seconds()
	r.mu.Lock()
	r.rep.Restart = rr
	r.restartWatch, r.restartStart = w, start
	r.mu.Unlock()
}

func (r *runner) stopServers(ids []string, sig syscall.Signal) {
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := r.cluster.Signal(id, sig, time.Minute); err != nil {
				r.progress("stop %s: %v", id, err)
			}
		}()
	}
	wg.Wait()
}

func joinIDs(ids []string) string {
	s := ""
	for i, id := range ids {
		if i > 0 {
			s += ","
		}
		s += id
	}
	return s
}

// close stops the workers, the sampler and the servers.
func (r *runner) close() {
	if r.pool != nil {
		r.pool.Stop()
	}
	if r.samp != nil {
		r.samp.stop()
	}
	if r.cluster != nil {
		r.cluster.Stop()
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func round(v float64, places int) float64 {
	p := math.Pow(10, float64(places))
	return math.Round(v*p) / p
}
