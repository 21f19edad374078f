package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/swarmsched/swarm/client"
	"github.com/swarmsched/swarm/internal/server"
)

// startLocalClient runs a worker of group "default" in this process,
// connected to this server over its WebSocket like any other worker, with
// its journal in the server's data dir so its processes survive a crash.
func startLocalClient(ctx context.Context, s *server.Server, f *serverFlags, logger *slog.Logger) (func(), error) {
	cfg := client.Config{
		Servers:  []string{s.HTTPAddr()},
		ID:       s.NodeID() + "-local",
		Capacity: f.localCapacity,
		DataDir:  filepath.Join(f.dataDir, "local-client"),
		Logger:   logger.With("component", "local_client"),
	}
	if exe, err := os.Executable(); err == nil {
		cfg.ShimCommand = []string{exe, "client", client.ShimArg}
	}
	c, err := client.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("local client: %w", err)
	}
	if err := c.Start(ctx); err != nil {
		return nil, fmt.Errorf("local client: %w", err)
	}
	return c.Stop, nil
}
