package main

import (
	"context"
	"log/slog"

	"github.com/swarmsched/swarm/internal/server"
)

// startLocalClient runs a worker of group "default" in this process,
// connected to this server like any other worker.
func startLocalClient(ctx context.Context, s *server.Server, f *serverFlags, logger *slog.Logger) (func(), error) {
	// TODO: wire the client runtime once package client lands.
	return func() {}, nil
}
