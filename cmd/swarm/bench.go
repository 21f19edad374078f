package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/swarmsched/swarm/internal/bench"
)

// benchFlags are the flags of swarm bench that are not bench.Config
// fields.
type benchFlags struct {
	out, chart string
}

func newBenchCmd(g *globals) *cobra.Command {
	_ = g // the bench runs its own cluster; --server is not used
	var cfg bench.Config
	var f benchFlags
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "measure a local cluster at scale: fire lateness, loss, throughput, CPU and memory",
		Long: `Start a local cluster of swarm server processes (this binary) on loopback
ports, connect simulated workers over WebSocket, load jobs through the batch
API and measure, over a window: fires per second, fire lateness (receipt
minus scheduled time), lost and duplicate fires, each server's CPU, RSS and
RssAnon, and disk per job. Optionally kill the server that leads the most
shards, or restart servers, in the middle of the window. Prints a table;
--out writes JSON and --chart a PNG of lateness over time.

Each job fires once per --period at a second spread by its number (cron
"S * * * * ?" for the default minute), or all on second 0 with --herd.`,
		Example: `  swarm bench --jobs 10000 --duration 2m
  swarm bench --jobs 100000 --rate 10000 --duration 10m --out bench.json --chart bench.png
  swarm bench --jobs 100000 --herd --duration 3m
  swarm bench --jobs 100000 --kill-leader-at 60s --duration 3m --chart kill.png
  swarm bench --jobs 1000000 --dir /var/tmp/b1m --keep --duration 1m
  swarm bench --dir /var/tmp/b1m --reuse --duration 2m   # cold start with the jobs held`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			exe, err := os.Executable()
			if err != nil {
				return fmt.Errorf("bench: find this binary: %w", err)
			}
			if cfg.Binary == "" {
				cfg.Binary = exe
			}
			cfg.Progress = cmd.ErrOrStderr()
			logger, err := buildLogger("warn", "text")
			if err != nil {
				return err
			}
			cfg.Logger = logger
			rep, runErr := bench.Run(cmd.Context(), cfg)
			if rep == nil {
				return runErr
			}
			if err := writeBenchOutputs(cmd, rep, f); err != nil {
				return err
			}
			return runErr
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&cfg.Binary, "binary", "", "swarm binary to run as servers (default: this one)")
	fl.StringVar(&cfg.Dir, "dir", "", "directory for data, logs and profiles (default: a temporary one, removed unless --keep)")
	fl.BoolVar(&cfg.Keep, "keep", false, "keep the temporary directory")
	fl.BoolVar(&cfg.Reuse, "reuse", false, "start the cluster a --keep run left in --dir, with its jobs, and measure a cold start")
	fl.IntVar(&cfg.Servers, "servers", bench.DefaultServers, "servers to start")
	fl.IntVar(&cfg.Shards, "shards", 0, "shard groups of the new cluster (default: the server's default)")
	fl.IntVar(&cfg.Replicas, "replicas", bench.DefaultReplicas, "replication factor")
	fl.StringArrayVar(&cfg.ServerArgs, "server-arg", nil, "extra argument for every server (repeatable)")
	fl.StringVar(&cfg.LogLevel, "server-log-level", bench.DefaultLogLevel, "log level of the servers (their logs are in --dir)")
	fl.IntVar(&cfg.Jobs, "jobs", bench.DefaultJobs, "jobs to load")
	fl.DurationVar(&cfg.Period, "period", 0, "each job fires once per period: 1s..30s dividing a minute, or 1m..1h dividing an hour (default 1m)")
	fl.Float64Var(&cfg.Rate, "rate", 0, "choose the period that makes all jobs fire closest to this many fires/s")
	fl.BoolVar(&cfg.Herd, "herd", false, "all jobs fire on the same second of each period")
	fl.DurationVar(&cfg.StartAfter, "start-after", 0, "jobs start firing this long after the run starts (measure loading without firing)")
	fl.BoolVar(&cfg.LoadOnly, "load-only", false, "stop after loading: measure create throughput, memory and disk, no window")
	fl.IntVar(&cfg.Workers, "workers", bench.DefaultWorkers, "simulated workers (WebSocket connections)")
	fl.IntVar(&cfg.Capacity, "capacity", bench.DefaultCapacity, "capacity each worker announces")
	fl.DurationVar(&cfg.Duration, "duration", bench.DefaultDuration, "measured window")
	fl.DurationVar(&cfg.Settle, "settle", bench.DefaultSettle, "wait after loading before the window")
	fl.DurationVar(&cfg.Drain, "drain", bench.DefaultDrain, "wait after the window for late fires")
	fl.IntVar(&cfg.Batch, "batch", bench.DefaultBatch, "jobs per batch request")
	fl.IntVar(&cfg.Inflight, "inflight", bench.DefaultInflight, "batch requests in flight")
	fl.DurationVar(&cfg.KillLeaderAt, "kill-leader-at", 0, "SIGKILL the server leading the most shards this far into the window")
	fl.DurationVar(&cfg.KillRestartAfter, "kill-restart-after", 0, "start the killed server again this long after the kill")
	fl.StringVar(&cfg.Restart, "restart", "", "restart servers in the window: one (the top shard leader) or all")
	fl.DurationVar(&cfg.RestartAt, "restart-at", 0, "when to restart, into the window")
	fl.BoolVar(&cfg.RestartKill, "restart-kill", false, "stop with SIGKILL instead of SIGTERM when restarting")
	fl.DurationVar(&cfg.Perf, "perf", 0, "record the servers with perf(1) for this long (reports in --dir)")
	fl.DurationVar(&cfg.PerfAt, "perf-at", 0, "when to start perf, into the window")
	fl.DurationVar(&cfg.P50Target, "p50-target", bench.DefaultP50Target, "p50 lateness target")
	fl.DurationVar(&cfg.P99Target, "p99-target", 0, "p99 lateness target (default 100ms, 1s with --herd)")
	fl.DurationVar(&cfg.ReadyTimeout, "ready-timeout", bench.DefaultReadyTimeout, "how long to wait for the cluster")
	fl.DurationVar(&cfg.Stable, "stable", bench.DefaultStable, "once ready, wait until no shard leader has changed for this long (negative: no wait)")
	fl.StringVar(&f.out, "out", "", "write the report as JSON to this file")
	fl.StringVar(&f.chart, "chart", "", "draw lateness, fire rate and CPU over the window to this PNG")
	return cmd
}

func writeBenchOutputs(cmd *cobra.Command, rep *bench.Report, f benchFlags) error {
	if rep.Load != nil || len(rep.Series) > 0 {
		if err := rep.WriteTable(cmd.OutOrStdout()); err != nil {
			return err
		}
	}
	if f.out != "" {
		b, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return fmt.Errorf("write %s: %w", f.out, err)
		}
		if err := os.WriteFile(f.out, append(b, '\n'), 0o644); err != nil {
			return fmt.Errorf("write %s: %w", f.out, err)
		}
	}
	if f.chart != "" && len(rep.Series) > 0 {
		if err := bench.WriteChart(rep, f.chart); err != nil {
			return err
		}
	}
	return nil
}
