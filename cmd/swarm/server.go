package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/swarmsched/swarm/internal/server"
)

type serverFlags struct {
	nodeID        string
	dataDir       string
	http          string
	raft          string
	httpAdvertise string
	raftAdvertise string
	join          string
	gossip        string
	deadTimeout   time.Duration
	clientGrace   time.Duration
	metaVoters    int
	leaveOnTerm   bool
	clusterKey    string
	keyFile       string
	auth          bool
	tlsCert       string
	tlsKey        string
	tlsCA         string
	shards        int
	replicas      int
	misfire       time.Duration
	localClient   bool
	localCapacity int
	logLevel      string
	logFormat     string
}

func newServerCmd(g *globals) *cobra.Command {
	f := &serverFlags{}
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run a swarm server",
		Long: `Run a swarm server. With an empty data dir and no --join, it bootstraps a
new single-server cluster; with a data dir it restarts from it, with the
addresses and identity recorded at its first start.`,
		Example: `  # a single-node server with a worker in the same process
  swarm server --data-dir ./data --local-client

  # a second server joining the first
  swarm server --data-dir ./data2 --http 127.0.0.1:7710 --raft 127.0.0.1:7711 --join 127.0.0.1:7700`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runServer(cmd, f)
		},
	}
	cmd.AddCommand(newServerLeaveCmd(g))
	fl := cmd.Flags()
	fl.StringVar(&f.nodeID, "node-id", "", "server id (default: recorded in the data dir, or host name plus a random suffix)")
	fl.StringVar(&f.dataDir, "data-dir", "./data", "directory of the server's stores")
	fl.StringVar(&f.http, "http", server.DefaultHTTPAddr, "HTTP API and WebSocket listen address")
	fl.StringVar(&f.raft, "raft", server.DefaultRaftAddr, "Raft listen address (one port for every group)")
	fl.StringVar(&f.httpAdvertise, "http-advertise", "", "HTTP address other servers and clients use (default: --http)")
	fl.StringVar(&f.raftAdvertise, "raft-advertise", "", "Raft address peers dial (default: --raft)")
	fl.StringVar(&f.join, "join", "", "HTTP address(es) of cluster members to join, comma-separated")
	fl.StringVar(&f.gossip, "gossip", defaultGossipAddr, "memberlist (failure detection) listen address")
	fl.DurationVar(&f.deadTimeout, "dead-server-timeout", server.DefaultDeadServerTimeout, "a server unseen this long has its replicas re-created elsewhere")
	fl.DurationVar(&f.clientGrace, "client-grace", 30*time.Second, "a worker gone longer than this loses its runs (state lost; retried if the job allows)")
	fl.IntVar(&f.metaVoters, "meta-voters", server.DefaultMetaVoters, "servers that vote in the meta group (3 or 5)")
	fl.BoolVar(&f.leaveOnTerm, "leave-on-terminate", false, "on SIGTERM, move this server's replicas away before exiting")
	fl.StringVar(&f.clusterKey, "cluster-key", os.Getenv("SWARM_CLUSTER_KEY"), "secret every server shares: authenticates Raft and server-to-server calls, encrypts gossip ($SWARM_CLUSTER_KEY)")
	fl.StringVar(&f.keyFile, "cluster-key-file", "", "read --cluster-key from this file")
	fl.BoolVar(&f.auth, "auth", false, "require an API token of every request and worker (a new cluster's admin token goes to DATA_DIR/admin.token)")
	fl.StringVar(&f.tlsCert, "tls-cert", "", "PEM certificate: serve the API and Raft over TLS")
	fl.StringVar(&f.tlsKey, "tls-key", "", "PEM private key of --tls-cert")
	fl.StringVar(&f.tlsCA, "tls-ca", "", "PEM CA bundle that verifies peers (Raft uses mutual TLS)")
	fl.IntVar(&f.shards, "shards", server.DefaultShards, "number of shard groups of a new cluster")
	fl.IntVar(&f.replicas, "replicas", server.DefaultReplicas, "replication factor of shards")
	fl.DurationVar(&f.misfire, "misfire-threshold", 60*time.Second, "a fire later than this is a misfire")
	fl.BoolVar(&f.localClient, "local-client", false, "also run a worker of group \"default\" in this process")
	fl.IntVar(&f.localCapacity, "local-client-capacity", 4, "capacity of the --local-client worker")
	fl.StringVar(&f.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	fl.StringVar(&f.logFormat, "log-format", "text", "log format: text or json")
	return cmd
}

func runServer(cmd *cobra.Command, f *serverFlags) error {
	logger, err := buildLogger(f.logLevel, f.logFormat)
	if err != nil {
		return err
	}
	changed := cmd.Flags().Changed
	cfg := server.Config{
		NodeID:            f.nodeID,
		DataDir:           f.dataDir,
		HTTPAdvertise:     f.httpAdvertise,
		RaftAdvertise:     f.raftAdvertise,
		Shards:            f.shards,
		Replicas:          f.replicas,
		MisfireThreshold:  f.misfire,
		DeadServerTimeout: f.deadTimeout,
		ClientGrace:       f.clientGrace,
		MetaVoters:        f.metaVoters,
		Version:           version,
		Logger:            logger,
	}
	// Addresses given on the command line win; otherwise a restart uses
	// the ones recorded at the first start.
	if changed("http") {
		cfg.HTTPAddr = f.http
	}
	if changed("raft") {
		cfg.RaftAddr = f.raft
	}
	if changed("gossip") || !hasIdentity(f.dataDir) {
		cfg.GossipAddr = f.gossip
	}
	if f.join != "" {
		cfg.Join = strings.Split(f.join, ",")
	}
	key, err := clusterKey(f.clusterKey, f.keyFile)
	if err != nil {
		return err
	}
	cfg.ClusterKey, cfg.Auth = key, f.auth
	cfg.TLSCert, cfg.TLSKey, cfg.TLSCA = f.tlsCert, f.tlsKey, f.tlsCA

	s, err := server.New(cfg)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	if err := s.Start(ctx); err != nil {
		return err
	}
	defer s.Stop()

	if f.localClient {
		stop, err := startLocalClient(ctx, s, f, logger)
		if err != nil {
			return err
		}
		defer stop()
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "swarm server %s serving on http://%s (data in %s)\n", s.NodeID(), s.HTTPAddr(), f.dataDir)
	select {
	case <-ctx.Done():
	case <-s.Left():
		logger.Info("server left the cluster")
		return nil
	}
	if f.leaveOnTerm {
		logger.Info("leaving the cluster before exiting")
		lctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		if err := s.Leave(lctx); err != nil {
			return fmt.Errorf("leave: %w", err)
		}
	}
	logger.Info("server stopping")
	return nil
}

func hasIdentity(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, "node.json"))
	return err == nil
}

func newServerLeaveCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "leave",
		Short: "Drain a server: move its replicas and leaderships away, then stop it",
		Long: `Ask the server named by --server to leave the cluster. Its shard replicas
and leaderships move to other servers first; once it holds none, it stops.
The command waits until then.`,
		Example: `  swarm --server 127.0.0.1:7710 server leave`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := newAPIClient(g)
			if err != nil {
				return err
			}
			return leaveServer(cmd.Context(), c, cmd.OutOrStdout())
		},
	}
}

// buildLogger makes the process logger from --log-level and --log-format.
func buildLogger(level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log-level: %q is not one of debug, info, warn, error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	}
	return nil, fmt.Errorf("log-format: %q is not one of text, json", format)
}

// clusterKey reads the cluster secret from the flag or its file.
func clusterKey(flag, file string) ([]byte, error) {
	if file == "" {
		if flag != "" && len(flag) < 16 {
			return nil, fmt.Errorf("cluster-key: the key must be at least 16 characters")
		}
		return []byte(flag), nil
	}
	if flag != "" {
		return nil, fmt.Errorf("cluster-key, cluster-key-file: give one, not both")
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("cluster-key-file: %w", err)
	}
	key := strings.TrimSpace(string(b))
	if len(key) < 16 {
		return nil, fmt.Errorf("cluster-key-file: the key must be at least 16 characters")
	}
	return []byte(key), nil
}
