// Command swarm-chaos runs swarm's fault-injection suite (package
// internal/chaos) against a built swarm binary and prints its summary.
// It exits 0 when every check holds, 1 on a violation, 2 when the harness
// itself could not finish. It needs root for partitions (iptables or
// nft) and the disk-full fault (a tmpfs); without them it skips those
// kinds and says so.
//
//	go build -o bin/swarm ./cmd/swarm
//	go run ./internal/chaos/cmd/swarm-chaos --profile short --binary bin/swarm [--seed N]
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/swarmsched/swarm/internal/chaos"
)

func main() {
	os.Exit(run())
}

func run() int {
	var cfg chaos.Config
	var kinds string
	flag.StringVar(&cfg.Profile, "profile", chaos.DefaultProfile, "short (CI, 3 servers, under 5 minutes) or long (5 servers, 30 minutes)")
	flag.Int64Var(&cfg.Seed, "seed", 0, "seed of the fault schedule and the workload (default: from the clock; printed)")
	flag.StringVar(&cfg.Binary, "binary", "bin/swarm", "the swarm binary under test")
	flag.StringVar(&cfg.ArtifactsDir, "artifacts", "", "directory for the history, logs, sink and report (default: under the temp dir)")
	flag.StringVar(&kinds, "kinds", "", "comma-separated fault kinds to inject (default: all): "+strings.Join(chaos.AllFaultKinds, ","))
	flag.DurationVar(&cfg.FaultPhase, "fault-phase", 0, "override the profile's fault phase length")
	flag.IntVar(&cfg.Servers, "servers", 0, "override the profile's number of servers")
	flag.IntVar(&cfg.BasePort, "base-port", 0, "first of the three ports of each server (default 7750)")
	flag.Parse()

	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if kinds != "" {
		cfg.Kinds = strings.Split(kinds, ",")
	}
	bin, err := filepath.Abs(cfg.Binary)
	if err != nil {
		fmt.Fprintln(os.Stderr, "swarm-chaos: binary:", err)
		return 2
	}
	cfg.Binary = bin
	if _, err := os.Stat(bin); err != nil {
		fmt.Fprintf(os.Stderr, "swarm-chaos: binary: %v (build it: go build -o bin/swarm ./cmd/swarm)\n", err)
		return 2
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	report, err := chaos.Run(ctx, cfg)
	if report != nil {
		fmt.Print(report.Summary())
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "swarm-chaos: %v (after %s)\n", err, time.Since(start).Round(time.Second))
		return 2
	}
	if !report.Passed {
		return 1
	}
	return 0
}
