package server_test

import (
	"log/slog"
	"os"
	"regexp"
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

// bufferedLogger keeps a server's logs and prints them if the test fails
// (or to stderr at once with SWARM_TEST_LOG).
func bufferedLogger(t *testing.T) *slog.Logger {
	if l := testLogger(t); l != nil {
		return l
	}
	buf := &syncBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server logs:\n%s", buf.String())
		}
	})
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

var regexpFormat = regexp.MustCompile(`"format":\s*\d+`)
