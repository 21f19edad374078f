package server_test

import (
	"log/slog"
	"os"
	"testing"

	"github.com/swarmsched/swarm/scheduler"
)

// testLogger logs to stderr when SWARM_TEST_LOG is set (debug a test), and
// nowhere otherwise.
func testLogger(t *testing.T) *slog.Logger {
	if os.Getenv("SWARM_TEST_LOG") == "" {
		return nil
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: testLogLevel()}))
}

func schedulerSpec(cron string) scheduler.Spec {
	return scheduler.Spec{Kind: scheduler.KindCron, Cron: cron}
}

func testLogLevel() slog.Level {
	if os.Getenv("SWARM_TEST_LOG") == "debug" {
		return slog.LevelDebug
	}
	return slog.LevelInfo
}
