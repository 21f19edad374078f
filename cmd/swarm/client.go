package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/swarmsched/swarm/client"
)

// clientFlags are the flags of swarm client.
type clientFlags struct {
	id           string
	group        string
	capacity     int
	labels       []string
	dataDir      string
	allowExec    []string
	drainTimeout time.Duration
	killGrace    time.Duration
	kafkaBrokers string
	kafkaTopic   string
	kafkaGroup   string
	log          logFlags
}

func newClientCmd(g *globals) *cobra.Command {
	f := &clientFlags{}
	cmd := &cobra.Command{
		Use:   "client",
		Short: "run a worker",
		Long: `Run a worker: connect to any of the --server addresses (the others are tried
when it fails), register with the client group, run the fires the cluster
sends (processes and in-process handlers), stream their output and report
their results.

With --data-dir the worker keeps a journal of its processes there: they
survive a crash of the worker, which takes them back (or reports how they
ended) when it starts again. Without it, processes end with the worker.
Under systemd, KillMode=process lets them outlive a crash of the worker.

SIGTERM or SIGINT drains the worker: it takes no new fires, waits up to
--drain-timeout for running work, and hands the rest back to the cluster
(reported lost, so a job with retries runs again elsewhere).

With --kafka-brokers and --kafka-topic the worker also runs the fires of
kafka jobs: it consumes them from the topic in consumer group --kafka-group
and reports them to the cluster like any fire.`,
		Example: `  # a worker of group "batch" on two servers
  swarm client --server 10.0.0.1:7700,10.0.0.2:7700 --group batch

  # labelled, with a journal, allowed to run only programs in /opt/jobs
  swarm client --group batch --label zone=eu-1 --label disk=ssd \
    --data-dir /var/lib/swarm-worker --allow-exec '/opt/jobs/*' --capacity 16

  # also run the fires that kafka jobs produce to topic swarm-fires
  swarm client --group batch --kafka-brokers k1:9092,k2:9092 --kafka-topic swarm-fires`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runClient(cmd, g, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.id, "id", "", "worker id, unique in the cluster (default: kept in --data-dir, else host name and pid)")
	fl.StringVar(&f.group, "group", client.DefaultGroup, "client group the worker serves")
	fl.IntVar(&f.capacity, "capacity", client.DefaultCapacity, "how many runs the worker holds at once")
	fl.StringArrayVar(&f.labels, "label", nil, "label key=value for routing (repeatable)")
	fl.StringVar(&f.dataDir, "data-dir", "", "directory of the journal; processes survive a worker restart (default: none)")
	fl.StringArrayVar(&f.allowExec, "allow-exec", nil, "run only commands matching this glob, '*' not crossing '/' (repeatable; default: all)")
	fl.DurationVar(&f.drainTimeout, "drain-timeout", client.DefaultDrainTimeout, "how long a stopping worker waits for running work")
	fl.DurationVar(&f.killGrace, "kill-grace", client.DefaultKillGrace, "time between SIGTERM and SIGKILL when a run is killed")
	fl.StringVar(&f.kafkaBrokers, "kafka-brokers", "", "comma-separated Kafka brokers to consume the fires of kafka jobs from (default: none)")
	fl.StringVar(&f.kafkaTopic, "kafka-topic", "", "Kafka topic of the fires (required with --kafka-brokers)")
	fl.StringVar(&f.kafkaGroup, "kafka-group", "", "Kafka consumer group (default: the client group)")
	addLogFlags(cmd, &f.log)

	cmd.AddCommand(newExecShimCmd())
	return cmd
}

func runClient(cmd *cobra.Command, g *globals, f *clientFlags) error {
	logger, err := f.log.logger()
	if err != nil {
		return err
	}
	labels, err := parseLabels(f.labels)
	if err != nil {
		return err
	}
	cfg := client.Config{
		Servers:      splitList(g.Server),
		ID:           f.id,
		Group:        f.group,
		Capacity:     f.capacity,
		Labels:       labels,
		DataDir:      f.dataDir,
		AllowExec:    f.allowExec,
		Token:        g.Token,
		Logger:       logger,
		DrainTimeout: f.drainTimeout,
		KillGrace:    f.killGrace,
		Software:     "swarm/" + version,
		KafkaBrokers: splitList(f.kafkaBrokers),
		KafkaTopic:   f.kafkaTopic,
		KafkaGroup:   f.kafkaGroup,
	}
	if g.TLSCA != "" {
		tc, err := tlsConfig(g.TLSCA)
		if err != nil {
			return err
		}
		cfg.TLSConfig = tc
	}
	if f.dataDir != "" {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("find own executable for the exec shim: %w", err)
		}
		cfg.ShimCommand = []string{exe, "client", client.ShimArg}
	}

	c, err := client.New(cfg)
	if err != nil {
		return err
	}
	return c.Run(cmd.Context())
}

// parseLabels reads repeated --label key=value flags.
func parseLabels(flags []string) (map[string]string, error) {
	if len(flags) == 0 {
		return nil, nil
	}
	labels := make(map[string]string, len(flags))
	for _, kv := range flags {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("label: %q is not key=value", kv)
		}
		labels[k] = v
	}
	return labels, nil
}

// splitList splits a comma-separated flag value, dropping empty entries.
func splitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}
