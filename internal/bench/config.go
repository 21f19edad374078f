package bench

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"
)

// Defaults of a bench run.
const (
	DefaultServers      = 3
	DefaultReplicas     = 3
	DefaultJobs         = 10000
	DefaultPeriod       = time.Minute
	DefaultWorkers      = 1000
	DefaultCapacity     = 1000
	DefaultDuration     = 2 * time.Minute
	DefaultSettle       = 5 * time.Second
	DefaultDrain        = 10 * time.Second
	DefaultBatch        = 1000
	DefaultInflight     = 4
	DefaultP50Target    = 20 * time.Millisecond
	DefaultP99Target    = 100 * time.Millisecond
	DefaultHerdP99      = time.Second
	DefaultReadyTimeout = 3 * time.Minute
	DefaultStable       = 10 * time.Second
	DefaultLogLevel     = "warn"
	DefaultRecoverySpan = 5 * time.Second
)

// Restart modes.
const (
	RestartNone = ""
	RestartOne  = "one" // the server leading the most shards
	RestartAll  = "all" // every server at once
)

// Config configures a bench run. Zero values take the documented
// defaults.
type Config struct {
	// Binary is the swarm binary to run as servers. Required (the command
	// passes its own executable).
	Binary string

	// Dir holds the servers' data dirs, logs, and the run's outputs.
	// Defaults to a new temporary directory, removed at the end unless
	// Keep is set.
	Dir  string
	Keep bool

	// Reuse starts the cluster recorded in Dir by an earlier run with Keep
	// (its servers, ports and jobs) instead of a new one, and loads no
	// jobs: it measures a cold start with jobs already held.
	Reuse bool

	// Servers (DefaultServers), Shards (0: the server's default) and
	// Replicas (DefaultReplicas) shape a new cluster.
	Servers  int
	Shards   int
	Replicas int

	// ServerArgs are extra arguments for every `swarm server`.
	ServerArgs []string

	// Jobs to load (DefaultJobs). Each fires once per Period
	// (DefaultPeriod) at a second spread by its number, or, with Herd, all
	// at second 0 of the period. Rate, when set, chooses the Period that
	// makes all jobs fire closest to Rate fires per second.
	Jobs   int
	Period time.Duration
	Rate   float64
	Herd   bool

	// StartAfter, when set, makes jobs start firing only this long after
	// the run starts, so that loading is measured without firing.
	StartAfter time.Duration

	// LoadOnly stops after loading and the memory and disk readings: no
	// window is measured.
	LoadOnly bool

	// Workers is the number of simulated workers (DefaultWorkers), each
	// of Capacity (DefaultCapacity).
	Workers  int
	Capacity int

	// Duration is the measured window (DefaultDuration). It starts Settle
	// (DefaultSettle) after loading ends, and receipts are awaited Drain
	// (DefaultDrain) after it.
	Duration time.Duration
	Settle   time.Duration
	Drain    time.Duration

	// Batch jobs per request (DefaultBatch, at most api.MaxBatchJobs), and
	// Inflight requests at once (DefaultInflight).
	Batch    int
	Inflight int

	// KillLeaderAt, when set, SIGKILLs the server leading the most shards
	// this far into the window; KillRestartAfter, when set, starts it
	// again that long after.
	KillLeaderAt     time.Duration
	KillRestartAfter time.Duration

	// Restart (RestartOne or RestartAll) stops servers RestartAt into the
	// window and starts them again at once, with SIGTERM, or SIGKILL when
	// RestartKill is set.
	Restart     string
	RestartAt   time.Duration
	RestartKill bool

	// Perf, when set, records a CPU profile of every server with perf(1)
	// for this long, starting PerfAt into the window.
	Perf   time.Duration
	PerfAt time.Duration

	// Targets the report checks: lateness p50 and p99 (DefaultP50Target,
	// DefaultP99Target; DefaultHerdP99 for p99 with Herd).
	P50Target time.Duration
	P99Target time.Duration

	// ReadyTimeout bounds the wait for the cluster (DefaultReadyTimeout).
	// Once ready, the run waits until no shard leader has changed for
	// Stable (DefaultStable; negative: do not wait).
	ReadyTimeout time.Duration
	Stable       time.Duration

	// LogLevel of the servers (DefaultLogLevel).
	LogLevel string

	// Logger receives the bench's own log; Progress, if set, one line per
	// step for the person watching. Both default to discarding.
	Logger   *slog.Logger
	Progress io.Writer
}

func (c Config) withDefaults() Config {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	defD := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.Servers, DefaultServers)
	def(&c.Replicas, DefaultReplicas)
	def(&c.Jobs, DefaultJobs)
	def(&c.Workers, DefaultWorkers)
	def(&c.Capacity, DefaultCapacity)
	def(&c.Batch, DefaultBatch)
	def(&c.Inflight, DefaultInflight)
	defD(&c.Duration, DefaultDuration)
	defD(&c.Settle, DefaultSettle)
	defD(&c.Drain, DefaultDrain)
	defD(&c.ReadyTimeout, DefaultReadyTimeout)
	defD(&c.Stable, DefaultStable)
	defD(&c.P50Target, DefaultP50Target)
	if c.P99Target == 0 {
		c.P99Target = DefaultP99Target
		if c.Herd {
			c.P99Target = DefaultHerdP99
		}
	}
	if c.Period == 0 {
		c.Period = DefaultPeriod
		if c.Rate > 0 {
			c.Period = PeriodForRate(c.Jobs, c.Rate)
		}
	}
	if c.LogLevel == "" {
		c.LogLevel = DefaultLogLevel
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Progress == nil {
		c.Progress = io.Discard
	}
	return c
}

// Validate names the first invalid field, by its flag name.
func (c Config) Validate() error {
	switch {
	case c.Binary == "":
		return errors.New("binary: is required")
	case c.Servers < 1 || c.Servers > 9:
		return errors.New("servers: must be between 1 and 9")
	case c.Replicas < 1 || c.Replicas > 7:
		return errors.New("replicas: must be between 1 and 7")
	case c.Shards < 0:
		return errors.New("shards: must not be negative")
	case c.Jobs < 1:
		return errors.New("jobs: must be at least 1")
	case c.Rate < 0:
		return errors.New("rate: must not be negative")
	case c.Workers < 1:
		return errors.New("workers: must be at least 1")
	case c.Capacity < 1:
		return errors.New("capacity: must be at least 1")
	case c.Batch < 1 || c.Batch > 1000:
		return errors.New("batch: must be between 1 and 1000")
	case c.Inflight < 1:
		return errors.New("inflight: must be at least 1")
	case c.Duration < time.Second:
		return errors.New("duration: must be at least 1s")
	case c.Settle < 0 || c.Drain < 0 || c.StartAfter < 0:
		return errors.New("settle, drain, start-after: must not be negative")
	case c.KillLeaderAt < 0 || c.KillLeaderAt >= c.Duration:
		return errors.New("kill-leader-at: must be inside the window (less than --duration)")
	case c.KillRestartAfter < 0:
		return errors.New("kill-restart-after: must not be negative")
	case c.Restart != RestartNone && c.Restart != RestartOne && c.Restart != RestartAll:
		return fmt.Errorf("restart: %q is not one of one, all", c.Restart)
	case c.Restart != RestartNone && (c.RestartAt < 0 || c.RestartAt >= c.Duration):
		return errors.New("restart-at: must be inside the window (less than --duration)")
	case c.Restart != RestartNone && c.KillLeaderAt > 0:
		return errors.New("restart: give --restart or --kill-leader-at, not both")
	case c.Perf < 0 || c.PerfAt < 0:
		return errors.New("perf, perf-at: must not be negative")
	}
	if err := CheckPeriod(c.Period); err != nil {
		return fmt.Errorf("period: %w", err)
	}
	return nil
}
